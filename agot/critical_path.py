"""Critical path and parallelism of a run, computed from its trace events alone.

Each event carries ``depends_on`` (the calls whose outputs its prompt used), so the calls form a
DAG. The critical path is the longest chain through it weighted by call durations: no schedule,
however parallel, can finish sooner. Discarded calls (speculative calls that lost) are left out:
nothing used their output. An input read before its call ended (``inputs_at``) counts from
then. ``parallelism`` is total call time over wall time.
"""

from __future__ import annotations

from collections.abc import Sequence

from agot.trace import TraceEvent


def critical_path(events: Sequence[TraceEvent]) -> tuple[float, list[str]]:
    """(length in seconds, call ids along it) of the longest dependency chain."""
    events = [e for e in events if not e.discarded]
    by_id = {e.call_id: e for e in events}
    best: dict[str, tuple[float, str | None]] = {}
    for event in _in_dependency_order(events):
        prior = [(best[d][0] - _early(by_id[d], event), d) for d in event.depends_on if d in best]
        length, via = max(prior, default=(0.0, None))
        best[event.call_id] = (length + event.duration, via)
    if not best:
        return 0.0, []
    tail = max(best, key=lambda k: best[k][0])
    path: list[str] = []
    cursor: str | None = tail
    while cursor is not None:
        path.append(cursor)
        cursor = best[cursor][1]
    return best[tail][0], [by_id[c].call_id for c in reversed(path)]


def _in_dependency_order(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """``events`` with every call after the calls it depends on (by start time otherwise): a
    call that read a streaming proposal's thought started before that proposal ended."""
    by_id = {e.call_id: e for e in events}
    placed: set[str] = set()
    order: list[TraceEvent] = []
    for first in sorted(events, key=lambda e: e.start):
        stack = [(first, False)]
        while stack:
            event, expanded = stack.pop()
            if event.call_id in placed:
                continue
            if expanded:
                placed.add(event.call_id)
                order.append(event)
                continue
            stack.append((event, True))
            for dep in event.depends_on:
                if dep in by_id and dep not in placed and dep != event.call_id:
                    stack.append((by_id[dep], False))
    return order


def _early(dependency: TraceEvent, event: TraceEvent) -> float:
    """How long before ``dependency`` ended ``event`` could read its output (a thought read
    from a streaming proposal); 0 for an output read at the end."""
    at = event.inputs_at.get(dependency.call_id)
    return 0.0 if at is None else max(0.0, min(dependency.duration, dependency.end - at))


def span(events: Sequence[TraceEvent]) -> float:
    """Wall time from the first call's start to the last call's end."""
    if not events:
        return 0.0
    return max(e.end for e in events) - min(e.start for e in events)


def parallelism(events: Sequence[TraceEvent]) -> float:
    """Sum of call durations over the wall-time span (1.0 = strictly sequential)."""
    wall = span(events)
    return sum(e.duration for e in events) / wall if wall > 0 else 0.0


def longest_chain(events: Sequence[TraceEvent]) -> int:
    """Calls on the longest dependency chain, counted (not timed): how many calls must run one
    after another whatever the latency. Discarded calls are left out, as in the critical path."""
    depth: dict[str, int] = {}
    for event in _in_dependency_order([e for e in events if not e.discarded]):
        depth[event.call_id] = 1 + max((depth.get(d, 0) for d in event.depends_on), default=0)
    return max(depth.values(), default=0)
