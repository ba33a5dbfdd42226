"""Typed events of a run as it happens: what ``async for event in strategy.stream(q)`` gives.

A UI draws a run from these without reading traces: thoughts as they are proposed, assessed
and answered, nested graphs as they open, the final answer's text as the model writes it, and
the finished :class:`~agot.result.Result` last. Strategies emit them through :func:`emit`,
which does nothing unless a :meth:`~agot.strategies.base.Strategy.stream` is listening (the
sink is a context variable, so concurrent runs never mix their events).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from agot.result import Result


@dataclass(frozen=True)
class ThoughtEvent:
    """Something happened to thought ``node_id`` (``"2.1"``: thought 1 of 2's nested graph)."""

    node_id: str


@dataclass(frozen=True)
class ThoughtProposed(ThoughtEvent):
    """A thought was read from a proposal (perhaps while the proposal was still written)."""

    layer: int
    title: str
    content: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class ThoughtAssessed(ThoughtEvent):
    """A thought's complexity verdict: ``complex`` ones get a nested graph."""

    complex: bool
    justification: str


@dataclass(frozen=True)
class ThoughtAnswered(ThoughtEvent):
    """A thought has its answer (directly, or from its nested graph)."""

    answer: str


@dataclass(frozen=True)
class NestedGraphOpened(ThoughtEvent):
    """A complex thought opened a nested graph (its thoughts' ids start with ``prefix``)."""

    prefix: str
    question: str


@dataclass(frozen=True)
class FinalTextDelta:
    """A piece of the final answer's text as the model writes it."""

    text: str


@dataclass(frozen=True)
class Done:
    """The run is over; ``result`` is what ``solve()`` would have returned."""

    result: Result


StrategyEvent = Union[  # noqa: UP007 (a runtime alias; `|` on a forward ref fails)
    ThoughtProposed, ThoughtAssessed, ThoughtAnswered, NestedGraphOpened, FinalTextDelta, Done
]

#: The listener of the current run's events, set by ``Strategy.stream``.
event_sink: contextvars.ContextVar[Callable[[StrategyEvent], None] | None] = contextvars.ContextVar(
    "agot_event_sink", default=None
)


def emit(event: StrategyEvent) -> None:
    """Hand ``event`` to the current run's listener, if any."""
    sink = event_sink.get()
    if sink is not None:
        sink(event)
