"""SVG of a thought graph: Graphviz's ``dot`` when installed, a pure-Python layout otherwise.

Why two paths: ``dot`` (Debian package ``graphviz``) draws the best pictures, but a notebook or
CI machine without it must still show the graph, so the fallback lays the graph out itself:
each AGoT layer is a column (``LR``) or row (``TB``), the final answer comes after the last
layer, and a complex thought's nested graph is drawn as a dashed box right next to its thought
(below it in ``LR``, to its right in ``TB``), recursively. Both outputs carry the same ids
(``n_<id>`` per node, ``n_<a>->n_<b>`` per edge in ``<title>``) so tests and tools can check
either one.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from agot.graph import ThoughtGraph, ThoughtNode
from agot.render.dot import (
    DIRECTIONS,
    clip,
    graph_to_dot,
    node_detail,
    node_key,
    node_title,
    status_colours,
)

log = logging.getLogger(__name__)

ENGINES = ("auto", "dot", "python")


def has_dot() -> bool:
    """Whether Graphviz's ``dot`` program is on PATH (looked up on every call)."""
    return shutil.which("dot") is not None


def graph_to_svg(
    graph: ThoughtGraph,
    *,
    direction: str = "LR",
    engine: str = "auto",
    label_chars: int = 40,
) -> str:
    """SVG text of ``graph``.

    ``engine``: ``auto`` uses ``dot`` when installed and the Python layout otherwise (also when
    ``dot`` fails); ``dot`` requires it (ConfigError when missing); ``python`` never uses it.
    """
    from agot.errors import ConfigError

    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if engine == "dot" and not has_dot():
        raise ConfigError(
            "Graphviz 'dot' is not installed: apt-get install graphviz (or use engine='python')"
        )
    if engine != "python" and has_dot():
        try:
            return dot_svg(graph_to_dot(graph, direction=direction, label_chars=label_chars))
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            if engine == "dot":
                raise ConfigError(f"Graphviz 'dot' failed: {exc}") from None
            log.warning("Graphviz dot failed (%s); using the built-in layout", exc)
    return python_svg(graph, direction=direction, label_chars=label_chars)


def dot_svg(source: str) -> str:
    """Run ``dot -Tsvg`` on DOT ``source`` through the ``graphviz`` package."""
    import graphviz

    svg: str = graphviz.Source(source).pipe(format="svg", encoding="utf-8")
    # Drop the XML prolog and DOCTYPE so the SVG can be inlined into HTML.
    start = svg.find("<svg")
    return svg[start:] if start > 0 else svg


# -- the pure-Python layout ------------------------------------------------------------------

NODE_W, NODE_H = 230.0, 44.0
#: Characters that fit in a node: bold 11 px titles and 9.5 px answers, Helvetica-ish widths.
TITLE_FIT, DETAIL_FIT = 32, 40
GAP_MAIN = 56.0  # between layers
GAP_CROSS = 14.0  # between thoughts of one layer
PAD = 12.0  # inside a nested box
BOX_TITLE = 18.0  # room for a nested box's caption
MARGIN = 16.0
HEADER = 28.0


@dataclass
class _Placed:
    node: ThoughtNode
    x: float
    y: float


@dataclass
class _Box:
    key: str
    label: str
    x: float
    y: float
    w: float
    h: float


@dataclass
class _Link:
    """A nested graph's answer link: from its box to the thought it answers (drawn straight)."""

    source: str
    target: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class _Layout:
    """A graph laid out in its own coordinates (origin top-left), with nested graphs inside."""

    w: float = 0.0
    h: float = 0.0
    nodes: list[_Placed] = field(default_factory=list)
    boxes: list[_Box] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    links: list[_Link] = field(default_factory=list)

    def shifted(self, dx: float, dy: float) -> _Layout:
        return _Layout(
            w=self.w,
            h=self.h,
            nodes=[_Placed(p.node, p.x + dx, p.y + dy) for p in self.nodes],
            boxes=[_Box(b.key, b.label, b.x + dx, b.y + dy, b.w, b.h) for b in self.boxes],
            edges=list(self.edges),
            links=[
                _Link(k.source, k.target, k.x1 + dx, k.y1 + dy, k.x2 + dx, k.y2 + dy)
                for k in self.links
            ],
        )

    def merge(self, other: _Layout) -> None:
        self.nodes += other.nodes
        self.boxes += other.boxes
        self.edges += other.edges
        self.links += other.links


def _columns(graph: ThoughtGraph) -> list[list[ThoughtNode]]:
    """Layers in order, then the final node(s) in a column of their own."""
    nodes = graph.nodes()
    layers = sorted({n.layer for n in nodes if not n.final})
    columns = [[n for n in nodes if n.layer == layer and not n.final] for layer in layers]
    finals = [n for n in nodes if n.final]
    if finals:
        columns.append(finals)
    return columns


def _layout(graph: ThoughtGraph, direction: str, label_chars: int) -> _Layout:
    """Lay out ``graph``; ``main`` runs along the layers, ``cross`` across them.

    Works in (main, cross) coordinates and maps them to (x, y) through ``xy``, so the same code
    serves ``LR`` (main = x, nested boxes below their thought) and ``TB`` (main = y, nested
    boxes to the right of their thought).
    """
    lr = direction == "LR"

    def xy(main: float, cross: float) -> tuple[float, float]:
        return (main, cross) if lr else (cross, main)

    node_main, node_cross = xy(NODE_W, NODE_H)
    out = _Layout()
    main = 0.0
    cross_extent = 0.0
    for column in _columns(graph):
        items: list[tuple[ThoughtNode, _Layout | None, float]] = []
        col_main = node_main
        for node in column:
            sub = graph.subgraphs.get(node.id)
            inner = _layout(sub, direction, label_chars) if sub is not None else None
            item_cross = node_cross
            if inner is not None:
                box_main, box_cross = xy(inner.w + 2 * PAD, inner.h + 2 * PAD + BOX_TITLE)
                col_main = max(col_main, box_main)
                item_cross = node_cross + GAP_CROSS + box_cross
            items.append((node, inner, item_cross))
        cross = 0.0
        for node, inner, item_cross in items:
            nx, ny = xy(main, cross)
            out.nodes.append(_Placed(node, nx, ny))
            if inner is not None:
                bx, by = xy(main, cross + node_cross + GAP_CROSS)
                bw, bh = inner.w + 2 * PAD, inner.h + 2 * PAD + BOX_TITLE
                label = "nested: " + clip(node.title, label_chars)
                out.boxes.append(_Box(node_key(node.id), label, bx, by, bw, bh))
                out.merge(inner.shifted(bx + PAD, by + PAD + BOX_TITLE))
                final_id = graph.subgraphs[node.id].final_id
                if final_id is not None:
                    if lr:  # box below the thought: box top -> thought bottom
                        x = nx + NODE_W / 2
                        link = _Link(final_id, node.id, x, by, x, ny + NODE_H)
                    else:  # box right of the thought: box left -> thought right
                        y = ny + NODE_H / 2
                        link = _Link(final_id, node.id, bx, y, nx + NODE_W, y)
                    out.links.append(link)
            cross += item_cross + GAP_CROSS
        cross_extent = max(cross_extent, cross - GAP_CROSS)
        main += col_main + GAP_MAIN
    out.w, out.h = xy(max(0.0, main - GAP_MAIN), cross_extent)
    out.edges += list(graph.g.edges())
    return out


def _node_svg(p: _Placed, label_chars: int) -> str:
    node = p.node
    fill, border = status_colours(node.status)
    dash = ' stroke-dasharray="4 2"' if node.status == "skipped" else ""
    width = 2.4 if node.complex else 1.2
    tip = node.question or node.title
    if node.answer:
        tip += "\nanswer: " + node.answer
    if node.error:
        tip += "\nerror: " + node.error
    # The box has a fixed width, so labels are clipped to what fits (full text in <desc>).
    title = escape(clip(node_title(node, label_chars), TITLE_FIT))
    detail = escape(clip(node_detail(node, label_chars), DETAIL_FIT))
    cx = p.x + NODE_W / 2
    parts = [
        f'<g class="node status-{node.status}" id={quoteattr(node_key(node.id))}>',
        f"<title>{escape(node_key(node.id))}</title>",
        f"<desc>{escape(clip(tip, 400))}</desc>",
        f'<rect x="{p.x:.1f}" y="{p.y:.1f}" width="{NODE_W:.0f}" height="{NODE_H:.0f}" '
        f'rx="8" fill="{fill}" stroke="{border}" stroke-width="{width}"{dash}/>',
    ]
    if node.final:
        parts.append(
            f'<rect x="{p.x + 3:.1f}" y="{p.y + 3:.1f}" width="{NODE_W - 6:.0f}" '
            f'height="{NODE_H - 6:.0f}" rx="6" fill="none" stroke="{border}"/>'
        )
    parts += [
        f'<text x="{cx:.1f}" y="{p.y + 18:.1f}" text-anchor="middle" font-weight="bold" '
        f'font-size="11">{title}</text>',
        f'<text x="{cx:.1f}" y="{p.y + 34:.1f}" text-anchor="middle" font-size="9.5">'
        f"{detail}</text>",
        "</g>",
    ]
    return "".join(parts)


def _edge_svg(source: _Placed, target: _Placed, direction: str) -> str:
    """A dependency edge: a smooth curve from one thought's exit side to the next's entry."""
    if direction == "LR":
        sx, sy = source.x + NODE_W, source.y + NODE_H / 2
        tx, ty = target.x, target.y + NODE_H / 2
        bend = max(24.0, (tx - sx) / 2)
        c1, c2 = f"{sx + bend:.1f},{sy:.1f}", f"{tx - bend:.1f},{ty:.1f}"
    else:
        sx, sy = source.x + NODE_W / 2, source.y + NODE_H
        tx, ty = target.x + NODE_W / 2, target.y
        bend = max(18.0, (ty - sy) / 2)
        c1, c2 = f"{sx:.1f},{sy + bend:.1f}", f"{tx:.1f},{ty - bend:.1f}"
    name = f"{node_key(source.node.id)}->{node_key(target.node.id)}"
    return (
        f'<g class="edge dep"><title>{escape(name)}</title>'
        f'<path d="M{sx:.1f},{sy:.1f} C{c1} {c2} {tx:.1f},{ty:.1f}" fill="none" '
        'stroke="#78909c" stroke-width="1" marker-end="url(#agot-arrow)"/></g>'
    )


def _link_svg(link: _Link, dx: float, dy: float) -> str:
    name = f"{node_key(link.source)}->{node_key(link.target)}"
    return (
        f'<g class="edge nested"><title>{escape(name)}</title>'
        f'<path d="M{link.x1 + dx:.1f},{link.y1 + dy:.1f} L{link.x2 + dx:.1f},{link.y2 + dy:.1f}" '
        'fill="none" stroke="#5c6bc0" stroke-width="1.2" stroke-dasharray="5 3" '
        'marker-end="url(#agot-arrow-nested)"/></g>'
    )


_LEGEND = (("answered", "answered"), ("failed", "failed"), ("skipped", "skipped (budget)"))


def python_svg(graph: ThoughtGraph, *, direction: str = "LR", label_chars: int = 40) -> str:
    """The fallback SVG: a self-contained layered drawing, no external program needed."""
    layout = _layout(graph, direction, label_chars)
    width = layout.w + 2 * MARGIN
    height = layout.h + 2 * MARGIN + HEADER
    dx, dy = MARGIN, MARGIN + HEADER
    placed = {p.node.id: _Placed(p.node, p.x + dx, p.y + dy) for p in layout.nodes}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'class="agot-graph">',
        "<defs>",
        '<marker id="agot-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#78909c"/></marker>',
        '<marker id="agot-arrow-nested" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path '
        'd="M0,0 L10,5 L0,10 z" fill="#5c6bc0"/></marker>',
        "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="12">'
        f"{escape('Q: ' + clip(graph.question, 100))}</text>",
    ]
    legend_x = width - MARGIN
    for status, text in reversed(_LEGEND):
        fill, border = status_colours(status)
        legend_x -= 6.2 * len(text) + 20
        parts.append(
            f'<rect x="{legend_x:.1f}" y="{MARGIN:.1f}" width="11" height="11" rx="2" '
            f'fill="{fill}" stroke="{border}"/><text x="{legend_x + 14:.1f}" '
            f'y="{MARGIN + 9:.1f}" font-size="10">{escape(text)}</text>'
        )
    for box in layout.boxes:
        parts.append(
            f'<g class="cluster" id={quoteattr("cluster_" + box.key)}>'
            f"<title>{escape('cluster_' + box.key)}</title>"
            f'<rect x="{box.x + dx:.1f}" y="{box.y + dy:.1f}" width="{box.w:.1f}" '
            f'height="{box.h:.1f}" rx="10" fill="#f5f7ff" stroke="#5c6bc0" '
            f'stroke-dasharray="6 3"/><text x="{box.x + dx + 8:.1f}" y="{box.y + dy + 14:.1f}" '
            f'font-size="10.5" fill="#3949ab">{escape(box.label)}</text></g>'
        )
    for source, target in layout.edges:
        if source in placed and target in placed:
            parts.append(_edge_svg(placed[source], placed[target], direction))
    for link in layout.links:
        parts.append(_link_svg(link, dx, dy))
    for p in placed.values():
        parts.append(_node_svg(p, label_chars))
    parts.append("</svg>")
    return "\n".join(parts)
