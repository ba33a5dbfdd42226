"""Renderings of thought graphs: text outline, Mermaid (and more formats as they land)."""

from agot.render.mermaid import graph_to_mermaid
from agot.render.text import graph_to_text

__all__ = ["graph_to_mermaid", "graph_to_text"]
