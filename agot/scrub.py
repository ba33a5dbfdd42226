"""The engine under agot's two text scrubbers; the policies live beside it.

Two modules keep text from going where it must not: :mod:`agot.redact` keeps an eval item's
private text (GPQA's questions and options) out of everything a run writes, and
:mod:`agot.routing.privacy` keeps a task's context passages out of what a remote model is
sent. Both find the same things in the same way, and only their policies differ (what counts
as a copy, what replaces it, what stays public); the finding is here, once:

* :func:`literal_pattern`: given strings matched whole, case and spacing aside;
* :func:`window_hits`: where a run of ``n`` consecutive words of a protected text occurs;
* :func:`replace_spans`: the text with the found spans replaced.

:mod:`agot.url_secrets` is the third scrubber, for keys in URLs: a pure rewrite of one URL's
parts, with no protected text to search for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

V = TypeVar("V")


def literal_pattern(texts: Iterable[str], *, ignore_case: bool = False) -> re.Pattern[str] | None:
    """One pattern matching any of ``texts`` verbatim except for white space (any run of it
    matches any other), longest first so a whole text wins over a part of it; None when
    ``texts`` holds nothing but blanks."""
    ordered = sorted({t for t in texts if t.split()}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = (r"\s+".join(map(re.escape, t.split())) for t in ordered)
    return re.compile("|".join(alternatives), re.IGNORECASE if ignore_case else 0)


def window_hits(
    words: Sequence[str],
    n: int,
    table: Mapping[tuple[str, ...], V],
    first: Iterable[str] | None = None,
) -> list[tuple[int, V]]:
    """``(i, value)`` for each ``i`` where ``words[i : i + n]`` is a key of ``table``.

    ``first`` (the set of the keys' first words), when given, skips the lookup wherever the
    window cannot start a key: most text holds none.
    """
    starts: Iterable[int] = range(len(words) - n + 1)
    if first is not None:
        firsts = first if isinstance(first, set | frozenset) else set(first)
        starts = [i for i in starts if words[i] in firsts]
    hits = []
    for i in starts:
        value = table.get(tuple(words[i : i + n]))
        if value is not None:
            hits.append((i, value))
    return hits


def replace_spans(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, label)`` span (in order, not overlapping) replaced by
    its label."""
    out: list[str] = []
    cursor = 0
    for start, end, label in spans:
        out.append(text[cursor:start])
        out.append(label)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
