"""Plain-text rendering of a thought graph: an indented outline, nested graphs indented further."""

from __future__ import annotations

from agot.graph import ThoughtGraph
from agot.text import clip

_MARK = {"answered": "✓", "failed": "✗", "skipped": "–", "pending": "·", "running": "…"}


def graph_to_text(graph: ThoughtGraph, *, indent: str = "", width: int = 100) -> str:
    lines = [] if indent else [f"Q: {clip(graph.question, width)}"]
    for layer in range(graph.layers + 1):
        nodes = [n for n in graph.nodes() if n.layer == layer]
        if not nodes:
            continue
        strategy = graph.strategies.get(layer)
        if not all(n.final for n in nodes):
            lines.append(
                f"{indent}layer {layer}" + (f": {clip(strategy, width)}" if strategy else "")
            )
        for node in nodes:
            parents = [p.local for p in graph.parents(node.id) if not node.final]
            deps = f" ← {', '.join(map(str, sorted(parents)))}" if parents else ""
            flag = " [complex]" if node.complex else ""
            label = "FINAL" if node.final else f"{node.id}"
            mark = _MARK.get(node.status, "?")
            lines.append(f"{indent}  {mark} {label} {clip(node.title, 60)}{flag}{deps}")
            if node.answer is not None:
                lines.append(f"{indent}      = {clip(node.answer, width)}")
            elif node.error:
                lines.append(f"{indent}      ! {clip(node.error, width)}")
            if node.id in graph.subgraphs:
                lines.append(graph_to_text(graph.subgraphs[node.id], indent=indent + "      "))
    return "\n".join(lines)
