"""Remote providers and OpenAI-compatible servers through litellm.

One adapter covers every provider litellm knows (``openai/gpt-4o-mini``, ``anthropic/...``) and
any OpenAI-compatible server given an ``api_base`` (``hosted_vllm/<name>``, ``openai/<name>``
for vLLM, SGLang, llama-server). It only translates: retries, limits and schema validation are
the dispatcher's, so litellm's own retries are switched off (``num_retries=0`` and
``max_retries=0`` for the OpenAI client underneath) and failures are mapped onto
:class:`~agot.errors.TransientBackendError` (408, 409, 429, 5xx, timeouts, dropped connections,
with the server's Retry-After) or :class:`~agot.errors.BackendError` (everything else, reported
at once with its real cause: a refused connection, an unknown host, an invalid URL or header,
any other 4xx; litellm reports the client-side ones as "HTTP 500", so the cause chain decides).

Three things shape the code:

* ``import litellm`` takes seconds, so it happens in the constructor, never when agot is
  imported; and before it, ``LITELLM_LOCAL_MODEL_COST_MAP`` is defaulted so litellm reads its
  bundled price map instead of fetching one from the network.
* The API key is a :class:`~pydantic.SecretStr` unwrapped only in the call to litellm; every
  message built from a litellm error is scrubbed of it (servers sometimes echo keys back) and of
  credentials in URLs (user-info, ``?key=``, ``?sig=``, ...), and the original exception is
  never chained, so no key reaches a trace, result or log.
* Structured output goes out as a ``json_schema`` ``response_format`` where litellm says the
  model supports it, or to any server given by ``api_base`` (vLLM and llama-server accept it).
  A server that rejects it gets plain prompts from then on (with the schema in the prompt) and
  the dispatcher validates and re-asks.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from agot.backends import openai_wire as wire
from agot.backends.base import Capabilities
from agot.backends.registry import BackendOptions
from agot.errors import (
    BackendError,
    ConfigError,
    TransientBackendError,
)
from agot.types import BackendReply, GenerationRequest
from agot.url_secrets import redact_url

MODEL_STRING_HELP = (
    "write model strings as <provider>/<model>, e.g. openai/gpt-4o-mini or "
    "anthropic/claude-3-5-sonnet-latest; for an OpenAI-compatible server use "
    "openai/<name> or hosted_vllm/<name> with --api-base URL; or 'local' for the embedded model"
)

# Providers that only make sense with an api_base, and the variable litellm reads it from.
_NEEDS_API_BASE = {
    "hosted_vllm": "HOSTED_VLLM_API_BASE",
    "openai_like": "OPENAI_LIKE_API_BASE",
    "lm_studio": "LM_STUDIO_API_BASE",
}


def cache_marked(messages: list[dict[str, Any]], prefix_chars: int) -> list[dict[str, Any]]:
    """``messages`` with an Anthropic ``cache_control`` mark after the first ``prefix_chars``
    characters of the first user message (the run-wide task block): everything before the mark
    (system text included) is what the provider caches and later prompts read back.

    The user message becomes two text blocks, the first marked; litellm passes the mark on."""
    marked = list(messages)
    for i, message in enumerate(marked):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, str):
            continue
        blocks: list[dict[str, Any]]
        if 0 < prefix_chars < len(content):
            blocks = [
                {"type": "text", "text": content[:prefix_chars]},
                {"type": "text", "text": content[prefix_chars:]},
            ]
        else:
            blocks = [{"type": "text", "text": content}]
        blocks[0]["cache_control"] = {"type": "ephemeral"}
        marked[i] = {**message, "content": blocks}
        break
    return marked


def _import_litellm() -> Any:
    """Import litellm quietly: bundled price map, no debug banners, no tokenizer downloads."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Provider List: ..." / "Give Feedback" prints
    if hasattr(litellm, "telemetry"):
        litellm.telemetry = False
    if getattr(litellm, "disable_hf_tokenizer_download", None) is None:
        litellm.disable_hf_tokenizer_download = True
    if not os.environ.get("LITELLM_LOG"):
        # litellm logs warnings about its own internals (logging worker, cost map); errors that
        # matter reach the user as agot errors. LITELLM_LOG=... turns litellm's logging back on.
        logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    return litellm


def _retry_after(exc: BaseException) -> float | None:
    """The Retry-After a litellm/OpenAI exception carries, wherever litellm put it."""
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        seconds = wire.parse_retry_after(source)
        if seconds is not None:
            return seconds
    return None


def _is_connection_failure(exc: BaseException) -> bool:
    """True when what caused ``exc`` is a failure to connect, not a reply from the server.

    litellm reports a refused connection to an OpenAI-compatible server as an
    ``InternalServerError`` (status 500, "Connection error."), and uses its own
    ``APIConnectionError`` as a catch-all for internal failures, so neither the class nor the
    status decides: the cause chain below litellm's own exceptions does.
    """
    import openai

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        from_litellm = type(current).__module__.startswith("litellm")
        if isinstance(current, openai.APITimeoutError):
            return False
        if not from_litellm and isinstance(current, openai.APIConnectionError | OSError):
            return True
        if type(current).__name__ in {"ConnectError", "ClientConnectorError"}:
            return True
        current = current.__cause__ or current.__context__
    return False


class LiteLLMBackend:
    """Any litellm model string; an OpenAI-compatible server with ``options.api_base``.

    ``options.extra`` may set ``native_schema`` (``False`` never sends ``response_format``,
    ``True`` always does) and ``request_timeout_s``.
    """

    name = "litellm"

    def __init__(self, model: str, *, options: BackendOptions | None = None) -> None:
        options = options or BackendOptions()
        if not isinstance(model, str) or not model.strip():
            raise ConfigError(f"model must be a non-empty string; {MODEL_STRING_HELP}")
        self.model = model.strip()
        self._litellm = _import_litellm()
        self._api_base = wire.check_api_base(options.api_base) if options.api_base else None
        self._api_key = options.api_key
        if self._api_key is not None and not self._api_key.get_secret_value().isascii():
            raise ConfigError(
                "the API key has non-ASCII characters, which HTTP headers cannot carry: check "
                "for a stray character pasted with it"
            )
        extra = options.extra
        timeout = extra.get("request_timeout_s", wire.DEFAULT_REQUEST_TIMEOUT_S)
        self._request_timeout = float(timeout)
        self._provider = self._validate_model()
        self._check_base()
        self._dummy_key = self._check_keys()
        self._secrets = self._known_secrets()
        self._native = self._wants_native(extra.get("native_schema"))
        #: Anthropic's models cache a prompt prefix only where it is marked (cache_control).
        self._marks_cache = self._provider == "anthropic" or "claude" in self.model.lower()
        self.capabilities = Capabilities(
            native_schema=self._native,
            max_context=self._max_context(),
            default_concurrency=wire.DEFAULT_CONCURRENCY,
            remote=True,
        )

    def __repr__(self) -> str:
        base = f", api_base={self._where()!r}" if self._api_base else ""
        return f"LiteLLMBackend(model={self.model!r}{base})"

    # -- construction-time checks -----------------------------------------------------------
    def _validate_model(self) -> str:
        try:
            _, provider, _, _ = self._litellm.get_llm_provider(self.model, api_base=self._api_base)
        except Exception:
            raise ConfigError(
                f"unknown model string {self.model!r}: litellm knows no provider for it; "
                f"{MODEL_STRING_HELP}"
            ) from None
        return str(provider)

    def _check_base(self) -> None:
        """Providers that mean "a server of your own" need its address.

        Without one, litellm sends ``hosted_vllm/...`` requests to api.openai.com.
        """
        env = _NEEDS_API_BASE.get(self._provider)
        if env and not (self._api_base or os.environ.get(env) or self._litellm.api_base):
            raise ConfigError(
                f"model {self.model!r} needs the address of your server: pass --api-base URL "
                f"(e.g. http://127.0.0.1:8000/v1) or set {env}"
            )

    def _check_keys(self) -> bool:
        """Raise ConfigError for a missing key; True when a placeholder key must be sent."""
        if self._api_key is not None:
            return False
        try:
            report = self._litellm.validate_environment(self.model, api_base=self._api_base)
        except Exception:
            return False  # litellm cannot tell; let the provider answer
        missing = [str(k) for k in report.get("missing_keys") or []]
        if not missing:
            return False
        if self._api_base:
            # A server of the user's own: no key needed, but the OpenAI client insists on one.
            return True
        names = " and ".join(missing)
        if all("BASE" in k or "ENDPOINT" in k for k in missing):
            fix = f"set {names} or pass --api-base URL"
        else:
            fix = f"set the environment variable {names} (or pass api_key)"
        raise ConfigError(f"model {self.model!r} needs {names}, which is not set: {fix}")

    def _known_secrets(self) -> list[str]:
        """Key values to scrub from any text we pass on (ours and the provider's env key)."""
        values = []
        if self._api_key is not None:
            values.append(self._api_key.get_secret_value())
        env_value = os.environ.get(f"{self._provider.upper()}_API_KEY")
        if env_value:
            values.append(env_value)
        return [v for v in values if len(v) >= 4]

    def _wants_native(self, setting: Any) -> bool:
        if setting is not None:
            return bool(setting)
        if self._api_base:
            return True
        try:
            return bool(self._litellm.supports_response_schema(self.model))
        except Exception:
            return False

    def _max_context(self) -> int | None:
        try:
            info = self._litellm.get_model_info(self.model)
        except Exception:
            return None
        value = info.get("max_input_tokens") or info.get("max_tokens")
        return int(value) if value else None

    # -- the call -------------------------------------------------------------------------------
    def _kwargs(self, request: GenerationRequest, native: bool) -> dict[str, Any]:
        mark = None
        if self._marks_cache and request.cache_prefix:
            mark = functools.partial(cache_marked, prefix_chars=request.cache_prefix)
        kwargs = wire.chat_body(request, self.model, native, mark)
        kwargs.update(
            timeout=self._request_timeout,
            num_retries=0,  # the dispatcher retries, with backoff and Retry-After
            max_retries=0,  # ... and so does not the OpenAI client underneath
            drop_params=True,  # e.g. seed for providers without one: drop, do not fail
        )
        if self._api_base:
            kwargs["api_base"] = self._api_base
        if self._api_key is not None:
            kwargs["api_key"] = self._api_key.get_secret_value()
        elif self._dummy_key:
            kwargs["api_key"] = wire.NO_KEY
        return kwargs

    async def generate(self, request: GenerationRequest) -> BackendReply:
        response, warnings, requests = await self._call(request)
        return self._reply(response, warnings, requests)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str | BackendReply]:
        """The reply as it is written: text deltas, then the whole :class:`BackendReply`.

        Asks for usage on the stream's last chunk (``stream_options.include_usage``); the
        chunks are rebuilt into one response by litellm's ``stream_chunk_builder``, so usage,
        cached prompt tokens and cost are read exactly as from a whole reply. A stream that
        breaks, or ends without a finish reason, is a transient failure: the dispatcher retries
        the call as one call."""
        response, warnings, requests = await self._call(
            request, stream=True, stream_options={"include_usage": True}
        )
        chunks: list[Any] = []
        finished = False
        try:
            async for chunk in response:
                chunks.append(chunk)
                choices = getattr(chunk, "choices", None) or []
                if not choices:
                    continue
                finished = finished or bool(getattr(choices[0], "finish_reason", None))
                text = getattr(getattr(choices[0], "delta", None), "content", None)
                if text:
                    yield self._scrub(text)
        except Exception as exc:
            raise self._map_error(exc) from None
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
        if not finished:
            raise TransientBackendError(
                f"{self._where()} ended the stream before the reply was complete",
                backend=self.name,
            )
        whole = self._litellm.stream_chunk_builder(chunks)
        yield self._reply(whole, warnings, requests)

    async def _call(self, request: GenerationRequest, **more: Any) -> tuple[Any, list[str], int]:
        """litellm's response (a stream with ``stream=True``), the warnings, the requests sent.

        A server that rejects the ``json_schema`` response format gets plain prompts from then
        on, and this request is sent again that way."""
        native = self._native and request.output_schema is not None
        try:
            return await self._litellm.acompletion(**self._kwargs(request, native), **more), [], 1
        except Exception as exc:
            if not (native and self._rejects_schema(exc)):
                raise self._map_error(exc) from None
        self._native = False
        self.capabilities = self.capabilities.model_copy(update={"native_schema": False})
        try:
            response = await self._litellm.acompletion(**self._kwargs(request, False), **more)
        except Exception as retry_exc:
            raise self._map_error(retry_exc) from None
        return response, [wire.SCHEMA_FALLBACK_WARNING], 2

    def _scrub(self, text: str) -> str:
        """``text`` without the key (a reply that quotes it is stored without it)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _reply(self, response: Any, warnings: list[str], requests: int = 1) -> BackendReply:
        try:
            choice = response.choices[0]
        except (AttributeError, IndexError, TypeError):
            raise TransientBackendError(
                f"{self._where()} returned no choices for model {self.model!r}", backend=self.name
            ) from None
        message = getattr(choice, "message", None)
        text = self._scrub(getattr(message, "content", None) or "")
        finish = getattr(choice, "finish_reason", None)
        if finish == "length":
            warnings.append("reply cut off at max_tokens")
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) if details is not None else None
        return BackendReply(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_prompt_tokens=min(int(cached or 0), prompt_tokens),
            cost=self._cost(response) if usage is not None else 0.0,
            finish_reason=finish,
            warnings=warnings,
            requests=requests,
            mean_logprob=wire.mean_logprob(getattr(choice, "logprobs", None)),
        )

    def prompt_cost(self, tokens: int) -> float:
        """litellm's price of ``tokens`` prompt tokens (a request cancelled in flight); 0.0 for
        models it has no price for."""
        try:
            prompt, _ = self._litellm.cost_per_token(
                model=self.model, prompt_tokens=tokens, completion_tokens=0
            )
            return float(prompt or 0.0)
        except Exception:
            return 0.0

    def _cost(self, response: Any) -> float:
        """litellm's price for the reply; 0.0 for models it has no price for (local servers)."""
        try:
            return float(self._litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:
            return 0.0

    # -- errors -------------------------------------------------------------------------------
    def _where(self) -> str:
        return redact_url(self._api_base) if self._api_base else f"provider {self._provider!r}"

    def _detail(self, exc: BaseException) -> str:
        """One scrubbed line from a litellm error: no key, no class-name prefixes, bounded."""
        text = str(getattr(exc, "message", None) or exc)
        return wire.scrubbed(text, self._secrets, type(exc).__name__)

    @staticmethod
    def _status(exc: BaseException) -> int | None:
        status = getattr(exc, "status_code", None)
        if status is None:
            status = getattr(getattr(exc, "response", None), "status_code", None)
        try:
            return int(status) if status is not None else None
        except (TypeError, ValueError):
            return None

    def _rejects_schema(self, exc: BaseException) -> bool:
        return wire.rejects_schema(self._status(exc), str(getattr(exc, "message", None) or exc))

    def _map_error(self, exc: BaseException) -> BackendError:
        import openai

        lit = self._litellm
        status = self._status(exc)
        where = self._where()
        model = self.model
        if isinstance(exc, lit.Timeout | openai.APITimeoutError) or status == 408:
            return wire.timeout_error(where, self.name, status)
        fix = "check --api-base and that the server is running"
        unsent = wire.unsent_error(
            exc, where=where, backend=self.name, fix=fix if self._api_base else ""
        )
        if unsent is not None:
            return unsent
        if _is_connection_failure(exc):
            hint = fix if self._api_base else "check the network connection (or set --api-base)"
            return wire.connect_error(where, self._detail(exc), hint, self.name)
        if isinstance(exc, lit.RateLimitError):
            status = 429
        elif isinstance(exc, lit.AuthenticationError | lit.PermissionDeniedError):
            status = status or 401
        elif isinstance(exc, lit.NotFoundError):
            status = 404
        server_failure = isinstance(
            exc,
            lit.InternalServerError
            | lit.ServiceUnavailableError
            | lit.BadGatewayError
            | lit.APIConnectionError
            | openai.APIConnectionError,
        )
        too_long = isinstance(exc, lit.ContextWindowExceededError)
        if status is not None or server_failure or too_long:
            return wire.status_error(
                status,
                where=where,
                model=model,
                detail=self._detail(exc),
                key_env=f"{self._provider.upper()}_API_KEY",
                backend=self.name,
                retry_after=_retry_after(exc),
                too_long=too_long,
            )
        return BackendError(
            f"litellm call to {where} for model {model!r} failed: "
            f"{type(exc).__name__}: {self._detail(exc)}",
            backend=self.name,
        )

    # -- lifecycle ----------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Let litellm's background logging tasks finish on this event loop.

        litellm queues internal success-logging tasks per call; left pending, they are carried
        to the next event loop with a warning. Its HTTP clients are shared by every backend in
        the process (cached by litellm), so they are not closed here.
        """
        try:
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
        except Exception:
            return
        import asyncio

        try:
            await asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout=2.0)
        except Exception:
            pass
