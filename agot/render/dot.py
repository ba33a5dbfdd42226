"""Graphviz DOT source for a thought graph (pure Python; no Graphviz needed to write it).

Why DOT: Graphviz's ``dot`` layout ranks a DAG into layers, routes edges around nodes and draws
clusters, which is exactly the picture of an AGoT run (layers of thoughts, nested graphs of
complex thoughts). Each AGoT layer becomes one rank (``rank=same``), so layers line up as columns
(``LR``) or rows (``TB``); a nested graph becomes ``subgraph cluster_…`` whose final answer feeds
its parent thought through a dashed edge. Ids and colours come from :mod:`agot.render.style`,
shared with the other formats. The graph's own label holds the question and a legend.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

from agot.graph import ThoughtGraph, ThoughtNode
from agot.render.style import (
    DIRECTIONS,
    EDGE_COLOUR,
    LEGEND_STATUSES,
    NESTED_COLOUR,
    NESTED_TEXT,
    clip,
    cluster_key,
    label_lines,
    node_key,
    status_colours,
    tooltip,
)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _label(node: ThoughtNode, width: int) -> str:
    title, detail = label_lines(node, width)
    bold = "<br/>".join(f"<b>{escape(line)}</b>" for line in title)
    small = "<br/>".join(escape(line) for line in detail)
    return f'<{bold}<br/><font point-size="9">{small}</font>>'


def _node_line(node: ThoughtNode, label_chars: int) -> str:
    fill, border = status_colours(node.status)
    style = "rounded,filled" + (",dashed" if node.status == "skipped" else "")
    extra = ""
    if node.final:
        extra += ", peripheries=2"
    if node.complex:
        extra += ", penwidth=2.2"
    return (
        f"{_quote(node_key(node.id))} [id={_quote(node_key(node.id))}, "
        f"label={_label(node, label_chars)}, "
        f"fillcolor={_quote(fill)}, color={_quote(border)}, style={_quote(style)}, "
        f"tooltip={_quote(tooltip(node))}{extra}];"
    )


def _emit(
    graph: ThoughtGraph,
    lines: list[str],
    indent: str,
    label_chars: int,
    direction: str,
    *,
    nested: bool = False,
) -> None:
    nodes = graph.nodes()
    reverse = nested and direction == "LR"
    # Graphviz lays out a cluster of an LR drawing mirrored across the layer axis (a flat edge
    # a -> b puts b above a there, while it puts a above b outside clusters), so inside clusters
    # of LR drawings nodes are declared and chained in reverse: the picture then reads 1, 2, 3
    # from the top in every graph, nested or not.
    declared = list(reversed(nodes)) if reverse else nodes
    for node in declared:
        lines.append(indent + _node_line(node, label_chars))
    # One rank per AGoT layer, headed by a "layer N" label; the final node gets its own rank
    # after the last layer. Invisible edges chain the labels, so each layer is its own column
    # even where no edge joins two layers; invisible flat edges keep a layer's thoughts in
    # reading order, under its label.
    layers = sorted({n.layer for n in nodes if not n.final})
    # Named after the layer's first thought, so labels of nested graphs never clash.
    labels = [_quote("layer_" + node_key(graph.layer(layer)[0].id)) for layer in layers]
    for layer, label in zip(layers, labels, strict=True):
        lines.append(
            f'{indent}{label} [shape=plaintext, label="layer {layer}", fontcolor="#616161", '
            'fontsize=10, class="layer-label"];'
        )
        keys = [label] + [_quote(node_key(n.id)) for n in graph.layer(layer)]
        chain = list(reversed(keys)) if reverse else keys
        order = "".join(f" {a} -> {b} [style=invis];" for a, b in pairwise(chain))
        lines.append(f"{indent}{{ rank=same; {' '.join(keys)};{order} }}")
    for a, b in pairwise(labels):
        lines.append(f"{indent}{a} -> {b} [style=invis];")
    for node in nodes:
        sub = graph.subgraphs.get(node.id)
        if sub is None:
            continue
        lines.append(f"{indent}subgraph {_quote(cluster_key(node.id))} {{")
        inner = indent + "  "
        lines.append(f"{inner}id={_quote(cluster_key(node.id))};")
        lines.append(f"{inner}label={_quote('nested: ' + clip(node.title, label_chars))};")
        lines.append(
            f'{inner}style="rounded,dashed"; color="{NESTED_COLOUR}"; fontcolor="{NESTED_TEXT}";'
        )
        _emit(sub, lines, inner, label_chars, direction, nested=True)
        lines.append(f"{indent}}}")
        if sub.final_id is not None:
            # The nested graph's final answer is the complex thought's answer. constraint=false
            # keeps the cluster from pushing the whole parent layer to a later rank.
            lines.append(
                f"{indent}{_quote(node_key(sub.final_id))} -> {_quote(node_key(node.id))} "
                f'[ltail={_quote(cluster_key(node.id))}, style=dashed, color="{NESTED_COLOUR}", '
                f'constraint=false, tooltip="nested answer"];'
            )
    for source, target in graph.dag.edges():
        lines.append(f"{indent}{_quote(node_key(source))} -> {_quote(node_key(target))};")


def _legend(question: str) -> str:
    """The graph label: the question over one row of legend cells."""
    cells = []
    for status, text in LEGEND_STATUSES:
        fill, border = status_colours(status)
        style = ' style="dashed"' if status == "skipped" else ""
        cells.append(f'<td bgcolor="{fill}" color="{border}" border="1"{style}>{escape(text)}</td>')
    cells.append('<td border="3" color="#2e7d32">complex (thick)</td>')
    cells.append('<td border="1" color="#2e7d32">final (double border)</td>')
    cells.append(
        f'<td border="1" style="dashed" color="{NESTED_COLOUR}">'
        f'<font color="{NESTED_TEXT}">nested graph</font></td>'
    )
    row = "".join(cells)
    span = len(cells)
    return (
        '<<table border="0" cellspacing="4" cellpadding="3">'
        f'<tr><td colspan="{span}"><font point-size="12">{escape(question)}</font></td></tr>'
        f"<tr>{row}</tr></table>>"
    )


def graph_to_dot(
    graph: ThoughtGraph,
    *,
    direction: str = "LR",
    label_chars: int = 40,
    title: bool = True,
) -> str:
    """DOT source of ``graph``: layers as ranks along ``direction`` (``LR`` or ``TB``).

    Node label = id and title (bold) over the answer, each wrapped at ``label_chars``
    characters; fill and border by status; a thick border marks a complex thought, a double
    border the final answer; hovering shows the full question and answer (SVG tooltips).
    ``title`` adds the question and a legend above the drawing.
    """
    if direction not in DIRECTIONS:
        from agot.errors import ConfigError

        raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    lines = ["digraph agot {"]
    lines.append(f"  rankdir={direction}; compound=true; newrank=true; nodesep=0.25; ranksep=0.6;")
    if title:
        lines.append(f"  label={_legend('Q: ' + clip(graph.question, 100))}; labelloc=t;")
        lines.append('  fontname="Helvetica"; fontsize=10;')
    lines.append('  node [shape=box, fontname="Helvetica", fontsize=10, margin="0.12,0.06"];')
    lines.append(f'  edge [color="{EDGE_COLOUR}", arrowsize=0.6];')
    _emit(graph, lines, "  ", label_chars, direction)
    lines.append("}")
    return "\n".join(lines) + "\n"
