"""OpenAI-compatible servers over HTTP, directly: ``openai/<name>`` and ``hosted_vllm/<name>``
with an endpoint (vLLM, SGLang, llama-server, gateways).

For these the request is one ``POST {api_base}/chat/completions``, and going through litellm
costs what the server does not: seconds to import it, and about twice the OpenAI SDK's CPU per
call, which caps an eval at ~110 calls/s on one core. This backend sends that POST itself over
httpcore (httpx's transport, without httpx's request and response models, which cost a third
of the CPU of a call) with a few small connection pools per endpoint, and keeps the litellm
path's behaviour: the same body (structured output as a ``json_schema`` response format, with a
fallback to prompted JSON for a server that rejects it, see :mod:`agot.backends.openai_wire`),
no retries of its own (the dispatcher's), the same failure mapping (408, 409, 429, 5xx,
timeouts and dropped connections are transient, with the server's Retry-After; a refused
connection, an unknown host or a rejected key are reported at once), keys kept out of every
message, and usage and cost from the reply (prices from litellm's bundled price map when it is
installed, read as data, see :mod:`agot.backends.price_map`).

It also says when the request body has been written (:mod:`agot.backends.delivery`), so a call
cancelled in flight is counted in ``Usage.cancelled`` exactly when the server has it.

:meth:`OpenAIHTTPBackend.stream` sends the same body with ``"stream": true`` (and
``stream_options.include_usage``, so usage still comes back) and yields the text as it arrives,
then the whole reply (:mod:`agot.backends.openai_stream` reads the events): the dispatcher
times the first token and the gaps between tokens, so a hung server is recognised within a
time-to-first-token instead of a whole-reply timeout. Errors are mapped the same way for a
whole reply and for a stream's first bytes; a server that ignores ``stream`` and answers with
one JSON body is read as a whole reply.

``options.extra`` may set ``native_schema`` (``False`` never sends ``response_format``) and
``request_timeout_s``; ``client="litellm"`` (``-M client=litellm``) sends these models through
litellm instead.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import ssl
import sys
from collections.abc import AsyncIterator
from typing import Any

from agot.backends.base import Capabilities
from agot.backends.delivery import mark
from agot.backends.openai_stream import ChunkReader, StreamError
from agot.backends.openai_wire import (
    DEFAULT_CONCURRENCY,
    DEFAULT_REQUEST_TIMEOUT_S,
    NO_KEY,
    SCHEMA_FALLBACK_WARNING,
    chat_body,
    check_api_base,
    connect_error,
    mean_logprob,
    parse_retry_after,
    rejects_schema,
    scrubbed,
    status_error,
    timeout_error,
    unsent_error,
)
from agot.backends.registry import BackendOptions
from agot.errors import BackendError, ConfigError, TransientBackendError
from agot.types import BackendReply, GenerationRequest
from agot.url_secrets import redact_url

# httpcore imports trio, when installed, only to learn whether it runs under trio; that import
# costs about as much CPU as the rest of httpcore and sits before the first request of every
# run. agot drives httpcore from asyncio only, so trio is hidden from that one import (and
# left importable afterwards); a process that imported trio first keeps it.
if "trio" in sys.modules:
    import httpcore
else:
    sys.modules["trio"] = None  # type: ignore[assignment]
    try:
        import httpcore
    finally:
        del sys.modules["trio"]

#: The variable holding the key of each provider this backend serves (given an endpoint).
PROVIDERS = {"openai": "OPENAI_API_KEY", "hosted_vllm": "HOSTED_VLLM_API_KEY"}

#: Connections per pool. httpcore scans every connection of a pool for every queued request
#: whenever a request starts or ends (and polls each idle socket), so one pool of 64 connections
#: costs more CPU than the rest of a call; several small pools keep each scan short.
POOL_CONNECTIONS = 4


class OpenAIHTTPBackend:
    """``openai/<name>`` or ``hosted_vllm/<name>`` served at ``options.api_base``."""

    name = "openai-http"

    def __init__(self, model: str, *, options: BackendOptions) -> None:
        self.model = model.strip()
        provider, _, served = self.model.partition("/")
        if provider not in PROVIDERS or not served or not options.api_base:
            raise ConfigError(
                f"model {self.model!r}: the direct HTTP client serves openai/<name> or "
                "hosted_vllm/<name> with --api-base URL"
            )
        self._provider = provider
        #: The name the server knows the model by (what follows the provider).
        self._served = served
        self._api_base = check_api_base(options.api_base)
        key = options.api_key.get_secret_value() if options.api_key is not None else None
        key = key or os.environ.get(PROVIDERS[provider]) or NO_KEY
        if not key.isascii():
            raise ConfigError(
                "the API key has non-ASCII characters, which HTTP headers cannot carry: check "
                "for a stray character pasted with it"
            )
        self._headers = [
            (b"Authorization", f"Bearer {key}".encode()),
            (b"Content-Type", b"application/json"),
        ]
        self._secrets = [key] if len(key) >= 4 and key != NO_KEY else []
        extra = options.extra
        self._timeout = float(extra.get("request_timeout_s", DEFAULT_REQUEST_TIMEOUT_S))
        native = extra.get("native_schema")
        self._native = True if native is None else bool(native)
        from agot.backends.price_map import model_price

        self._price = model_price(provider, served)
        self.capabilities = Capabilities(
            native_schema=self._native,
            max_context=self._price.max_context if self._price else None,
            default_concurrency=DEFAULT_CONCURRENCY,
            remote=True,
        )
        self._url = f"{self._api_base}/chat/completions"
        self._pools = _Pools(tls=self._api_base.startswith("https:"))
        self._extensions: dict[str, Any] = {
            "trace": _trace,
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), self._timeout),
        }

    def __repr__(self) -> str:
        return f"OpenAIHTTPBackend(model={self.model!r}, api_base={self._where()!r})"

    # -- the call -----------------------------------------------------------------------------
    def _body(self, request: GenerationRequest, native: bool) -> dict[str, Any]:
        return chat_body(request, self._served, native)

    async def generate(self, request: GenerationRequest) -> BackendReply:
        native = self._native and request.output_schema is not None
        status, headers, content = await self._post(self._body(request, native))
        if status >= 400 and native and rejects_schema(status, _error_text(content)):
            # This server does not take json_schema: prompt for JSON from now on.
            self._native = False
            self.capabilities = self.capabilities.model_copy(update={"native_schema": False})
            status, headers, content = await self._post(self._body(request, False))
            if status >= 400:
                raise self._status_error(status, headers, content)
            return self._reply(content, [SCHEMA_FALLBACK_WARNING], requests=2)
        if status >= 400:
            raise self._status_error(status, headers, content)
        return self._reply(content, [])

    async def _post(self, body: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        mark(False)  # sent once the trace hook sees the body written
        data = json.dumps(body, ensure_ascii=False).encode()
        pool = self._pools.take()
        try:
            response = await pool.client.request(
                "POST", self._url, headers=self._headers, content=data, extensions=self._extensions
            )
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc) from None
        finally:
            pool.in_flight -= 1
        return response.status, response.headers, response.content

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str | BackendReply]:
        """The reply as it is written: text deltas, then the whole :class:`BackendReply`."""
        native = self._native and request.output_schema is not None
        warnings: list[str] = []
        try:
            async for piece in self._stream(request, native, warnings):
                yield piece
        except _SchemaRejected:
            # This server does not take json_schema: prompt for JSON from now on.
            self._native = False
            self.capabilities = self.capabilities.model_copy(update={"native_schema": False})
            warnings = [SCHEMA_FALLBACK_WARNING]
            async for piece in self._stream(request, False, warnings, requests=2):
                yield piece

    async def _stream(
        self, request: GenerationRequest, native: bool, warnings: list[str], requests: int = 1
    ) -> AsyncIterator[str | BackendReply]:
        body = self._body(request, native)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        mark(False)  # sent once the trace hook sees the body written
        data = json.dumps(body, ensure_ascii=False).encode()
        reader = ChunkReader()
        pool = self._pools.take()
        try:
            async with pool.client.stream(
                "POST", self._url, headers=self._headers, content=data, extensions=self._extensions
            ) as response:
                if response.status >= 400:
                    content = await response.aread()
                    if native and rejects_schema(response.status, _error_text(content)):
                        raise _SchemaRejected
                    raise self._status_error(response.status, response.headers, content)
                if not _is_event_stream(response.headers):
                    # A server that ignores "stream": the whole reply in one body.
                    reply = self._reply(await response.aread(), warnings, requests)
                    if reply.text:
                        yield reply.text
                    yield reply
                    return
                async for chunk in response.aiter_stream():
                    for delta in reader.feed(chunk):
                        yield delta
                    if reader.done:
                        break
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc) from None
        except StreamError as exc:
            raise TransientBackendError(
                f"{self._where()} sent a broken stream for model {self.model!r}: {exc}",
                backend=self.name,
            ) from None
        finally:
            pool.in_flight -= 1
        if not reader.complete:
            raise TransientBackendError(
                f"{self._where()} ended the stream before the reply was complete",
                backend=self.name,
            )
        yield self._usage_reply(
            reader.text,
            reader.usage,
            reader.finish_reason,
            warnings,
            requests=requests,
            logprob=reader.mean_logprob(),
        )

    def _reply(self, content: bytes, warnings: list[str], requests: int = 1) -> BackendReply:
        try:
            data = json.loads(content)
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise TransientBackendError(
                f"{self._where()} returned a reply that is not a chat completion for model "
                f"{self.model!r}",
                backend=self.name,
            ) from None
        text = (message.get("content") or "") if isinstance(message, dict) else ""
        usage = data.get("usage")
        return self._usage_reply(
            text,
            usage if isinstance(usage, dict) else {},
            choice.get("finish_reason"),
            warnings,
            requests=requests,
            logprob=mean_logprob(choice.get("logprobs")),
        )

    def _usage_reply(
        self,
        text: str,
        usage: dict[str, Any],
        finish: str | None,
        warnings: list[str],
        *,
        requests: int,
        logprob: float | None,
    ) -> BackendReply:
        if finish == "length":
            warnings.append("reply cut off at max_tokens")
        for secret in self._secrets:  # a reply that quotes the key is stored without it
            text = text.replace(secret, "***")
        prompt_tokens = _count(usage.get("prompt_tokens"))
        completion_tokens = _count(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
        cached = min(cached, prompt_tokens)
        cost = 0.0
        if self._price is not None:
            cost = self._price.cost(prompt_tokens, completion_tokens, cached)
        return BackendReply(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_prompt_tokens=cached,
            cost=cost,
            finish_reason=finish,
            warnings=warnings,
            requests=requests,
            mean_logprob=logprob,
        )

    def prompt_cost(self, tokens: int) -> float:
        """The price of ``tokens`` prompt tokens (a request cancelled in flight)."""
        return self._price.cost(tokens, 0) if self._price is not None else 0.0

    # -- errors -------------------------------------------------------------------------------
    def _where(self) -> str:
        return redact_url(self._api_base)

    def _status_error(
        self, status: int, headers: list[tuple[bytes, bytes]], content: bytes
    ) -> BackendError:
        """The error for an HTTP error reply (the same words as the litellm path)."""
        return status_error(
            status,
            where=self._where(),
            model=self.model,
            detail=scrubbed(_error_text(content), self._secrets, f"HTTP {status}"),
            key_env=PROVIDERS[self._provider],
            backend=self.name,
            retry_after=parse_retry_after(
                {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
            ),
        )

    def _transport_error(self, exc: BaseException) -> BackendError:
        """The error for a request that got no HTTP reply."""
        where, fix = self._where(), "check --api-base and that the server is running"
        if isinstance(exc, httpcore.TimeoutException) and not isinstance(
            exc, httpcore.ConnectTimeout
        ):
            return timeout_error(where, self.name)
        unsent = unsent_error(exc, where=where, backend=self.name, fix=fix)
        if unsent is not None:
            return unsent
        detail = scrubbed(str(exc), self._secrets, type(exc).__name__)
        return connect_error(where, detail, fix, self.name)

    # -- lifecycle ----------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._pools.aclose()


class _Pool:
    __slots__ = ("client", "in_flight")

    def __init__(self, client: httpcore.AsyncConnectionPool) -> None:
        self.client = client
        self.in_flight = 0


class _Pools:
    """This endpoint's connection pools on the running loop: a request takes the least busy
    pool, and a new pool opens when every pool has ``POOL_CONNECTIONS`` requests in flight (the
    dispatcher bounds how many that is). A new event loop gets new pools: pooled connections
    belong to the loop that opened them."""

    def __init__(self, *, tls: bool) -> None:
        # Certificates are loaded once per process (each pool would load them again for every
        # connection, ~0.1 s each), and not at all for a plain-http endpoint: the pools only
        # ever connect to the endpoint's own URL (redirects are not followed).
        self._ssl: ssl.SSLContext | None = _tls_context() if tls else None
        self._pools: list[_Pool] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def take(self) -> _Pool:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._pools, self._loop = [], loop
        pool = min(self._pools, key=_busy, default=None)
        if pool is None or pool.in_flight >= POOL_CONNECTIONS:
            pool = _Pool(
                # No proxy from the environment (httpcore reads none): the endpoint the user
                # named, directly.
                httpcore.AsyncConnectionPool(
                    ssl_context=self._ssl,
                    max_connections=None,
                    max_keepalive_connections=POOL_CONNECTIONS,
                )
            )
            self._pools.append(pool)
        pool.in_flight += 1
        return pool

    async def aclose(self) -> None:
        pools, self._pools = self._pools, []
        if self._loop is asyncio.get_running_loop():
            for pool in pools:
                await pool.client.aclose()


def _busy(pool: _Pool) -> int:
    return pool.in_flight


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate store httpx and httpcore use by default (certifi's), loaded once."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


async def _trace(event: str, info: dict[str, Any]) -> None:
    """httpcore's trace hook: the request counts as sent once its body is written."""
    if event.endswith("send_request_body.complete"):
        mark(True)


#: What a request that got no HTTP reply raises (httpcore's errors, and the socket's or the
#: encoder's where they escape).
_TRANSPORT_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    OSError,
    ValueError,
)


class _SchemaRejected(Exception):
    """The server refused the json_schema response format (before streaming anything)."""


def _is_event_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        k.lower() == b"content-type" and v.lower().startswith(b"text/event-stream")
        for k, v in headers
    )


def _error_text(content: bytes) -> str:
    """The message of an OpenAI-style error body (``{"error": {"message": ...}}``), else the
    body's text."""
    try:
        data = json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    if isinstance(data, dict) and data.get("message"):  # some servers: {"message": ...}
        return str(data["message"])
    return content.decode("utf-8", "replace")


def _count(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0
