"""Budgets: hard limits on what a run (or a whole dispatcher) may spend.

The dispatcher checks the budget before every call and raises
:class:`~agot.errors.BudgetExceeded` with the reason; strategies catch it and return a partial
result. Structural limits (nodes, depth) are enforced by the AGoT controller, which reads them
from the same object so one budget describes a run completely.
"""

from __future__ import annotations

import time

from pydantic import Field

from agot.config import Settings
from agot.errors import BudgetExceeded
from agot.types import Usage


class Budget(Settings):
    """Limits for a run; ``None`` means unlimited. Zero or negative values are errors."""

    max_calls: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_cost: float | None = Field(None, gt=0)
    max_wall_s: float | None = Field(None, gt=0)
    max_nodes: int | None = Field(None, ge=1)
    max_depth: int | None = Field(None, ge=0)


class BudgetTracker:
    """Running totals against a :class:`Budget`.

    Usage is only known when a call finishes, but strategies start many calls at once (five
    self-consistency samples, a layer of AGoT nodes); counting only finished calls would let all
    of them through a ``max_calls`` of 3. So calls *in flight* count against ``max_calls`` too:
    the dispatcher :meth:`reserve` s a call before sending it and :meth:`release` s it when the
    finished call's usage is added.
    """

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget or Budget()
        self.started = time.monotonic()
        self.usage = Usage()
        self.exceeded: str | None = None
        #: Calls reserved (started) whose usage has not been added yet.
        self.in_flight = 0

    def add(self, usage: Usage) -> None:
        self.usage = self.usage + usage

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining_wall_s(self) -> float | None:
        if self.budget.max_wall_s is None:
            return None
        return self.budget.max_wall_s - self.elapsed()

    def reserve(self) -> None:
        """Count one more call as in flight; :meth:`check` first (see the class docstring)."""
        self.in_flight += 1

    def release(self, calls: int = 1) -> None:
        self.in_flight = max(0, self.in_flight - calls)

    def check(self, *, holding: int = 0) -> None:
        """Raise BudgetExceeded if another call would break a limit.

        ``holding=1`` re-checks for a call that already holds a reservation (the dispatcher
        does this once the call has waited for its concurrency slot, since tokens, cost and
        time spent meanwhile may have used the budget up).
        """
        b, u = self.budget, self.usage
        reason = None
        calls = u.calls + self.in_flight - holding
        if b.max_calls is not None and calls >= b.max_calls:
            reason = f"call budget exhausted ({calls}/{b.max_calls} calls)"
        elif b.max_tokens is not None and u.total_tokens >= b.max_tokens:
            reason = f"token budget exhausted ({u.total_tokens}/{b.max_tokens} tokens)"
        elif b.max_cost is not None and u.cost >= b.max_cost:
            reason = f"cost budget exhausted (${u.cost:.4f}/${b.max_cost:.4f})"
        elif b.max_wall_s is not None and self.elapsed() >= b.max_wall_s:
            reason = f"wall-time budget exhausted ({self.elapsed():.1f}/{b.max_wall_s:.1f} s)"
        if reason:
            self.exceeded = self.exceeded or reason
            raise BudgetExceeded(reason)
