"""Renderings of thought graphs and runs: text outline, Mermaid, Graphviz DOT, SVG, timeline.

``graph_to_svg`` uses Graphviz's ``dot`` when installed and a built-in layout otherwise;
``plot_timeline`` needs matplotlib (imported when called).
"""

from agot.render.dot import graph_to_dot
from agot.render.mermaid import graph_to_mermaid
from agot.render.svg import graph_to_svg, has_dot
from agot.render.text import graph_to_text
from agot.render.timeline import assign_lanes, plot_timeline

__all__ = [
    "assign_lanes",
    "graph_to_dot",
    "graph_to_mermaid",
    "graph_to_svg",
    "graph_to_text",
    "has_dot",
    "plot_timeline",
]
