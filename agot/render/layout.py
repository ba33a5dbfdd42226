"""The built-in layered layout of a thought graph, with edges routed around the boxes.

Each AGoT layer is a column (``LR``) or a row (``TB``); the final answer comes after the last
layer; a complex thought's nested graph is laid out recursively in a box right next to its
thought (below it in ``LR``, to its right in ``TB``). Boxes grow with their wrapped labels.

Edges never cross a box: an edge leaves its thought on the exit side, bends only inside the
empty gap between two columns, and crosses an intermediate column only along a free lane (the
space between two thoughts of that column, or past its last one). Everything is computed in
(main, cross) coordinates, ``main`` running along the layers, and mapped to (x, y) at the end,
so one piece of code serves both directions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agot.graph import ThoughtGraph, ThoughtNode
from agot.render.style import DETAIL_LINES, TITLE_LINES, clip, node_detail, node_title, wrap

NODE_W = 230.0
#: Characters per label line that fit a node: bold 11 px titles, 9.5 px answers.
TITLE_FIT, DETAIL_FIT = 32, 42
TITLE_LH, DETAIL_LH = 14.0, 12.0
NODE_PAD = 8.0
GAP_MAIN = 56.0  # between layers
GAP_CROSS = 14.0  # between thoughts of one layer
PAD = 12.0  # inside a nested box
BOX_TITLE = 18.0  # room for a nested box's caption


@dataclass
class Placed:
    node: ThoughtNode
    x: float
    y: float
    w: float
    h: float
    title: list[str]
    detail: list[str]


@dataclass
class Box:
    key: str
    label: str
    x: float
    y: float
    w: float
    h: float


#: A routed edge: ``(kind, (x1, y1), (x2, y2))`` pieces, ``kind`` ``"L"`` (straight) or ``"C"``
#: (a bend inside a gap, drawn as a curve leaving and entering along the main axis).
Piece = tuple[str, tuple[float, float], tuple[float, float]]


@dataclass
class Route:
    source: str
    target: str
    pieces: list[Piece]
    nested: bool = False


@dataclass
class Layout:
    """A graph laid out in its own coordinates (origin top-left), nested graphs included."""

    w: float = 0.0
    h: float = 0.0
    nodes: list[Placed] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def shifted(self, dx: float, dy: float) -> Layout:
        def move(p: tuple[float, float]) -> tuple[float, float]:
            return (p[0] + dx, p[1] + dy)

        return Layout(
            w=self.w,
            h=self.h,
            nodes=[
                Placed(p.node, p.x + dx, p.y + dy, p.w, p.h, p.title, p.detail) for p in self.nodes
            ],
            boxes=[Box(b.key, b.label, b.x + dx, b.y + dy, b.w, b.h) for b in self.boxes],
            routes=[
                Route(r.source, r.target, [(k, move(a), move(b)) for k, a, b in r.pieces], r.nested)
                for r in self.routes
            ],
        )

    def merge(self, other: Layout) -> None:
        self.nodes += other.nodes
        self.boxes += other.boxes
        self.routes += other.routes


def node_size(node: ThoughtNode) -> tuple[float, float, list[str], list[str]]:
    """(width, height, title lines, detail lines) of a thought's box."""
    title = wrap(node_title(node), TITLE_FIT, TITLE_LINES)
    detail = wrap(node_detail(node), DETAIL_FIT, DETAIL_LINES)
    h = 2 * NODE_PAD + TITLE_LH * len(title) + DETAIL_LH * len(detail)
    return NODE_W, h, title, detail


def columns(graph: ThoughtGraph) -> list[list[ThoughtNode]]:
    """Layers in order (thoughts in their natural order), then the final node(s)."""
    nodes = graph.nodes()
    layers = sorted({n.layer for n in nodes if not n.final})
    cols = [[n for n in nodes if n.layer == layer and not n.final] for layer in layers]
    finals = [n for n in nodes if n.final]
    if finals:
        cols.append(finals)
    return cols


@dataclass
class _Column:
    start: float  # main coordinate where the column begins
    size: float  # its extent along main
    spans: list[tuple[float, float]]  # occupied (lo, hi) cross intervals, one per thought item


def layout(graph: ThoughtGraph, direction: str, label_chars: int = 40) -> Layout:
    """Lay out ``graph`` along ``direction`` (``LR``: main = x; ``TB``: main = y)."""
    lr = direction == "LR"

    def xy(main: float, cross: float) -> tuple[float, float]:
        return (main, cross) if lr else (cross, main)

    out = Layout()
    where: dict[str, tuple[int, float, float, float]] = {}  # id -> (column, cross lo, hi, exit)
    cols: list[_Column] = []
    main = 0.0
    cross_extent = 0.0
    for index, column in enumerate(columns(graph)):
        items = []
        col_main = 0.0
        for node in column:
            w, h, title, detail = node_size(node)
            n_main, n_cross = xy(w, h)
            sub = graph.subgraphs.get(node.id)
            inner = layout(sub, direction, label_chars) if sub is not None else None
            item_cross = n_cross
            col_main = max(col_main, n_main)
            if inner is not None:
                box_main, box_cross = xy(inner.w + 2 * PAD, inner.h + 2 * PAD + BOX_TITLE)
                col_main = max(col_main, box_main)
                item_cross = n_cross + GAP_CROSS + box_cross
            items.append((node, inner, w, h, title, detail, n_main, n_cross, item_cross))
        cross = 0.0
        spans = []
        for node, inner, w, h, title, detail, n_main, n_cross, item_cross in items:
            nx, ny = xy(main, cross)
            out.nodes.append(Placed(node, nx, ny, w, h, title, detail))
            where[node.id] = (index, cross, cross + n_cross, main + n_main)
            spans.append((cross, cross + item_cross))
            if inner is not None:
                bx, by = xy(main, cross + n_cross + GAP_CROSS)
                bw, bh = inner.w + 2 * PAD, inner.h + 2 * PAD + BOX_TITLE
                label = "nested: " + clip(node.title, label_chars)
                out.boxes.append(Box(node.id, label, bx, by, bw, bh))
                out.merge(inner.shifted(bx + PAD, by + PAD + BOX_TITLE))
                final_id = graph.subgraphs[node.id].final_id
                if final_id is not None:
                    # The box sits right after its thought across the layers: a short straight
                    # link from the box's edge to the thought's.
                    mid = main + n_main / 2
                    a = xy(mid, cross + n_cross + GAP_CROSS)
                    b = xy(mid, cross + n_cross)
                    out.routes.append(Route(final_id, node.id, [("L", a, b)], nested=True))
            cross += item_cross + GAP_CROSS
        cols.append(_Column(main, col_main, spans))
        cross_extent = max(cross_extent, cross - GAP_CROSS)
        main += col_main + GAP_MAIN
    total_main = max(0.0, main - GAP_MAIN)
    lanes_extent = cross_extent
    for source, target in graph.dag.edges():
        if source not in where or target not in where:
            continue
        pieces, reach = _route(where[source], where[target], cols, xy)
        lanes_extent = max(lanes_extent, reach)
        out.routes.append(Route(source, target, pieces))
    out.w, out.h = xy(total_main, lanes_extent)
    return out


def _free_lane(spans: list[tuple[float, float]], want: float) -> float:
    """The cross coordinate nearest ``want`` that no thought of a column occupies."""
    margin = min(4.0, GAP_CROSS / 3)
    free: list[tuple[float, float]] = []
    previous = None
    for lo, hi in sorted(spans):
        if previous is not None and lo - previous > 2 * margin:
            free.append((previous + margin, lo - margin))
        previous = hi if previous is None else max(previous, hi)
    end = (previous or 0.0) + GAP_CROSS / 2
    free.append((end, end + 10 * GAP_CROSS))
    if not spans:
        return want
    return min(
        (min(max(want, lo), hi) for lo, hi in free), key=lambda lane: (abs(lane - want), lane)
    )


def _route(
    source: tuple[int, float, float, float],
    target: tuple[int, float, float, float],
    cols: list[_Column],
    to_xy: Callable[[float, float], tuple[float, float]],
) -> tuple[list[Piece], float]:
    """Pieces of the edge from ``source`` to ``target`` and how far across it reaches."""
    s_col, s_lo, s_hi, s_exit = source
    t_col, t_lo, t_hi, _ = target
    s_mid, t_mid = (s_lo + s_hi) / 2, (t_lo + t_hi) / 2
    pieces: list[Piece] = []
    reach = max(s_mid, t_mid)
    if t_col <= s_col:  # not a forward edge (never made by AGoT): draw it straight
        start = to_xy(s_exit, s_mid)
        end = to_xy(cols[t_col].start, t_mid)
        return [("C", start, end)], reach
    here = (s_exit, s_mid)
    column_end = cols[s_col].start + cols[s_col].size
    if column_end > s_exit:  # leave the (wider) source column along the thought's own line
        pieces.append(("L", to_xy(*here), to_xy(column_end, s_mid)))
        here = (column_end, s_mid)
    steps = t_col - s_col
    for k in range(s_col + 1, t_col):
        share = (k - s_col) / steps
        lane = _free_lane(cols[k].spans, s_mid + (t_mid - s_mid) * share)
        reach = max(reach, lane)
        entry = (cols[k].start, lane)
        pieces.append(("C", to_xy(*here), to_xy(*entry)))
        leave = (cols[k].start + cols[k].size, lane)
        pieces.append(("L", to_xy(*entry), to_xy(*leave)))
        here = leave
    pieces.append(("C", to_xy(*here), to_xy(cols[t_col].start, t_mid)))
    return pieces, reach
