"""SVG of a thought graph: Graphviz's ``dot`` when installed, a pure-Python layout otherwise.

Why two paths: ``dot`` (Debian package ``graphviz``) draws the best pictures, but a notebook or
CI machine without it must still show the graph, so the fallback draws the layout of
:mod:`agot.render.layout` (layers as columns or rows, nested graphs in dashed boxes next to
their thought, edges routed around boxes). Both outputs carry the same ids (``n_<id>`` per
node, ``n_<a>->n_<b>`` per edge in ``<title>``, ``cluster_n_<id>`` per nested box) and both
have a legend, so tests and tools can check either one.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from xml.sax.saxutils import escape, quoteattr

from agot.graph import ThoughtGraph
from agot.render.dot import graph_to_dot
from agot.render.layout import Layout, Placed, Route, layout
from agot.render.style import (
    DIRECTIONS,
    EDGE_COLOUR,
    LEGEND_MARKS,
    LEGEND_STATUSES,
    NESTED_COLOUR,
    NESTED_FILL,
    NESTED_TEXT,
    cluster_key,
    node_key,
    status_colours,
    wrap,
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


def dot_render(source: str, fmt: str) -> bytes:
    """Run Graphviz ``dot -T<fmt>`` on DOT ``source`` (ConfigError when it is missing)."""
    from agot.errors import ConfigError

    if not has_dot():
        raise ConfigError(f"writing {fmt} needs Graphviz 'dot': apt-get install graphviz")
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}"], input=source.encode(), capture_output=True, check=True, timeout=60
        )
    except subprocess.CalledProcessError as exc:
        raise ConfigError(f"Graphviz 'dot' failed: {exc.stderr.decode()[:200]}") from None
    return done.stdout


def dot_svg(source: str) -> str:
    """Run ``dot -Tsvg`` on DOT ``source``."""
    done = subprocess.run(
        ["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True, timeout=60
    )
    svg = done.stdout.decode("utf-8")
    # Drop the XML prolog and DOCTYPE so the SVG can be inlined into HTML.
    start = svg.find("<svg")
    return svg[start:] if start > 0 else svg


# -- drawing the built-in layout -----------------------------------------------------------------

MARGIN = 16.0
HEADER = 46.0  # the question line and the legend line


def _node_svg(p: Placed) -> str:
    node = p.node
    fill, border = status_colours(node.status)
    dash = ' stroke-dasharray="4 2"' if node.status == "skipped" else ""
    width = 2.6 if node.complex else 1.2
    tip = node.question or node.title
    if node.answer:
        tip += "\nanswer: " + node.answer
    if node.error:
        tip += "\nerror: " + node.error
    cx = p.x + p.w / 2
    parts = [
        f'<g class="node status-{node.status}" id={quoteattr(node_key(node.id))}>',
        f"<title>{escape(node_key(node.id))}</title>",
        f"<desc>{escape(tip[:2000])}</desc>",
        f'<rect x="{p.x:.1f}" y="{p.y:.1f}" width="{p.w:.0f}" height="{p.h:.0f}" '
        f'rx="8" fill="{fill}" stroke="{border}" stroke-width="{width}"{dash}/>',
    ]
    if node.final:
        parts.append(
            f'<rect x="{p.x + 3:.1f}" y="{p.y + 3:.1f}" width="{p.w - 6:.0f}" '
            f'height="{p.h - 6:.0f}" rx="6" fill="none" stroke="{border}"/>'
        )
    y = p.y + 8 + 11
    for line in p.title:
        parts.append(
            f'<text x="{cx:.1f}" y="{y:.1f}" text-anchor="middle" font-weight="bold" '
            f'font-size="11">{escape(line)}</text>'
        )
        y += 14
    y -= 1
    for line in p.detail:
        parts.append(
            f'<text x="{cx:.1f}" y="{y:.1f}" text-anchor="middle" font-size="9.5">'
            f"{escape(line)}</text>"
        )
        y += 12
    parts.append("</g>")
    return "".join(parts)


def _path(route: Route, direction: str, dx: float, dy: float) -> str:
    """SVG path data of a routed edge; bends leave and enter along the layer axis."""
    (x0, y0) = route.pieces[0][1]
    out = [f"M{x0 + dx:.1f},{y0 + dy:.1f}"]
    for kind, (ax, ay), (bx, by) in route.pieces:
        ax, ay, bx, by = ax + dx, ay + dy, bx + dx, by + dy
        if kind == "L":
            out.append(f"L{bx:.1f},{by:.1f}")
        elif direction == "LR":
            bend = (bx - ax) / 2
            out.append(f"C{ax + bend:.1f},{ay:.1f} {bx - bend:.1f},{by:.1f} {bx:.1f},{by:.1f}")
        else:
            bend = (by - ay) / 2
            out.append(f"C{ax:.1f},{ay + bend:.1f} {bx:.1f},{by - bend:.1f} {bx:.1f},{by:.1f}")
    return " ".join(out)


def _edge_svg(route: Route, direction: str, dx: float, dy: float) -> str:
    name = f"{node_key(route.source)}->{node_key(route.target)}"
    if route.nested:
        style = (
            f'stroke="{NESTED_COLOUR}" stroke-width="1.2" stroke-dasharray="5 3" '
            'marker-end="url(#agot-arrow-nested)"'
        )
        kind = "edge nested"
    else:
        style = f'stroke="{EDGE_COLOUR}" stroke-width="1" marker-end="url(#agot-arrow)"'
        kind = "edge dep"
    return (
        f'<g class="{kind}"><title>{escape(name)}</title>'
        f'<path d="{_path(route, direction, dx, dy)}" fill="none" {style}/></g>'
    )


def _legend(x: float, y: float) -> tuple[list[str], float]:
    """Legend swatches from ``(x, y)`` rightwards; returns the elements and the end x."""
    parts = ['<g class="legend">']
    for status, text in LEGEND_STATUSES:
        fill, border = status_colours(status)
        dash = ' stroke-dasharray="3 2"' if status == "skipped" else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" fill="{fill}" '
            f'stroke="{border}"{dash}/><text x="{x + 16:.1f}" y="{y + 10:.1f}" '
            f'font-size="10">{escape(text)}</text>'
        )
        x += 16 + 5.6 * len(text) + 14
    green = status_colours("answered")[1]
    for mark, text in LEGEND_MARKS:
        if mark == "complex":
            swatch = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" fill="white" '
                f'stroke="{green}" stroke-width="2.6"/>'
            )
        elif mark == "final":
            swatch = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" fill="white" '
                f'stroke="{green}"/><rect x="{x + 2.5:.1f}" y="{y + 2.5:.1f}" width="7" '
                f'height="7" rx="1" fill="none" stroke="{green}"/>'
            )
        else:
            swatch = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" '
                f'fill="{NESTED_FILL}" stroke="{NESTED_COLOUR}" stroke-dasharray="3 2"/>'
            )
        parts.append(
            f'{swatch}<text x="{x + 16:.1f}" y="{y + 10:.1f}" font-size="10">{escape(text)}</text>'
        )
        x += 16 + 5.6 * len(text) + 14
    parts.append("</g>")
    return parts, x


def python_svg(graph: ThoughtGraph, *, direction: str = "LR", label_chars: int = 40) -> str:
    """The fallback SVG: a self-contained layered drawing, no external program needed."""
    laid: Layout = layout(graph, direction, label_chars)
    legend, legend_end = _legend(MARGIN, MARGIN + 20)
    width = max(laid.w + 2 * MARGIN, legend_end + MARGIN)
    height = laid.h + 2 * MARGIN + HEADER
    dx, dy = MARGIN, MARGIN + HEADER
    question = wrap("Q: " + graph.question, max(40, int((width - 2 * MARGIN) / 6.6)), 1)[0]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'class="agot-graph">',
        "<defs>",
        '<marker id="agot-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{EDGE_COLOUR}"/></marker>',
        '<marker id="agot-arrow-nested" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path '
        f'd="M0,0 L10,5 L0,10 z" fill="{NESTED_COLOUR}"/></marker>',
        "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="12">{escape(question)}</text>',
        *legend,
    ]
    for box in laid.boxes:
        key = cluster_key(box.key)
        parts.append(
            f'<g class="cluster" id={quoteattr(key)}><title>{escape(key)}</title>'
            f'<rect x="{box.x + dx:.1f}" y="{box.y + dy:.1f}" width="{box.w:.1f}" '
            f'height="{box.h:.1f}" rx="10" fill="{NESTED_FILL}" stroke="{NESTED_COLOUR}" '
            f'stroke-dasharray="6 3"/><text x="{box.x + dx + 8:.1f}" y="{box.y + dy + 14:.1f}" '
            f'font-size="10.5" fill="{NESTED_TEXT}">{escape(box.label)}</text></g>'
        )
    for route in laid.routes:
        parts.append(_edge_svg(route, direction, dx, dy))
    for p in laid.nodes:
        parts.append(_node_svg(Placed(p.node, p.x + dx, p.y + dy, p.w, p.h, p.title, p.detail)))
    parts += _layer_labels(graph, laid, direction, dx, dy)
    parts.append("</svg>")
    return "\n".join(parts)


def _layer_labels(
    graph: ThoughtGraph, laid: Layout, direction: str, dx: float, dy: float
) -> list[str]:
    """A "layer N" heading over each column of the top graph, as ``dot`` draws them (``LR``
    only: in ``TB`` the layers are rows, one under the other, and need none)."""
    if direction != "LR":
        return []
    out = []
    where = {p.node.id: p for p in laid.nodes}
    for layer in sorted({n.layer for n in graph.nodes() if not n.final}):
        placed = [where[n.id] for n in graph.layer(layer) if n.id in where]
        if placed:
            x = min(p.x for p in placed) + dx + 4
            out.append(
                f'<text class="layer-label" x="{x:.1f}" y="{dy - 4:.1f}" font-size="10" '
                f'fill="#616161">layer {layer}</text>'
            )
    return out
