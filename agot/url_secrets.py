"""Secrets out of URLs and model strings before they are written anywhere.

Users put keys in endpoint URLs: ``https://user:pass@host/v1``, ``...?key=...`` (Google's
style), ``?api_key=``, ``?sig=`` (Azure SAS), a neutral ``?k=``, or a path segment
(``https://gateway/v1/<key>``). :func:`check_endpoint <agot.endpoints.check_endpoint>` refuses
user-info and queries in the endpoints agot calls, but the text the user typed still reaches
messages, and a key in a path segment works and so stays in the model string. So every place
that writes a model string or a URL (results rows, run.json, summary.json, traces and their
folder names, tables, ``--json``, ``agot show``, error lines) writes it through
:func:`redact_model` / :func:`redact_url` / :func:`redact_text`:

* user-info is replaced by ``***``;
* every query value, whatever its name, and a fragment are replaced by ``***`` (a name says
  nothing: ``?k=`` carries a key as well as ``?key=``);
* a path segment that looks like a key is replaced by ``***``: a known key prefix (``sk-``,
  ``AIza``, ``hf_``, ``ghp_``, ...), or a run of 16+ letters and digits with both in it (model
  names are words and short numbers: ``Meta-Llama-3.1-8B-Instruct`` stays).

Masking is a pure function of the text, so the same model string always masks the same way:
results written under the masked name group, resume and compare as before.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
#: ``?name=value`` / ``&name=value`` anywhere (a path echoed without its scheme and host).
_QUERY_PAIR = re.compile(r"([?&])([^=&\s?#'\"]+)=([^&\s#'\"]*)")
#: Prefixes of API keys and tokens of well-known providers.
_KEY_PREFIX = re.compile(
    r"^(?:sk-|sk_|pk_|rk_|AIza|hf_|ghp_|gho_|ghs_|ghu_|github_pat_|xox[abpr]-|glpat-|"
    r"AKIA|ya29\.|eyJ)",
)
#: A run of 16+ key characters (letters, digits, ``_``/``-``/``.`` inside) ...
_LONG_PIECE = re.compile(r"[A-Za-z0-9]{16,}")


def looks_like_key(segment: str) -> bool:
    """Whether a path segment (or any token) looks like a credential rather than a name."""
    if len(segment) < 8:
        return False
    if _KEY_PREFIX.match(segment):
        return True
    for piece in _LONG_PIECE.findall(segment):
        if any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece):
            return True
    return False


def _mask_path(path: str) -> str:
    return "/".join(MASK if looks_like_key(seg) else seg for seg in path.split("/"))


def redact_url(url: str) -> str:
    """``url`` with user-info, every query value, the fragment and key-like path segments
    replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:  # user-info; the host and port after it are kept as written
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        query = "&".join(
            f"{pair.partition('=')[0]}={MASK}" if "=" in pair else MASK for pair in query.split("&")
        )
    fragment = MASK if parts.fragment else ""
    path = _mask_path(parts.path)
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url  # nothing to hide: as written (urlunsplit would normalise it)
    return urlunsplit(parts._replace(netloc=netloc, path=path, query=query, fragment=fragment))


def redact_model(model: str) -> str:
    """A model string (``MODEL`` or ``MODEL@URL``, or a ``NAME=`` label) as it may be written.

    The URL part goes through :func:`redact_url`; the model part keeps its name, but any of its
    path segments that looks like a key is masked too.
    """
    if not isinstance(model, str):
        return model
    from agot.endpoints import endpoint_at

    at = endpoint_at(model)
    if at is not None:
        return f"{_mask_path(model[:at])}@{redact_url(model[at + 1 :])}"
    if "://" in model:
        return redact_text(model)
    return _mask_path(model)


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`, and every ``?k=v`` /
    ``&k=v`` pair echoed without its URL masked."""
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text:
        text = _QUERY_PAIR.sub(lambda m: m[0] if m[3] == MASK else f"{m[1]}{m[2]}={MASK}", text)
    return text
