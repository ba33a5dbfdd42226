"""The cluster's shared rate limits and budget: a bank that grants calls in batches.

On one machine every call of a model goes through one dispatcher, whose limiters hold the
request rate (evenly spaced requests, :class:`agot.limits.Spacing`) and the token rate (a leaky
bucket). Spread over Ray workers, each worker has its own dispatcher, so the limiters must
live in one place: a :class:`LeaseBank`, run as a single Ray actor, applying the same rules.
Asking it once per call would put a round trip (and the actor's queue) on every call's path,
so a worker asks once for *all* the calls waiting in it at that moment
(:class:`~agot.evals.executors.shared_limits.SharedLimits`). The bank books each granted call
its own start instant, at most :data:`HORIZON_S` ahead, and answers with the delays: the
worker starts each call at its instant, so under load one round trip admits a batch while
the requests of all workers together keep the spacing of one limiter.

The bank is plain Python (no Ray import), so its logic is tested directly; the executor wraps
it with ``ray.remote``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping

from pydantic import BaseModel, Field

from agot.budget import Budget
from agot.limits import Spacing
from agot.types import Usage

#: How far ahead the bank books start instants: a lease admits about ``rate x HORIZON_S``
#: calls, and a worker never holds more than that of the cluster's rate.
HORIZON_S = 0.25


class LeaseRequest(BaseModel):
    """What one worker asks of the bank for one model."""

    model: str
    #: Estimated tokens of each call wanted, first come first; at least one call.
    estimates: list[int] = Field(min_length=1)
    #: Usage finished since the last request (so token and cost budgets see it).
    spent: Usage = Field(default_factory=Usage)


class Grant(BaseModel):
    """The bank's answer: how many of the asked calls may start, and after how long each."""

    calls: int = 0
    #: Seconds from the grant until each granted call may start (its booked instant).
    delays: list[float] = Field(default_factory=list)
    #: Set when the budget is exhausted: no call may start anywhere in the cluster.
    exhausted: str | None = None


class Bucket:
    """A leaky bucket holding one second of rate (at least one unit), like the local limiter.

    ``level`` is what was admitted and has not leaked away yet; an amount fits while
    ``level + amount <= capacity``. One call larger than the whole bucket is admitted as the
    full bucket, so it waits for an empty bucket instead of forever.
    """

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.clock = clock
        self.level = 0.0
        self.stamp = clock()

    def _leak(self) -> None:
        now = self.clock()
        self.level = max(0.0, self.level - (now - self.stamp) * self.rate)
        self.stamp = now

    def weight(self, amount: float) -> float:
        return min(float(amount), self.capacity)

    def fits(self, amount: float) -> bool:
        self._leak()
        # A hair of tolerance: float leak arithmetic must not stall a call that exactly fits.
        return self.level + self.weight(amount) <= self.capacity + 1e-9

    def take(self, amount: float) -> None:
        self.level += self.weight(amount)

    def wait_s(self, amount: float) -> float:
        """Seconds until ``amount`` fits."""
        self._leak()
        return max(0.0, (self.level + self.weight(amount) - self.capacity) / self.rate)


class Spaced:
    """Start instants one ``60 / per_minute`` apart, by the rule of :class:`agot.limits.Spacing`
    (at most ``floor(1.1 x rate)`` instants within ``Spacing.GUARD_S``), booked not slept."""

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute
        self.per_window = max(1, int(1.1 * per_minute / 60.0))
        self.recent: deque[float] = deque(maxlen=self.per_window)
        self.next = 0.0

    def peek(self, now: float) -> float:
        """The instant the next booking would get."""
        at = max(self.next, now)
        if len(self.recent) == self.per_window:
            at = max(at, self.recent[0] + Spacing.GUARD_S)
        return at

    def book(self, now: float) -> float:
        at = self.peek(now)
        self.next = at + self.interval
        self.recent.append(at)
        return at


class _Model:
    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        clock: Callable[[], float],
    ) -> None:
        self.requests = Spaced(requests_per_minute) if requests_per_minute else None
        self.tokens = Bucket(tokens_per_minute, clock) if tokens_per_minute else None
        self.lock = asyncio.Lock()


class LeaseBank:
    """Request/token buckets per model and one budget for the whole cluster.

    ``rates`` maps a model key to ``(requests_per_minute, tokens_per_minute)`` (either None).
    ``budget`` caps calls, tokens, cost and wall time of everything every worker does; calls
    are counted when granted (so calls in flight count, as in the local budget), tokens and
    cost when workers report them.
    """

    def __init__(
        self,
        rates: Mapping[str, tuple[float | None, float | None]],
        budget: Budget | None = None,
        *,
        default_rates: tuple[float | None, float | None] = (None, None),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.models = {key: _Model(rpm, tpm, clock) for key, (rpm, tpm) in rates.items()}
        #: Rates of a model no worker announced (a per-request model override).
        self.default_rates = default_rates
        self.budget = budget or Budget()
        self.started = clock()
        self.granted = 0
        self.usage = Usage()
        self.leases = 0

    def _exhausted(self) -> str | None:
        b, u = self.budget, self.usage
        if b.max_calls is not None and self.granted >= b.max_calls:
            return f"call budget exhausted ({self.granted}/{b.max_calls} calls across the cluster)"
        if b.max_tokens is not None and u.total_tokens >= b.max_tokens:
            return (
                f"token budget exhausted ({u.total_tokens}/{b.max_tokens} tokens across "
                "the cluster)"
            )
        if b.max_cost is not None and u.cost >= b.max_cost:
            return f"cost budget exhausted (${u.cost:.4f}/${b.max_cost:.4f} across the cluster)"
        elapsed = self.clock() - self.started
        if b.max_wall_s is not None and elapsed >= b.max_wall_s:
            return f"wall-time budget exhausted ({elapsed:.1f}/{b.max_wall_s:.1f} s)"
        return None

    def report(self, spent: Usage) -> None:
        """Usage finished since a worker's last lease (sent when it asks for nothing more)."""
        self.usage = self.usage + spent

    async def lease(self, request: LeaseRequest) -> Grant:
        """Grant a prefix of the asked calls with their start delays.

        Leases are served in arrival order; one waits here until its first call fits the
        token bucket and its start instant is within :data:`HORIZON_S`, then takes every
        further call whose tokens fit and whose instant falls within the horizon too.
        """
        self.leases += 1
        self.report(request.spent)
        model = self.models.get(request.model)
        if model is None:
            model = self.models[request.model] = _Model(*self.default_rates, self.clock)
        async with model.lock:
            while True:
                reason = self._exhausted()
                if reason:
                    return Grant(exhausted=reason)
                now = self.clock()
                wait = 0.0
                if model.tokens is not None:
                    wait = model.tokens.wait_s(request.estimates[0])
                if model.requests is not None:
                    wait = max(wait, model.requests.peek(now) - now - HORIZON_S)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            wanted = request.estimates
            if self.budget.max_calls is not None:
                wanted = wanted[: self.budget.max_calls - self.granted]
            now = self.clock()
            delays: list[float] = []
            for estimate in wanted:
                if delays:
                    if model.tokens is not None and not model.tokens.fits(estimate):
                        break
                    if model.requests is not None and model.requests.peek(now) > now + HORIZON_S:
                        break
                if model.tokens is not None:
                    model.tokens.take(estimate)
                at = model.requests.book(now) if model.requests is not None else now
                delays.append(max(0.0, at - now))
            self.granted += len(delays)
            return Grant(calls=len(delays), delays=delays)

    def snapshot(self) -> dict[str, object]:
        """Totals for reports and tests: calls granted, usage reported, lease round trips."""
        return {
            "granted": self.granted,
            "usage": self.usage.model_dump(),
            "leases": self.leases,
        }
