"""Secrets out of URLs before they are written anywhere (messages, traces, results, stdout).

Users put keys in endpoint URLs: ``https://user:pass@host/v1`` or ``...?key=...`` (Google's
style), ``?api_key=``, ``?sig=`` (Azure SAS), ``?token=``. :func:`redact_url` masks the
user-info and the value of every query parameter whose name looks like a credential;
:func:`redact_text` does the same for every URL inside a longer text (an error a server or
client library echoed back), and for ``?key=...`` pairs echoed without their URL.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: Query parameter names that carry credentials (matched case-insensitively, as substrings).
_SECRET_PARAM = re.compile(
    r"key|token|sig|secret|pass|pwd|auth|credential|session|code|jwt|bearer", re.IGNORECASE
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
#: ``?name=value`` / ``&name=value`` anywhere (a path echoed without its scheme and host).
_QUERY_PAIR = re.compile(r"([?&])([^=&\s?#'\"]+)=([^&\s#'\"]*)")


def redact_url(url: str) -> str:
    """``url`` with user-info and credential-like query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:  # user-info; the host and port after it are kept as written
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(name) for name, _ in pairs):
            query = urlencode(
                [(n, MASK if _SECRET_PARAM.search(n) else v) for n, v in pairs], safe="*"
            )
    fragment = parts.fragment
    if fragment and _SECRET_PARAM.search(fragment):
        fragment = MASK
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`."""
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text:
        text = _QUERY_PAIR.sub(
            lambda m: f"{m[1]}{m[2]}={MASK}" if _SECRET_PARAM.search(m[2]) else m[0], text
        )
    return text
