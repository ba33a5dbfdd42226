"""Mermaid flowchart of a thought graph; nested graphs become subgraphs (clusters).

Ids, colours and label wording come from :mod:`agot.render.style`, shared with DOT and SVG.
"""

from __future__ import annotations

from agot.graph import ThoughtGraph
from agot.render.style import STATUS_COLOURS, node_detail, node_key, node_title, wrap


def _class(status: str) -> str:
    fill, border = STATUS_COLOURS[status]
    dash = ",stroke-dasharray: 4 2" if status == "skipped" else ""
    return f"fill:{fill},stroke:{border}{dash}"


STATUS_CLASS = {status: _class(status) for status in STATUS_COLOURS}


def _label(text: str, width: int = 30, lines: int = 3) -> str:
    safe = text.replace('"', "'").replace("[", "(").replace("]", ")")
    return "<br/>".join(wrap(safe, width, lines))


def _emit(graph: ThoughtGraph, lines: list[str], indent: str) -> None:
    for node in graph.nodes():
        key = node_key(node.id)
        answer = f"<br/>{_label(node_detail(node), 30, 2)}" if node.answer or node.error else ""
        lines.append(f'{indent}{key}["{_label(node_title(node))}{answer}"]:::{node.status}')
        if node.id in graph.subgraphs:
            lines.append(f'{indent}subgraph {key}_g["nested: {_label(node.title, 60, 1)}"]')
            _emit(graph.subgraphs[node.id], lines, indent + "  ")
            lines.append(f"{indent}end")
            lines.append(f"{indent}{key}_g -.-> {key}")
    for source, target in graph.dag.edges():
        lines.append(f"{indent}{node_key(source)} --> {node_key(target)}")


def graph_to_mermaid(graph: ThoughtGraph, *, direction: str = "TD") -> str:
    lines = [f"flowchart {direction}"]
    _emit(graph, lines, "  ")
    lines += [f"  classDef {name} {style}" for name, style in STATUS_CLASS.items()]
    return "\n".join(lines)
