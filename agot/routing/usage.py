"""Usage broken down by model and by role, from a run's trace events."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from agot.trace import TraceEvent
from agot.types import Usage


def usage_by(events: Iterable[TraceEvent], key: Callable[[TraceEvent], str]) -> dict[str, Usage]:
    """Sum each event's tokens and cost under ``key(event)``; one call per dispatched request."""
    out: dict[str, Usage] = {}
    for event in events:
        name = key(event)
        out[name] = out.get(name, Usage()) + Usage(
            calls=1,
            attempts=event.attempts,
            prompt_tokens=0 if event.cached else event.prompt_tokens,
            completion_tokens=0 if event.cached else event.completion_tokens,
            cost=event.cost,
            cached_calls=int(event.cached),
        )
    return out


def usage_by_model(events: Iterable[TraceEvent]) -> dict[str, Usage]:
    return usage_by(events, lambda e: e.model)


def usage_by_role(events: Iterable[TraceEvent]) -> dict[str, Usage]:
    return usage_by(events, lambda e: e.role)
