"""Model backends, resolved from litellm-style model strings (see :func:`resolve_backend`)."""

from agot.backends.base import Backend, Capabilities
from agot.backends.registry import (
    BackendOptions,
    parse_model_string,
    register_backend,
    resolve_backend,
)
from agot.backends.scripted import LatencyModel, ScriptedBackend

__all__ = [
    "Backend",
    "BackendOptions",
    "Capabilities",
    "LatencyModel",
    "ScriptedBackend",
    "parse_model_string",
    "register_backend",
    "resolve_backend",
]
