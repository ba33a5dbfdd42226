"""Resolve litellm-style model strings to backends.

=========================  ==============================================================
model string               backend
=========================  ==============================================================
``local``                  embedded SmolLM2-135M-Instruct (llama.cpp), the default
``llamacpp/<path.gguf>``   any GGUF file through llama.cpp
``transformers/<id|path>`` a Hugging Face causal LM in-process (PyTorch), batched
``scripted``               deterministic canned replies (tests, docs, benchmarks)
``<provider>/<model>``     anything litellm knows: ``openai/gpt-4o-mini``,
                           ``anthropic/...``, ``hosted_vllm/<name>`` with ``api_base``;
                           ``openai/`` and ``hosted_vllm/`` with an ``api_base`` go over
                           the direct HTTP client instead (``-M client=litellm``: litellm)
``<model>@<http(s) URL>``  that model served by that endpoint (its own ``api_base``), so
                           one dispatcher can mix models on different servers
=========================  ==============================================================

Backends are imported lazily, so resolving ``local`` or an endpoint's ``openai/<name>`` never
imports litellm (slow to import).
Other packages add prefixes with :func:`register_backend` (or the ``agot.plugins`` entry-point
group, see :mod:`agot.registry`); a model string whose prefix nobody registered goes to litellm.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pydantic import Field, SecretStr, field_validator

from agot.backends.base import Backend
from agot.config import Settings
from agot.endpoints import check_api_base, split_model_endpoint
from agot.errors import ConfigError
from agot.registry import Registry, require_modules

DEFAULT_MODEL = "local"
#: No model has a context window this large (2M tokens): a larger n_ctx is a typo that would
#: allocate a KV cache of gigabytes.
MAX_N_CTX = 1 << 21


class BackendOptions(Settings):
    """Options a backend may use; each backend ignores those that do not apply."""

    api_base: str | None = None
    api_key: SecretStr | None = None
    #: Context window; a backend that knows its model's trained context refuses more.
    n_ctx: int | None = Field(None, ge=256, le=MAX_N_CTX)
    n_threads: int | None = Field(None, ge=1, le=4096)
    device: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("api_base")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        # Every api_base, whichever way it came (Dispatcher(api_base=...), MODEL@URL, a fleet
        # replica), passes the one endpoint check before a backend can connect anywhere.
        return None if value is None else check_api_base(value)


BackendFactory = Callable[[str, BackendOptions], Backend]

#: Backend factories by model-string prefix (``prefix/<rest>``).
BACKENDS: Registry[BackendFactory] = Registry("backend")
_LLAMA_CPP = ("llama_cpp",)
_LOCAL_EXTRA = "pip install 'agot[local]'"


@BACKENDS.register("local", requires=_LLAMA_CPP, install=_LOCAL_EXTRA)
def _local(rest: str, options: BackendOptions) -> Backend:
    from agot.backends.llamacpp import LlamaCppBackend, default_model_path

    if rest:
        raise ConfigError(f"'local' takes no suffix (got 'local/{rest}'); use llamacpp/<path.gguf>")
    return LlamaCppBackend(default_model_path(), options=options, model_name="local")


@BACKENDS.register("llamacpp", requires=_LLAMA_CPP, install=_LOCAL_EXTRA)
def _llamacpp(rest: str, options: BackendOptions) -> Backend:
    from agot.backends.llamacpp import LlamaCppBackend

    if not rest:
        raise ConfigError("model 'llamacpp/' needs a GGUF path: llamacpp/path/to/model.gguf")
    return LlamaCppBackend(os.path.expanduser(rest), options=options)


@BACKENDS.register("scripted")
def _scripted(rest: str, options: BackendOptions) -> Backend:
    from agot.backends.scripted import ScriptedBackend

    return ScriptedBackend.from_spec(rest, options=options)


@BACKENDS.register(
    "transformers", requires=("torch", "transformers"), install="pip install 'agot[gpu]'"
)
def _transformers(rest: str, options: BackendOptions) -> Backend:
    from agot.backends.transformers_engine import TransformersBackend

    if not rest:
        raise ConfigError("model 'transformers/' needs a model id or path: transformers/<id|path>")
    return TransformersBackend(rest, options=options)


#: Providers whose models are sent over the direct HTTP client when given an endpoint.
DIRECT_PROVIDERS = ("openai", "hosted_vllm")
#: ``-M client=...``: which client sends those models.
CLIENTS = ("http", "litellm")


def _remote(model: str, options: BackendOptions) -> Backend:
    """A provider model string: the direct HTTP client for an OpenAI-compatible endpoint, else
    litellm."""
    client = str(options.extra.get("client", "http")).strip().lower()
    if client not in CLIENTS:
        raise ConfigError(f"-M client={client!r} is unknown: use {' or '.join(CLIENTS)}")
    provider, slash, name = model.partition("/")
    if slash and name and provider in DIRECT_PROVIDERS and options.api_base and client == "http":
        require_modules(f"model {model!r} (over HTTP)", ["httpx"], "pip install httpx")
        from agot.backends.openai_http import OpenAIHTTPBackend

        return OpenAIHTTPBackend(model, options=options)
    return _litellm(model, options)


def _litellm(model: str, options: BackendOptions) -> Backend:
    require_modules(
        f"model {model!r} (through litellm)", ["litellm"], "pip install 'agot[litellm]'"
    )
    from agot.backends.litellm_backend import LiteLLMBackend

    return LiteLLMBackend(model, options=options)


#: Add a model-string prefix (``prefix/<rest>``) served by ``factory(rest, options)``:
#: ``register_backend("mine", factory)``, or ``@register_backend("mine")`` on the factory.
register_backend = BACKENDS.register


def parse_model_string(model: str) -> tuple[str, str]:
    """Split ``model`` into (prefix, rest); the prefix is ``litellm`` for provider strings."""
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"model must be a non-empty string such as 'local', got {model!r}")
    model = model.strip()
    head, _, rest = model.partition("/")
    if head in BACKENDS:
        return BACKENDS.key(head), rest
    return "litellm", model


def split_endpoint(model: str, *, what: str = "model") -> tuple[str, str | None]:
    """``"openai/x@http://h:8000/v1"`` -> ``("openai/x", "http://h:8000/v1")``; no URL: None.

    :func:`agot.endpoints.split_model_endpoint`: an ``@`` followed by anything that reads as an
    address splits and must be a valid http(s) endpoint (a ConfigError naming ``what``
    otherwise), so a malformed one never reaches a client library that would send the request
    to the provider's default URL instead; model names may hold ``@`` themselves (Vertex AI's
    ``claude-3-sonnet@20240229``).
    """
    return split_model_endpoint(model, what=what)


def resolve_backend(model: str | Backend | None = None, **options: Any) -> Backend:
    """Build the backend for a model string (default ``local``), or pass a Backend through."""
    if model is None:
        model = DEFAULT_MODEL
    if not isinstance(model, str):
        if isinstance(model, Backend):
            return model
        raise ConfigError(f"model must be a model string or a Backend, got {type(model).__name__}")
    opts = options.pop("options", None) or BackendOptions(**options)
    model, endpoint = split_endpoint(model)
    if endpoint is not None:
        opts = opts.model_copy(update={"api_base": endpoint})
    prefix, rest = parse_model_string(model)
    if opts.extra:
        _check_extra(prefix, opts.extra)
    if prefix == "litellm":
        return _remote(rest, opts)
    return BACKENDS.get(prefix)(rest, opts)


#: The ``options.extra`` keys (``-M key=value``) each built-in backend reads, by registry
#: prefix. A key none of them reads is a typo (``native_schem=false`` was silently ignored);
#: a plugin's prefix is not listed and its keys are not checked.
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "litellm": ("client", "native_schema", "request_timeout_s"),  # and the direct HTTP client
    "local": ("llama_kwargs", "completion_kwargs", "prefix_cache_mb"),
    "llamacpp": ("llama_kwargs", "completion_kwargs", "prefix_cache_mb"),
    "transformers": (
        "allow_download",
        "revision",
        "dtype",
        "max_batch",
        "page_size",
        "kv_cache_tokens",
        "max_batch_tokens",
        "prefix_sharing",
        "trust_remote_code",
    ),
    "scripted": (),
}


def _check_extra(prefix: str, extra: dict[str, Any]) -> None:
    """ConfigError naming the ``-M`` keys no built-in backend reads, and those ``prefix``'s
    backend does (a key another backend reads passes: ``-M`` applies to every model of a
    run)."""
    reads = EXTRA_KEYS.get(prefix)
    if reads is None:
        return
    known = {key for keys in EXTRA_KEYS.values() for key in keys}
    unknown = sorted(k for k in extra if k not in known)
    if unknown:
        own = ", ".join(("n_ctx", "n_threads", "device", *reads))
        raise ConfigError(
            f"unknown backend option {', '.join(unknown)} (-M): the {prefix} backend reads {own}"
        )
    native = extra.get("native_schema")
    if native is not None and not isinstance(native, bool):
        raise ConfigError(
            f"-M native_schema={native!r}: write true or false (or leave it out to ask the server)"
        )
    timeout = extra.get("request_timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 1e6
    ):
        raise ConfigError(
            f"-M request_timeout_s={timeout!r}: give seconds as a number above 0 (e.g. 120)"
        )
