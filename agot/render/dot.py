"""Graphviz DOT source for a thought graph (pure Python; no Graphviz needed to write it).

Why DOT: Graphviz's ``dot`` layout ranks a DAG into layers, routes edges around nodes and draws
clusters, which is exactly the picture of an AGoT run (layers of thoughts, nested graphs of
complex thoughts). Each AGoT layer becomes one rank (``rank=same``), so layers line up as columns
(``LR``) or rows (``TB``); a nested graph becomes ``subgraph cluster_…`` whose final answer feeds
its parent thought through a dashed edge. Node ids are ``n_`` + the thought id with dots replaced
(``2.1`` → ``n_2_1``), the same ids the Mermaid renderer uses, so pictures can be cross-checked.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

from agot.graph import ThoughtGraph, ThoughtNode

#: Fill and border colour per node status (answered green, failed red, skipped grey).
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "answered": ("#d9f2d9", "#2e7d32"),
    "failed": ("#f8d7da", "#c62828"),
    "skipped": ("#eeeeee", "#9e9e9e"),
    "pending": ("#fff8e1", "#f9a825"),
    "running": ("#fff8e1", "#f9a825"),
}
_UNKNOWN = ("#ffffff", "#616161")

DIRECTIONS = ("LR", "TB")


def node_key(node_id: str) -> str:
    """The DOT/SVG id of a thought (``2.1`` → ``n_2_1``)."""
    return "n_" + node_id.replace(".", "_")


def cluster_key(node_id: str) -> str:
    return "cluster_" + node_key(node_id)


def clip(text: str | None, limit: int) -> str:
    """One line of at most ``limit`` characters (whitespace collapsed, ``…`` when cut)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"


def node_title(node: ThoughtNode, limit: int = 40) -> str:
    return "FINAL" if node.final else f"{node.id}. {clip(node.title, limit)}"


def node_detail(node: ThoughtNode, limit: int = 40) -> str:
    """The short second line of a node's label: its answer, or why it has none."""
    if node.answer:
        return "= " + clip(node.answer, limit)
    if node.status == "failed":
        return "failed" + (": " + clip(node.error, limit - 8) if node.error else "")
    if node.status == "skipped":
        return "skipped (budget)"
    return node.status


def status_colours(status: str) -> tuple[str, str]:
    return STATUS_COLOURS.get(status, _UNKNOWN)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _tooltip(node: ThoughtNode) -> str:
    parts = [node.question or node.title]
    if node.answer:
        parts.append("answer: " + node.answer)
    if node.error:
        parts.append("error: " + node.error)
    return clip(" | ".join(parts), 400)


def _node_line(node: ThoughtNode, label_chars: int) -> str:
    fill, border = status_colours(node.status)
    title = escape(node_title(node, label_chars))
    detail = escape(node_detail(node, label_chars))
    label = f'<<b>{title}</b><br/><font point-size="9">{detail}</font>>'
    style = "rounded,filled" + (",dashed" if node.status == "skipped" else "")
    extra = ""
    if node.final:
        extra += ", peripheries=2"
    if node.complex:
        extra += ", penwidth=2.2"
    return (
        f"{_quote(node_key(node.id))} [label={label}, fillcolor={_quote(fill)}, "
        f"color={_quote(border)}, style={_quote(style)}, tooltip={_quote(_tooltip(node))}{extra}];"
    )


def _emit(graph: ThoughtGraph, lines: list[str], indent: str, label_chars: int) -> None:
    nodes = graph.nodes()
    for node in nodes:
        lines.append(indent + _node_line(node, label_chars))
    # One rank per AGoT layer; the final node gets its own rank after the last layer.
    # Invisible flat edges keep a layer's thoughts in reading order (1 above 2 in LR).
    for layer in sorted({n.layer for n in nodes if not n.final}):
        keys = [_quote(node_key(n.id)) for n in graph.layer(layer)]
        order = "".join(f" {a} -> {b} [style=invis];" for a, b in pairwise(keys))
        lines.append(f"{indent}{{ rank=same; {' '.join(keys)};{order} }}")
    for node in nodes:
        sub = graph.subgraphs.get(node.id)
        if sub is None:
            continue
        lines.append(f"{indent}subgraph {_quote(cluster_key(node.id))} {{")
        inner = indent + "  "
        lines.append(f"{inner}label={_quote('nested: ' + clip(node.title, label_chars))};")
        lines.append(f'{inner}style="rounded,dashed"; color="#5c6bc0"; fontcolor="#3949ab";')
        _emit(sub, lines, inner, label_chars)
        lines.append(f"{indent}}}")
        if sub.final_id is not None:
            # The nested graph's final answer is the complex thought's answer. constraint=false
            # keeps the cluster from pushing the whole parent layer to a later rank.
            lines.append(
                f"{indent}{_quote(node_key(sub.final_id))} -> {_quote(node_key(node.id))} "
                f'[ltail={_quote(cluster_key(node.id))}, style=dashed, color="#5c6bc0", '
                f"constraint=false, "
                f'tooltip="nested answer"];'
            )
    for source, target in graph.g.edges():
        lines.append(f"{indent}{_quote(node_key(source))} -> {_quote(node_key(target))};")


def graph_to_dot(
    graph: ThoughtGraph,
    *,
    direction: str = "LR",
    label_chars: int = 40,
    title: bool = True,
) -> str:
    """DOT source of ``graph``: layers as ranks along ``direction`` (``LR`` or ``TB``).

    Node label = id and title (bold) over the short answer; fill and border by status; a thick
    border marks a complex thought, a double border the final answer; hovering shows the full
    question and answer (SVG tooltips).
    """
    if direction not in DIRECTIONS:
        from agot.errors import ConfigError

        raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    lines = ["digraph agot {"]
    lines.append(f"  rankdir={direction}; compound=true; newrank=true; nodesep=0.25; ranksep=0.6;")
    if title:
        lines.append(f"  label={_quote('Q: ' + clip(graph.question, 100))}; labelloc=t;")
        lines.append('  fontname="Helvetica"; fontsize=12;')
    lines.append('  node [shape=box, fontname="Helvetica", fontsize=10, margin="0.12,0.06"];')
    lines.append('  edge [color="#78909c", arrowsize=0.6];')
    _emit(graph, lines, "  ", label_chars)
    lines.append("}")
    return "\n".join(lines) + "\n"
