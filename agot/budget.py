"""Budgets: hard limits on what a run (or a whole dispatcher) may spend.

The dispatcher checks the budget before every call and raises
:class:`~agot.errors.BudgetExceeded` with the reason; strategies catch it and return a partial
result. Structural limits (nodes, depth) are enforced by the AGoT controller, which reads them
from the same object so one budget describes a run completely.

What each limit counts:

* ``max_calls``: model calls (:attr:`~agot.types.Usage.calls`: each ask, re-asks included,
  cached replies included), counting calls in flight, so concurrent calls cannot overshoot.
  Retries and hedged duplicates are attempts, not calls: they are counted in
  ``Usage.attempts`` but not limited here.
* ``max_tokens``: prompt + completion tokens the backend reported (and the prompt tokens of
  requests cancelled in flight, counted locally). Calls in flight hold a
  reservation of their largest possible size (prompt estimate + ``max_tokens``); a call starts
  only while the tokens used plus the reservations in flight leave room for its own (or when
  nothing else is in flight), so the total overshoots by at most one call's reservation.
* ``max_cost``: USD the backend reported (litellm's price map; 0 for local models); checked
  before each call, so it may overshoot by the calls in flight.
* ``max_wall_s``: seconds since the run started; a call in flight when it runs out is cut.
"""

from __future__ import annotations

import asyncio
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
    finished call's usage is added. Tokens work the same way with :meth:`hold_tokens`.
    """

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget or Budget()
        self.started = time.monotonic()
        self.usage = Usage()
        self.exceeded: str | None = None
        #: Calls reserved (started) whose usage has not been added yet.
        self.in_flight = 0
        #: Tokens held by calls in flight (reservations, or replies not yet added).
        self.tokens_held = 0
        #: The most tokens one call has used so far (a floor for later reservations).
        self.largest_call = 0
        self._waiters: list[asyncio.Future[None]] = []

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

    # -- tokens -------------------------------------------------------------------------------
    def tokens_fit(self, estimate: int, *, own: int = 0) -> bool:
        """True when a call of at most ``estimate`` tokens may start now (see the module doc).

        ``own`` is what the asking call already holds (a re-ask holds its first reply's
        tokens): when nobody else holds any, the call may always start.
        """
        limit = self.budget.max_tokens
        if limit is None or self.tokens_held <= own:
            return True
        return self.usage.total_tokens + self.tokens_held + estimate <= limit

    def hold_tokens(self, tokens: int) -> None:
        self.tokens_held += tokens

    def drop_tokens(self, tokens: int) -> None:
        """Return held tokens (their usage has been added, or the call failed)."""
        self.tokens_held = max(0, self.tokens_held - tokens)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for_tokens(self) -> None:
        """Sleep until some held tokens are returned."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

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
