"""Small text helpers shared by prompts, renderers and printed tables (no heavy imports:
rendering a graph in a notebook must not load the AGoT engine)."""

from __future__ import annotations

from collections.abc import Sequence


def clip(text: str | None, limit: int, marker: str = "...") -> str:
    """``text`` on one line (whitespace collapsed), cut to at most ``limit`` characters.

    When cut, ``marker`` ends the result so a reader (or a model) sees that something is missing.
    """
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[: max(0, limit - len(marker))] + marker


def number(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or ``n/a`` when it is unknown."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """``rows`` (a header first) as printed lines of left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
