"""Rich display of graphs and results in Jupyter (``_repr_svg_``, ``_repr_html_``).

Why here and not on the classes: rendering pulls in the SVG layout (and maybe Graphviz), which
the core must not import at load time; :class:`~agot.graph.ThoughtGraph` and
:class:`~agot.result.Result` delegate to these functions lazily. The HTML is self-contained (no
scripts, no external assets), so it survives ``nbconvert`` to HTML and GitHub's notebook viewer.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agot.graph import ThoughtGraph
    from agot.result import Result

#: Graphs wider than this scroll inside their output cell instead of shrinking to unreadable.
MAX_HEIGHT_PX = 720


def graph_svg(graph: ThoughtGraph, **options: Any) -> str:
    """The SVG of ``graph`` (Graphviz when installed, else the built-in layout)."""
    from agot.render.svg import graph_to_svg

    return graph_to_svg(graph, **options)


def wrap_svg(svg: str) -> str:
    """An SVG inside a scrolling box, for HTML output cells."""
    return (
        f'<div class="agot-graph" style="overflow:auto; max-height:{MAX_HEIGHT_PX}px; '
        f'border:1px solid #e0e0e0; padding:4px">{svg}</div>'
    )


def graph_html(graph: ThoughtGraph, **options: Any) -> str:
    return wrap_svg(graph_svg(graph, **options))


def graph_mimebundle(graph: ThoughtGraph) -> dict[str, str]:
    """SVG and HTML from one rendering (IPython asks for every format it knows)."""
    svg = graph_svg(graph)
    return {"image/svg+xml": svg, "text/html": wrap_svg(svg)}


def _row(name: str, value: Any) -> str:
    return (
        f'<tr><th style="text-align:left; padding-right:1em">{escape(name)}</th>'
        f'<td style="text-align:left">{escape(str(value))}</td></tr>'
    )


def result_html(result: Result, *, graph: bool = True) -> str:
    """Answer, usage, timing figures and (for graph strategies) the thought graph."""
    from agot.critical_path import critical_path, parallelism, span

    u = result.usage
    rows = [
        _row("question", result.question),
        _row("answer", result.answer if result.answer is not None else "(none)"),
        _row("strategy / model", f"{result.strategy} / {result.model}"),
        _row(
            "usage",
            f"{u.calls} calls ({u.cached_calls} cached"
            + (f", {u.cancelled} more cancelled in flight" if u.cancelled else "")
            + f"), {u.prompt_tokens} prompt + "
            f"{u.completion_tokens} completion tokens"
            + (f", cost ${u.cost:.4f}" if u.cost else ""),
        ),
    ]
    if result.events:
        cp, path = critical_path(result.events)
        rows.append(
            _row(
                "timing",
                f"wall {result.wall_s:.2f}s, calls span {span(result.events):.2f}s, critical "
                f"path {cp:.2f}s ({len(path)} calls), parallelism "
                f"{parallelism(result.events):.2f}",
            )
        )
    if result.stopped:
        rows.append(_row("stopped (partial answer)", result.stopped))
    if result.error:
        rows.append(_row("error", result.error))
    if result.errors:
        rows.append(_row("errors", "; ".join(result.errors[:5])))
    parts = ['<div class="agot-result">', "<table>", *rows, "</table>"]
    thought_graph = result.thought_graph() if graph else None
    if thought_graph is not None:
        parts.append(graph_html(thought_graph))
    parts.append("</div>")
    return "\n".join(parts)
