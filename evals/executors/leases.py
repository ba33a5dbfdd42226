"""The cluster's shared rate limits and budget: a bank that grants calls in batches.

On one machine every call of a model goes through one dispatcher, whose leaky buckets hold the
request and token rates. Spread over Ray workers, each worker has its own dispatcher, so the
buckets must live in one place: a :class:`LeaseBank`, run as a single Ray actor. Asking it
once per call would put a round trip (and the actor's queue) on every call's path, so a
worker asks once for *all* the calls waiting in it at that moment
(:class:`~agot.evals.executors.shared_limits.SharedLimits`): under load one round trip admits
a whole batch, and a worker never holds grants it has no call for, so the requests of all
workers together never outrun what the buckets allow.

The bank is plain Python (no Ray import), so its logic is tested directly; the executor wraps
it with ``ray.remote``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from pydantic import BaseModel, Field

from agot.budget import Budget
from agot.types import Usage


class LeaseRequest(BaseModel):
    """What one worker asks of the bank for one model."""

    model: str
    #: Estimated tokens of each call wanted, first come first; at least one call.
    estimates: list[int] = Field(min_length=1)
    #: Usage finished since the last request (so token and cost budgets see it).
    spent: Usage = Field(default_factory=Usage)


class Grant(BaseModel):
    """The bank's answer: how many of the asked calls may start now."""

    calls: int = 0
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


class _Model:
    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        clock: Callable[[], float],
    ) -> None:
        self.requests = Bucket(requests_per_minute, clock) if requests_per_minute else None
        self.tokens = Bucket(tokens_per_minute, clock) if tokens_per_minute else None
        self.lock = asyncio.Lock()

    def buckets(self, estimate: int) -> list[tuple[Bucket, float]]:
        out: list[tuple[Bucket, float]] = []
        if self.requests is not None:
            out.append((self.requests, 1.0))
        if self.tokens is not None:
            out.append((self.tokens, float(estimate)))
        return out


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
        """Grant a prefix of the asked calls, waiting (in arrival order) until one fits."""
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
                first = model.buckets(request.estimates[0])
                wait = max((b.wait_s(amount) for b, amount in first), default=0.0)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            wanted = request.estimates
            if self.budget.max_calls is not None:
                wanted = wanted[: self.budget.max_calls - self.granted]
            calls = 0
            for estimate in wanted:
                pairs = model.buckets(estimate)
                if calls and not all(b.fits(amount) for b, amount in pairs):
                    break
                for b, amount in pairs:
                    b.take(amount)
                calls += 1
            self.granted += calls
            return Grant(calls=calls)

    def snapshot(self) -> dict[str, object]:
        """Totals for reports and tests: calls granted, usage reported, lease round trips."""
        return {
            "granted": self.granted,
            "usage": self.usage.model_dump(),
            "leases": self.leases,
        }
