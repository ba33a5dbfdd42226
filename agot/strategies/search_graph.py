"""ThoughtGraph helpers for the search strategies (ToT's tree, AoT's DAGs, best-of-N's fan).

Their graphs are ordinary :class:`~agot.graph.ThoughtGraph` s, so traces, ``agot show``,
``agot view`` and the notebooks draw them like AGoT's. The one difference: AGoT's final node
depends on every thought, a search's on the thoughts its answer came from, so the picture shows
the path that was kept rather than an edge from every pruned branch.
"""

from __future__ import annotations

from collections.abc import Sequence

from agot.graph import ThoughtGraph, ThoughtNode
from agot.types import Generation


def add_final(
    graph: ThoughtGraph,
    *,
    layer: int,
    question: str,
    answer: str | None,
    parents: Sequence[str],
    reasoning: str | None = None,
) -> ThoughtNode:
    """The graph's final node, depending on ``parents`` only; sets the graph's answer."""
    node = ThoughtNode(
        id=graph._id("final"),
        local=0,
        layer=layer,
        depth=graph.depth,
        title="Final answer",
        question=question,
        answer=answer,
        reasoning=reasoning,
        final=True,
        status="answered" if answer is not None else "failed",
    )
    graph.dag.add_node(node.id, node=node)
    for parent in parents:
        graph.dag.add_edge(parent, node.id)
    graph.final_id, graph.answer = node.id, answer
    return node


def note_call(node: ThoughtNode, generation: Generation) -> None:
    """Record a finished call on ``node``: its id, its usage and the node's time span."""
    node.call_ids.append(generation.call_id)
    node.usage = node.usage + generation.usage
    node.start = generation.start if node.start is None else min(node.start, generation.start)
    node.end = generation.end if node.end is None else max(node.end, generation.end)


__all__ = ["add_final", "note_call"]
