"""Per-backend limits: concurrency, request rate and token rate.

Rate limiting uses ``aiolimiter`` (a leaky bucket that sleeps until capacity frees rather than
polling, and takes a weight per acquisition) for both the request rate and the token rate;
``asyncio-throttle``, named on the design card, polls every 10 ms per waiting task and cannot
weigh a request by its tokens, so a token-per-minute limit is out of its reach.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter
from pydantic import Field

from agot.config import Settings


class Limits(Settings):
    """How hard the dispatcher may drive one backend."""

    #: Requests in flight at once (for batching backends: the largest batch).
    max_concurrency: int | None = Field(None, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    #: Seconds one attempt may take before it counts as a (retryable) timeout.
    timeout_s: float | None = Field(300.0, gt=0)
    #: Retries after the first attempt on transient errors (429, 5xx, timeouts, disconnects).
    max_retries: int = Field(4, ge=0)
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    #: Extra asks when a reply does not satisfy the output schema.
    schema_retries: int = Field(2, ge=0)


def _bucket(per_minute: float) -> AsyncLimiter:
    """A leaky bucket holding about one second's worth (at least one unit).

    A per-minute bucket would admit a whole minute's worth in one burst; a one-second bucket
    keeps bursts small while the long-run rate stays ``per_minute``.
    """
    capacity = max(1.0, per_minute / 60.0)
    return AsyncLimiter(capacity, capacity * 60.0 / per_minute)


class Gate:
    """The concurrency slot plus rate limiters guarding one backend."""

    def __init__(self, limits: Limits, default_concurrency: int) -> None:
        self.limits = limits
        self.concurrency = limits.max_concurrency or default_concurrency
        self._slots = asyncio.Semaphore(self.concurrency)
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        self._requests = _bucket(rpm) if rpm else None
        self._tokens = _bucket(tpm) if tpm else None

    @contextlib.asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        async with self._slots:
            if self._requests is not None:
                await self._requests.acquire()
            if self._tokens is not None:
                # A request larger than one second's worth still passes, at the full bucket.
                await self._tokens.acquire(min(float(estimated_tokens), self._tokens.max_rate))
            yield
