"""The one protocol every model backend implements.

A backend turns a :class:`~agot.types.GenerationRequest` into a :class:`~agot.types.BackendReply`
and nothing more: limits, retries, caching, schema validation and tracing all live in the
dispatcher, so a new backend is a small adapter. Backends raise
:class:`~agot.errors.TransientBackendError` for failures worth retrying and
:class:`~agot.errors.BackendError` for the rest.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from agot.types import BackendReply, GenerationRequest


class Capabilities(BaseModel):
    """What a backend can do natively; the dispatcher fills the gaps."""

    #: Enforces ``output_schema`` during decoding (grammar, json_schema response_format, ...).
    native_schema: bool = False
    #: Context window in tokens, when known.
    max_context: int | None = None
    #: Concurrency that suits the backend when the user sets none.
    default_concurrency: int = 8
    #: Served over the network (litellm): attempts get the adaptive timeout and may be
    #: hedged. Embedded backends keep the plain timeout, which never cuts a slow local model.
    remote: bool = False


@runtime_checkable
class Backend(Protocol):
    """An async model backend."""

    #: Backend family, e.g. ``"llamacpp"``, ``"litellm"``, ``"scripted"``.
    name: str
    #: The model it serves, as recorded in traces.
    model: str
    capabilities: Capabilities

    async def generate(self, request: GenerationRequest) -> BackendReply: ...

    async def aclose(self) -> None: ...
