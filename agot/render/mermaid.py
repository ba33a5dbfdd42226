"""Mermaid flowchart of a thought graph; nested graphs become subgraphs (clusters)."""

from __future__ import annotations

from agot.text import clip
from agot.graph import ThoughtGraph

STATUS_CLASS = {
    "answered": "fill:#d9f2d9,stroke:#2e7d32",
    "failed": "fill:#f8d7da,stroke:#c62828",
    "skipped": "fill:#eeeeee,stroke:#9e9e9e,stroke-dasharray: 4 2",
    "pending": "fill:#fff8e1,stroke:#f9a825",
    "running": "fill:#fff8e1,stroke:#f9a825",
}


def _mid(node_id: str) -> str:
    return "n_" + node_id.replace(".", "_")


def _label(text: str) -> str:
    return clip(text, 60).replace('"', "'").replace("[", "(").replace("]", ")")


def _emit(graph: ThoughtGraph, lines: list[str], indent: str) -> None:
    for node in graph.nodes():
        answer = f"<br/>= {_label(node.answer)}" if node.answer else ""
        title = "FINAL" if node.final else f"{node.id}. {_label(node.title)}"
        lines.append(f'{indent}{_mid(node.id)}["{title}{answer}"]:::{node.status}')
        if node.id in graph.subgraphs:
            lines.append(f'{indent}subgraph {_mid(node.id)}_g["nested: {_label(node.title)}"]')
            _emit(graph.subgraphs[node.id], lines, indent + "  ")
            lines.append(f"{indent}end")
            lines.append(f"{indent}{_mid(node.id)}_g -.-> {_mid(node.id)}")
    for source, target in graph.g.edges():
        lines.append(f"{indent}{_mid(source)} --> {_mid(target)}")


def graph_to_mermaid(graph: ThoughtGraph, *, direction: str = "TD") -> str:
    lines = [f"flowchart {direction}"]
    _emit(graph, lines, "  ")
    lines += [f"  classDef {name} {style}" for name, style in STATUS_CLASS.items()]
    return "\n".join(lines)
