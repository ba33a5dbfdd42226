"""How a graph, its heritage and known answers are written into AGoT prompts.

Long texts are clipped so prompts grow with the number of thoughts, not with the length of
each model reply; the backend still guards the context window as a last resort.
"""

from __future__ import annotations

from agot.graph import ThoughtGraph, ThoughtNode
from agot.text import clip as _clip

CLIP = 400


def clip(text: str | None, limit: int = CLIP) -> str:
    return _clip(text, limit)


def node_answer_text(node: ThoughtNode) -> str:
    if node.status == "answered" and node.answer is not None:
        return clip(node.answer)
    if node.status == "failed":
        return "(failed: no answer available)"
    if node.status == "skipped":
        return "(skipped: budget exhausted)"
    return "(not answered yet)"


def graph_text(graph: ThoughtGraph) -> str:
    lines = []
    for layer in range(graph.layers):
        strategy = graph.strategies.get(layer)
        lines.append(f"Layer {layer}" + (f" (strategy: {clip(strategy, 200)})" if strategy else ""))
        for node in graph.layer(layer):
            parents = sorted(p.local for p in graph.parents(node.id))
            built_on = f" [builds on {', '.join(map(str, parents))}]" if parents else ""
            lines.append(f"  {node.local}. {clip(node.title, 80)}{built_on}: {clip(node.question)}")
            lines.append(f"     answer: {node_answer_text(node)}")
    return "\n".join(lines) if lines else "(empty)"


def known_text(nodes: list[ThoughtNode]) -> str:
    """Answers of the thoughts a node builds on, as a block for its prompt."""
    if not nodes:
        return ""
    rows = [f"- {clip(n.title, 80)}: {node_answer_text(n)}" for n in nodes]
    return "Known so far:\n" + "\n".join(rows) + "\n\n"


def heritage_text(background: str, heritage: list[str]) -> str:
    """Context passages plus the chain of questions this graph is a part of."""
    out = background
    if heritage:
        chain = " > ".join(clip(q, 200) for q in heritage)
        out += f"This is a sub-problem within: {chain}\n\n"
    return out
