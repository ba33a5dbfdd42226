"""The one check for every endpoint a user names, before anything connects to it.

An endpoint reaches agot many ways: ``--api-base``, ``--model MODEL@URL``, ``--route
ROLE=MODEL@URL``, ``--escalate-to``, ``--judge``, a fleet file, ``Dispatcher(api_base=...,
endpoints=...)`` and any model string given to the Python API. Every one of them goes through
:func:`check_endpoint` (a URL on its own) or :func:`split_model_endpoint` (a model string that
may end in ``@URL``), so one rule decides what is an endpoint and what is not, and a malformed
one is a :class:`~agot.errors.ConfigError` before a socket is opened.

Why refuse rather than guess: a model string whose ``@URL`` was not recognised as an endpoint
(``openai/x@ftp://host/v1``, ``@htp://``, ``@host:8000/v1``, ``@http://user:key@host``) used to
reach the client library whole, which sent it, with the provider's key, to the provider's
default base URL: the one address the user did not name. So anything after an ``@`` that looks
like an attempt at an address (a scheme, ``host:port``, a path, a dotted host name or IP,
``localhost``) must be a valid endpoint, or the model string is refused. A suffix that looks
like no address stays part of the model name (Vertex AI's ``claude-3-sonnet@20240229``).

A valid endpoint is an ``http`` or ``https`` URL with a host, a port in range if any, and no
whitespace. User-info (``user:key@host``), a query (``?key=...``) and a fragment are refused:
OpenAI-style clients append ``/chat/completions`` to the URL as text, so a query lands inside
the path (``/v1/?key=...chat/completions``, a 404) and user-info collides with the client's
``Authorization`` header. Neither ever worked, so a key put there is refused with a message
saying where keys go, rather than masked in the logs while every call fails.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from agot.errors import ConfigError
from agot.url_secrets import redact_url

__all__ = [
    "check_api_base",
    "check_endpoint",
    "endpoint_at",
    "looks_like_endpoint",
    "split_model_endpoint",
]

#: Where a key goes instead of the URL (said by every refusal of one in the URL).
KEY_ADVICE = (
    "put the key in the provider's environment variable (e.g. OPENAI_API_KEY) or pass api_key="
)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_DOTTED = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]*"
#: What reads as a host without a scheme: then a port, a path, a query, or the end.
_HOSTLIKE = re.compile(
    rf"^(?:[^/@\s]*@)?(?:localhost|\[[0-9A-Fa-f:.]+\]|{_IPV4}|{_DOTTED}|[A-Za-z0-9._-]+(?=:\d|:?/))"
    r"(?::\d*)?(?:[/?#]|$)",
    re.IGNORECASE,
)


def looks_like_endpoint(text: str) -> bool:
    """Whether ``text`` reads as an attempt at an address (valid or not).

    A scheme (``http://``, ``ftp://``, ``htp:/``), ``//host``, or a host without a scheme:
    ``localhost``, an IP, a dotted name ending in letters (``api.example.com``), or any name
    followed by ``:port`` or a path. ``20240229`` or ``v1.2`` read as no address.
    """
    text = text.strip()
    return bool(_SCHEME.match(text) or text.startswith("//") or _HOSTLIKE.match(text))


def check_endpoint(url: object, *, what: str = "endpoint") -> str:
    """``url`` stripped of surrounding space and a trailing ``/``, or a ConfigError.

    The message reads ``invalid {what} '<url, secrets masked>': <reason>`` and names the fix.
    """
    if not isinstance(url, str):
        raise ConfigError(
            f"invalid {what}: an endpoint is a URL string such as http://127.0.0.1:8000/v1, "
            f"got {type(url).__name__}"
        )
    shown = redact_url(url.strip())
    head = f"invalid {what} {shown!r}"
    text = url.strip()
    if not text:
        raise ConfigError(f"invalid {what}: the URL is empty (e.g. http://127.0.0.1:8000/v1)")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError(f"{head}: a URL has no spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{head}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if "://" not in text and not _SCHEME.match(text):
            raise ConfigError(
                f"{head}: it has no scheme; write http://{text.lstrip('/')} or https://..."
            )
        raise ConfigError(
            f"{head}: it must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)"
        )
    if not text[len(scheme) :].startswith("://"):
        raise ConfigError(f"{head}: write {scheme}://host[:port]/path")
    if "@" in parts.netloc:
        raise ConfigError(
            f"{head}: a user name or password in the URL (user:key@host) is not sent; " + KEY_ADVICE
        )
    if not parts.hostname:
        raise ConfigError(f"{head}: it names no host")
    if port == 0:
        raise ConfigError(f"{head}: port 0 is not a port a server listens on")
    if "?" in text or "#" in text:
        raise ConfigError(
            f"{head}: a query or fragment (?... or #...) would end up inside the request path; "
            "give the server's base URL alone, and " + KEY_ADVICE
        )
    return text.rstrip("/")


def endpoint_at(text: str) -> int | None:
    """Where the ``@`` before an endpoint is in a model string (None: it names none).

    An ``@`` followed by a scheme wins over one followed by a bare host, so a model name that
    holds ``@`` itself still splits at its URL (``name@2024@http://h/v1``).
    """
    ats = [i for i, c in enumerate(text) if c == "@"]
    for at in ats:
        if _SCHEME.match(text[at + 1 :]) or text.startswith("//", at + 1):
            return at
    for at in ats:
        if looks_like_endpoint(text[at + 1 :]):
            return at
    return None


def split_model_endpoint(model: str, *, what: str = "model") -> tuple[str, str | None]:
    """``"openai/x@http://h:8000/v1"`` -> ``("openai/x", "http://h:8000/v1")``; no URL: None.

    The first ``@`` whose remainder :func:`looks_like_endpoint` splits, and the remainder must
    pass :func:`check_endpoint`; a ConfigError otherwise, naming ``what`` (``--model``,
    ``--route assess=``, ...). A model string that is itself a URL is refused too.
    """
    text = model.strip()
    at = endpoint_at(text)
    if at is not None:
        name, url = text[:at].strip(), text[at + 1 :]
        shown = f"{name}@{redact_url(url)}"
        label = f"{what}{shown!r}" if what.endswith("=") else f"{what} {shown!r}"
        if not name:
            raise ConfigError(
                f"invalid {label}: no model before @URL (write MODEL@URL, e.g. "
                "openai/my-model@http://127.0.0.1:8000/v1)"
            )
        try:
            return name, check_endpoint(url, what="endpoint")
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    if _SCHEME.match(text) or (text.startswith("//") and "/" in text[2:]):
        raise ConfigError(
            f"invalid {what} {redact_url(text)!r}: that is a URL, not a model string; write "
            "MODEL@URL (e.g. openai/my-model@http://127.0.0.1:8000/v1) or pass --api-base"
        )
    return text, None


def check_api_base(value: object, *, what: str = "api_base") -> str:
    """An ``api_base`` as a dispatcher takes it: one URL, several comma-separated URLs (a
    fleet's replicas, each checked), or the path of a fleet file (``.toml``/``.json``, whose
    URLs are checked when it is read)."""
    if not isinstance(value, str):
        return check_endpoint(value, what=what)
    text = value.strip()
    if text.lower().endswith((".toml", ".json")) and "://" not in text:
        return text
    if "," in text:
        urls = [check_endpoint(part, what=what) for part in text.split(",") if part.strip()]
        if not urls:
            raise ConfigError(f"invalid {what} {text!r}: it lists no URL")
        return ",".join(urls)
    return check_endpoint(text, what=what)
