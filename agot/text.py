"""Small text helpers shared by prompts and renderers (no heavy imports: rendering a graph in a
notebook must not load the AGoT engine)."""

from __future__ import annotations


def clip(text: str | None, limit: int, marker: str = "...") -> str:
    """``text`` on one line (whitespace collapsed), cut to at most ``limit`` characters.

    When cut, ``marker`` ends the result so a reader (or a model) sees that something is missing.
    """
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[: max(0, limit - len(marker))] + marker
