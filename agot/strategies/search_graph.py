"""ThoughtGraph helpers for the search strategies (ToT's tree, AoT's DAGs, best-of-N's fan),
and how their concurrent calls are gathered.

Their graphs are ordinary :class:`~agot.graph.ThoughtGraph` s, so traces, ``agot show``,
``agot view`` and the notebooks draw them like AGoT's. The one difference: AGoT's final node
depends on every thought, a search's on the thoughts its answer came from, so the picture shows
the path that was kept rather than an edge from every pruned branch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from agot.errors import BackendError, BudgetExceeded, SchemaError
from agot.graph import ThoughtGraph, ThoughtNode
from agot.strategies.base import Outcome
from agot.types import Generation

_T = TypeVar("_T")


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
    node = graph.add_final(
        layer=layer,
        question=question,
        parents=parents,
        answer=answer,
        reasoning=reasoning,
        status="answered" if answer is not None else "failed",
    )
    graph.answer = answer
    return node


def finish(
    graph: ThoughtGraph,
    *,
    layer: int,
    question: str,
    answer: str | None,
    parents: Sequence[str],
    raw: str | None,
    details: dict[str, Any],
    errors: list[str],
    stopped: str | None,
) -> Outcome:
    """How a search ends: the final node on the path it kept (``raw``, the reply its answer
    was read from, is the node's reasoning) and the outcome carrying the graph, with ``raw``
    first among the details, as every search strategy reports it."""
    add_final(graph, layer=layer, question=question, answer=answer, parents=parents, reasoning=raw)
    return Outcome(
        answer=answer,
        graph=graph.to_json(),
        details={"raw": raw, **details},
        errors=errors,
        stopped=stopped,
    )


def note_call(node: ThoughtNode, generation: Generation) -> None:
    """Record a finished call on ``node``: its id, its usage and the node's time span."""
    node.call_ids.append(generation.call_id)
    node.usage = node.usage + generation.usage
    node.start = generation.start if node.start is None else min(node.start, generation.start)
    node.end = generation.end if node.end is None else max(node.end, generation.end)


async def gather_calls(
    calls: Sequence[Awaitable[_T]],
    errors: list[str],
    on_budget: Callable[[BudgetExceeded], None],
) -> list[_T | None]:
    """Run ``calls`` concurrently, results in order; a failed or budget-stopped call gives None.

    One failed call (a backend or schema error, recorded in ``errors``) must not end a search
    whose other branches answered. What a budget stop does differs by search, so ``on_budget``
    decides: ToT's BFS notes it and finishes the step, the crossword DFS raises it to unwind.
    Anything else is a bug and is raised.
    """
    results = await asyncio.gather(*calls, return_exceptions=True)
    out: list[_T | None] = []
    for result in results:
        if isinstance(result, BudgetExceeded):
            on_budget(result)
            out.append(None)
        elif isinstance(result, BackendError | SchemaError):
            errors.append(f"{type(result).__name__}: {result}")
            out.append(None)
        elif isinstance(result, BaseException):
            raise result
        else:
            out.append(result)
    return out


__all__ = ["add_final", "finish", "gather_calls", "note_call"]
