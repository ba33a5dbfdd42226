"""What every picture of a thought graph shares: element ids, status colours, label text.

DOT, the built-in SVG layout, Mermaid and the web viewer all take node ids, colours and the
wording of labels from here, so the same thought looks and is named the same everywhere
(``2.1`` is ``n_2_1`` in every format, an answered thought is green in every format) and a test
or a tool can cross-check one picture against another.
"""

from __future__ import annotations

import textwrap

from agot.graph import ThoughtNode
from agot.text import clip as clip_text

#: Fill and border colour per node status (answered green, failed red, skipped grey).
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "answered": ("#d9f2d9", "#2e7d32"),
    "failed": ("#f8d7da", "#c62828"),
    "skipped": ("#eeeeee", "#9e9e9e"),
    "pending": ("#fff8e1", "#f9a825"),
    "running": ("#fff8e1", "#f9a825"),
}
UNKNOWN_COLOURS = ("#ffffff", "#616161")
#: Colour of nested-graph boxes and of the link from a nested answer to its thought.
NESTED_COLOUR = "#5c6bc0"
NESTED_TEXT = "#3949ab"
NESTED_FILL = "#f5f7ff"
EDGE_COLOUR = "#78909c"

#: Legend entries: (key, text). Status keys are drawn as filled boxes, the others as marks.
LEGEND_STATUSES: tuple[tuple[str, str], ...] = (
    ("answered", "answered"),
    ("failed", "failed"),
    ("skipped", "skipped (budget)"),
)
LEGEND_MARKS: tuple[tuple[str, str], ...] = (
    ("complex", "complex (thick border)"),
    ("final", "final answer (double border)"),
    ("nested", "nested graph"),
)

DIRECTIONS = ("LR", "TB")

#: Wrapped label lines: a title takes at most this many lines, an answer at most this many.
TITLE_LINES = 3
DETAIL_LINES = 2


def node_key(node_id: str) -> str:
    """The id of a thought in every picture format (``2.1`` → ``n_2_1``)."""
    return "n_" + node_id.replace(".", "_")


def cluster_key(node_id: str) -> str:
    """The id of the box that holds the nested graph of thought ``node_id``."""
    return "cluster_" + node_key(node_id)


def status_colours(status: str) -> tuple[str, str]:
    """(fill, border) of a thought with ``status``."""
    return STATUS_COLOURS.get(status, UNKNOWN_COLOURS)


def clip(text: str | None, limit: int) -> str:
    """One line of at most ``limit`` characters (whitespace collapsed, ``…`` when cut)."""
    return clip_text(text, limit, "…")


def wrap(text: str | None, width: int, max_lines: int) -> list[str]:
    """``text`` broken into lines of at most ``width`` characters, ``…`` on the last line when
    more would follow. Long words are split so no line overflows its box."""
    flat = " ".join((text or "").split())
    if not flat:
        return [""]
    lines = textwrap.wrap(flat, width, break_long_words=True, break_on_hyphens=False)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = clip(kept[-1] + " " + lines[max_lines], width)
    if not kept[-1].endswith("…"):
        kept[-1] = clip(kept[-1], width - 1) + "…"
    return kept


def display_text(text: str | None) -> str:
    """Model text as a picture shows it: one line, without the JSON debris a small model leaves
    around a field (``} {``), and ``(empty)`` when nothing else is left."""
    from agot.answers import strip_json_debris

    flat = " ".join((text or "").split())
    cleaned = strip_json_debris(flat)
    if not any(ch.isalnum() for ch in cleaned):
        return "(empty)"
    return cleaned


def node_title(node: ThoughtNode) -> str:
    """The bold first part of a label: ``FINAL`` or ``<id>. <title>``."""
    return "FINAL" if node.final else f"{node.id}. {display_text(node.title)}"


def node_detail(node: ThoughtNode) -> str:
    """The second part of a label: the answer, or why there is none."""
    if node.answer:
        return "= " + display_text(node.answer)
    if node.status == "failed":
        return "failed" + (": " + " ".join(node.error.split()) if node.error else "")
    if node.status == "skipped":
        return "skipped (budget)"
    return node.status


def label_lines(node: ThoughtNode, width: int) -> tuple[list[str], list[str]]:
    """(title lines, detail lines) of a node's label wrapped at ``width`` characters."""
    return wrap(node_title(node), width, TITLE_LINES), wrap(node_detail(node), width, DETAIL_LINES)


def tooltip(node: ThoughtNode, limit: int = 400) -> str:
    """The hover text of a thought: its full question, answer and error."""
    parts = [node.question or node.title]
    if node.answer:
        parts.append("answer: " + node.answer)
    if node.error:
        parts.append("error: " + node.error)
    return clip(" | ".join(parts), limit)
