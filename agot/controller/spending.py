"""Growth under budgets: every open graph keeps what its synthesis needs.

The dispatcher enforces budgets call by call; it cannot know that the *last* affordable call
should be the top-level synthesis rather than one more thought. So the controller holds back a
reservation for the synthesis of each open graph (the top graph's ``reserve_final_calls``, one
for each nested graph) and only grows while a new call leaves those reservations intact. A
nested graph is only opened when its first proposal *and* its own synthesis fit. Calls are
counted exactly (in-flight calls included, no await between the check and the dispatcher's own
reservation); wall time, tokens and cost are estimated from the calls seen so far.

A stop is final: once growth is refused the run moves to its syntheses, and ``reason`` says
which limit stopped it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agot.budget import BudgetTracker
from agot.trace import RunRecorder


class Spending:
    """Admission control for AGoT growth; see the module docstring."""

    def __init__(self, recorder: RunRecorder, trackers: Sequence[BudgetTracker]) -> None:
        self.recorder = recorder
        self.trackers = tuple(trackers)
        #: Calls held back for the syntheses of the graphs that are open now.
        self.reserved = 0
        self.reason: str | None = None
        self._seen = 0
        self._sums = [0, 0.0, 0.0, 0.0]  # calls, seconds, tokens, cost of finished calls

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason

    @property
    def stopped(self) -> bool:
        return self.reason is not None

    def hold(self, calls: int) -> None:
        self.reserved += calls

    def release(self, calls: int) -> None:
        self.reserved = max(0, self.reserved - calls)

    def may_grow(self, calls: int = 1) -> bool:
        """Whether ``calls`` more growth calls fit while every reservation still fits."""
        if self.reason is not None:
            return False
        reason = self._shortfall(calls)
        if reason is not None:
            self.stop(reason)
            return False
        return True

    def _shortfall(self, calls: int) -> str | None:
        need = calls + self.reserved
        per_call = self._per_call()
        for tracker in self.trackers:
            budget, usage = tracker.budget, tracker.usage
            if budget.max_calls is not None:
                left = budget.max_calls - usage.calls - tracker.in_flight
                if left < need:
                    return (
                        f"call budget nearly exhausted ({budget.max_calls - left}/"
                        f"{budget.max_calls} calls used; {self.reserved} kept for the synthesis)"
                    )
            if per_call is None:
                continue
            seconds, tokens, cost = per_call
            wall = tracker.remaining_wall_s()
            if wall is not None and wall < seconds * need:
                return f"wall-time budget nearly exhausted ({wall:.1f} s left)"
            if budget.max_tokens is not None:
                left_tokens = budget.max_tokens - usage.total_tokens
                if left_tokens < tokens * need:
                    return f"token budget nearly exhausted ({left_tokens} tokens left)"
            if budget.max_cost is not None and cost > 0:
                left_cost = budget.max_cost - usage.cost
                if left_cost < cost * need:
                    return f"cost budget nearly exhausted (${left_cost:.4f} left)"
        return None

    def _per_call(self) -> tuple[float, float, float] | None:
        """Mean seconds, tokens and cost of the calls made so far (None before the first)."""
        events = self.recorder.events
        sums = self._sums
        for event in events[self._seen :]:
            if not event.cached and event.error is None:
                sums[0] += 1
                sums[1] += event.duration
                sums[2] += event.prompt_tokens + event.completion_tokens
                sums[3] += event.cost
        self._seen = len(events)
        n = sums[0]
        return None if not n else (sums[1] / n, sums[2] / n, sums[3] / n)
