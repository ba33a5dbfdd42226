"""What every OpenAI-style remote backend shares: the request's shape and the reading of failures.

Two backends speak to OpenAI-compatible servers: the litellm adapter (any provider) and the direct
HTTP client (:mod:`agot.backends.openai_http`, ``openai/…`` and ``hosted_vllm/…`` on a given
endpoint). They must build the same request (structured output as a ``json_schema``
``response_format``, or the schema in a system message for a server that rejects it) and report
failures the same way (transient ones with the server's Retry-After, client-side ones at once
with their real cause, every message scrubbed of keys and bounded), so this module holds those
pieces and imports nothing heavy.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable
from typing import Any

from agot.endpoints import check_endpoint
from agot.errors import BackendError, TransientBackendError, UnreachableBackendError
from agot.redact import redact_private
from agot.types import GenerationRequest
from agot.url_secrets import redact_text

#: Sent as the API key to servers given by ``api_base`` when no key is configured: the OpenAI
#: client refuses to run without one, and local servers ignore it.
NO_KEY = "sk-no-key-required"

#: Per-request timeout of the HTTP client; the dispatcher's ``Limits.timeout_s`` usually cuts in
#: first, this only bounds a call made with that timeout switched off.
DEFAULT_REQUEST_TIMEOUT_S = 600.0

#: Calls in flight when the user sets no limit: above AGoT's fan-out at the paper's setting
#: (N=3, d=1: 9 thoughts in 3 nested graphs at once, speculation doubling that), so a run's own
#: calls never queue behind each other; a server that cannot keep up answers 429 and is retried.
DEFAULT_CONCURRENCY = 32

#: Added to the prompt when the schema cannot be enforced natively, so the first reply has a
#: chance to parse without a re-ask (after the run-wide prefix, see schema_messages).
SCHEMA_HINT = (
    "Reply with only a JSON object that matches this JSON schema, no other text:\n{schema}"
)

#: Said when a server refused json_schema and the backend switched to prompted JSON.
SCHEMA_FALLBACK_WARNING = (
    "server rejected response_format json_schema; using prompted JSON with validation"
)

# Fragments of a 400 reply that mean "this server does not do json_schema response_format".
_SCHEMA_REJECTION = ("response_format", "response format", "json_schema", "guided", "grammar")
# Client libraries prefix messages with class names ("litellm.X: ... OpenAIException - ").
_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)?(?:\w+(?:Error|Exception|Timeout)(?::|\s+-)\s*)*")
_MAX_DETAIL = 300
# Fragments of a 400/413 reply that mean the prompt does not fit the model's window.
_CONTEXT_WINDOW = ("context length", "context window", "maximum context", "too many tokens")


def check_api_base(url: str) -> str:
    """``url`` without a trailing slash, or ConfigError naming what is wrong with it (the one
    endpoint check, :func:`agot.endpoints.check_endpoint`)."""
    return check_endpoint(url, what="--api-base")


def schema_messages(
    request: GenerationRequest, native: bool
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The request's messages as JSON data, and its ``response_format`` (None: none).

    ``native``: the schema goes out as a ``json_schema`` response format; otherwise it is
    stated after the request's ``cache_prefix`` (or at the end of the last user message).
    """
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.output_schema is None:
        return messages, None
    schema = request.output_json_schema()
    if native:
        name = re.sub(r"[^A-Za-z0-9_-]", "_", request.output_schema.__name__)[:64]
        return messages, {
            "type": "json_schema",
            "json_schema": {"name": name or "output", "schema": schema, "strict": False},
        }
    # Never before the run-wide prefix (system text, AGoT's task block), which every step
    # shares whatever its schema, for providers' prompt caches: right after it, so the steps of
    # one kind share the hint too, or at the end of the last user message.
    hint = SCHEMA_HINT.format(schema=json.dumps(schema))
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        messages.append({"role": "user", "content": hint})
        return messages, None
    at = users[0] if request.cache_prefix else users[-1]
    content = messages[at]["content"]
    cut = request.cache_prefix if 0 < request.cache_prefix < len(content) else len(content)
    content = (
        f"{content[:cut]}{hint}\n\n{content[cut:]}"
        if cut < len(content)
        else f"{content}\n\n{hint}"
    )
    messages[at] = {**messages[at], "content": content}
    return messages, None


def chat_body(
    request: GenerationRequest,
    model: str,
    native: bool,
    mark: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The chat-completions fields of ``request`` for ``model``: messages (through ``mark``,
    e.g. cache markers, when given), sampling parameters, and the ``response_format`` of
    :func:`schema_messages`; a parameter left unset is left out, so the server's default holds.
    """
    params = request.params
    messages, response_format = schema_messages(request, native)
    if mark is not None:
        messages = mark(messages)
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
    }
    optional = {
        "top_p": params.top_p,
        "seed": params.seed,
        "stop": list(params.stop) if params.stop else None,
        "logprobs": True if request.logprobs else None,  # OpenAI-style token log-probabilities
        "response_format": response_format,
    }
    body.update((key, value) for key, value in optional.items() if value is not None)
    return body


def rejects_schema(status: int | None, text: str) -> bool:
    """A 400/422 whose message says the server does not take a json_schema response format."""
    if status not in (400, 422):
        return False
    lowered = text.lower()
    return any(fragment in lowered for fragment in _SCHEMA_REJECTION)


def scrubbed(text: str, secrets: list[str], fallback: str) -> str:
    """One line of an error message: no key, no credentials in URLs, no class-name prefixes,
    at most a few hundred characters."""
    for secret in secrets:
        text = text.replace(secret, "***")
    # An eval item's private text (GPQA) is redacted whole here, before the cut below.
    text = redact_private(redact_text(" ".join(text.split())))
    text = _PREFIX.sub("", text, count=1).strip() or fallback
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def status_error(
    status: int | None,
    *,
    where: str,
    model: str,
    detail: str,
    key_env: str,
    backend: str,
    retry_after: float | None = None,
    too_long: bool = False,
) -> BackendError:
    """The error for a server's HTTP error reply, in the same words for every client.

    ``status`` None is a server-side failure whose status the client library did not keep
    (litellm's InternalServerError and kin): transient. ``too_long``: the client already knows
    the prompt exceeded the model's window; otherwise a 400/413 whose ``detail`` says so counts.
    408, 409, 429 and 5xx are transient (with the server's Retry-After); any other 4xx is the
    request's fault and is reported at once, naming the key variable for 401/403.
    """
    if status == 408:
        return timeout_error(where, backend, status)
    if status == 409:  # a conflict (e.g. a busy resource) clears on its own
        return TransientBackendError(
            f"{where} reported a conflict (HTTP 409): {detail}",
            backend=backend,
            status=409,
            retry_after=retry_after,
        )
    if status == 429:
        return TransientBackendError(
            f"{where} is rate limiting requests (HTTP 429): {detail}",
            backend=backend,
            status=429,
            retry_after=retry_after,
        )
    if status in (401, 403):
        return BackendError(
            f"{where} rejected the API key for model {model!r} (HTTP {status}): check "
            f"{key_env} or the api_key option",
            backend=backend,
            status=status,
        )
    if too_long or (status in (400, 413) and any(f in detail.lower() for f in _CONTEXT_WINDOW)):
        return BackendError(
            f"the prompt is too long for model {model!r}: {detail}", backend=backend, status=status
        )
    if status == 404:
        return BackendError(
            f"{where} does not know model {model!r} (HTTP 404): {detail}; check the model "
            "name (and --api-base)",
            backend=backend,
            status=404,
        )
    if status is not None and status < 500:
        return BackendError(
            f"{where} refused the request for model {model!r} (HTTP {status}): {detail}",
            backend=backend,
            status=status,
        )
    return TransientBackendError(
        f"{where} failed (HTTP {status or 'error'}): {detail}",
        backend=backend,
        status=status,
        retry_after=retry_after,
    )


def timeout_error(where: str, backend: str, status: int | None = None) -> BackendError:
    """The error for a server that did not answer in time (transient)."""
    return TransientBackendError(
        f"{where} did not answer within the request timeout", backend=backend, status=status
    )


def unsent_error(exc: BaseException, *, where: str, backend: str, fix: str) -> BackendError | None:
    """The error for a request that never left this machine (:func:`client_side_cause`), or
    None: reported at once, as unreachable where nothing listens or the host is unknown.
    ``fix``: what the user may do about it ("" for nothing to say)."""
    cause = client_side_cause(exc)
    if cause is None:
        return None
    unreachable = cause.startswith(("connection refused", "unknown host"))
    return (UnreachableBackendError if unreachable else BackendError)(
        f"cannot send the request to {where}: {cause}" + (f"; {fix}" if fix else ""),
        backend=backend,
    )


def connect_error(where: str, detail: str, hint: str, backend: str) -> BackendError:
    """The error for a connection that failed or dropped before a reply (transient)."""
    return TransientBackendError(f"cannot connect to {where} ({detail}): {hint}", backend=backend)


def client_side_cause(exc: BaseException) -> str | None:
    """What went wrong before any request left this machine, or None.

    A refused connection, an unknown host, an invalid URL or a header value that cannot be
    encoded: retrying changes nothing, so these are reported at once (litellm wraps them all
    in an "InternalServerError", status 500; httpx in a ConnectError).
    """
    import socket

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "unknown host (name resolution failed)"
        if isinstance(current, UnicodeEncodeError):
            return "a header value (the API key?) has characters HTTP headers cannot carry"
        if name in {"InvalidURL", "UnsupportedProtocol", "LocalProtocolError"}:
            return f"invalid request: {current}"
        if type(current) is ValueError and not type(current).__module__.startswith("litellm"):
            # A plain ValueError below litellm is the HTTP client refusing its input (a port
            # out of range, credentials in the URL beside an Authorization header, ...).
            return f"invalid request: {current}"
        current = current.__cause__ or current.__context__
    return None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (delta seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        getter = headers.get
    except AttributeError:
        return None
    raw_ms = getter("retry-after-ms") or getter("Retry-After-Ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = getter("retry-after") or getter("Retry-After")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def mean_logprob(logprobs: Any) -> float | None:
    """Mean of the per-token log-probabilities of an OpenAI-style ``choice.logprobs``."""
    content = (
        logprobs.get("content")
        if isinstance(logprobs, dict)
        else (getattr(logprobs, "content", None))
    )
    if not content:
        return None
    values = [
        token.get("logprob") if isinstance(token, dict) else getattr(token, "logprob", None)
        for token in content
    ]
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    return sum(numbers) / len(numbers) if numbers else None
