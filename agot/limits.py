"""Per-backend limits: concurrency, request rate, token rate and per-call timeouts.

The request rate is held by spacing: request ``n`` may start no sooner than ``60 / rpm``
seconds after request ``n - 1`` was let through (a GCRA with no burst allowance; see
:class:`Spacing`). A leaky bucket holding one second's worth (what ``aiolimiter`` does) admits
a full bucket at once and then refills while it drains, so ``--rpm 120`` let 4 requests
through in the first second; spacing holds the per-second rate within 1.1 x in every 1-second
window, and the per-minute rate with it.
The token rate, where bursts matter less than the minute's total, keeps ``aiolimiter``'s
weighted leaky bucket (``asyncio-throttle`` cannot weigh a request by its tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
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
    #: Seconds one attempt may take before it counts as a (retryable) timeout. For remote
    #: backends this is the ceiling of the adaptive timeout (see :mod:`agot.latency`).
    timeout_s: float | None = Field(300.0, gt=0)
    #: Remote backends: time each attempt out at ``timeout_multiple`` x the observed p99 of
    #: its backend and role (at least ``timeout_floor_s``, at most ``timeout_s``).
    adaptive_timeout: bool = True
    timeout_floor_s: float = Field(10.0, gt=0)
    timeout_multiple: float = Field(4.0, ge=1)
    #: Remote calls that are not streamed: the timeout of an attempt before enough replies
    #: have been timed (a cold start). Not minutes: with few calls the window may never be
    #: trusted, and a hang would wait for ``timeout_s``. A cut attempt retries with twice it.
    cold_timeout_s: float = Field(30.0, gt=0)
    #: Stream replies from backends that can (the direct OpenAI-compatible client, scripted):
    #: a remote call is then timed to its first token and between tokens, below.
    stream: bool = True
    #: Remote streamed calls: the deadline for the first token before any has been observed
    #: for the backend and role (a cold start: seconds, not the whole-reply timeout).
    first_token_timeout_s: float = Field(10.0, gt=0)
    #: ... and once first tokens have been observed, ``timeout_multiple`` x their p95, never
    #: below this floor. A call cut at its first token retries with twice that deadline.
    first_token_floor_s: float = Field(5.0, gt=0)
    #: Remote streamed calls: the longest silence allowed between two pieces of a reply.
    stall_timeout_s: float = Field(20.0, gt=0)
    #: Remote backends: when a reply has not come after the observed p95, send one duplicate
    #: request and keep whichever reply comes first (both count as attempts).
    hedge: bool = False
    #: Retries after the first attempt on transient errors (429, 5xx, timeouts, disconnects).
    max_retries: int = Field(4, ge=0)
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    #: Extra asks when a reply does not satisfy the output schema.
    schema_retries: int = Field(2, ge=0)


class Spacing:
    """Lets one request through every ``60 / per_minute`` seconds, never more in a burst.

    Each acquisition books the next free instant before it sleeps, so waiters are served in
    order without polling; a cancelled waiter's instant is simply left unused (the rate only
    errs low). Exact spacing alone lets a third request into a 1-second window whenever the
    first one reaches the server a few milliseconds late (``--rpm 120``: requests 0.5 s
    apart), so a second rule keeps the ``n = floor(1.1 x rate)`` most recent instants within
    :data:`GUARD_S` (a little over a second): in effect the rate drops by at most 5% where
    ``1.1 x rate`` is close to a whole number, and not at all elsewhere.
    """

    #: Width of the window that may hold at most ``floor(1.1 x per-second rate)`` requests.
    GUARD_S = 1.05

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute
        self._per_window = max(1, int(1.1 * per_minute / 60.0))
        self._recent: deque[float] = deque(maxlen=self._per_window)
        self._next = 0.0

    async def acquire(self) -> None:
        now = time.monotonic()
        at = max(self._next, now)
        if len(self._recent) == self._per_window:
            at = max(at, self._recent[0] + self.GUARD_S)
        self._next = at + self.interval
        self._recent.append(at)
        if at > now:
            await asyncio.sleep(at - now)


def _bucket(per_minute: float) -> AsyncLimiter:
    """A leaky bucket holding about one second's worth (at least one unit)."""
    capacity = max(1.0, per_minute / 60.0)
    return AsyncLimiter(capacity, capacity * 60.0 / per_minute)


class Gate:
    """The concurrency slot plus rate limiters guarding one backend."""

    def __init__(self, limits: Limits, default_concurrency: int) -> None:
        self.limits = limits
        self.concurrency = limits.max_concurrency or default_concurrency
        self._slots = asyncio.Semaphore(self.concurrency)
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        self._requests = Spacing(rpm) if rpm else None
        self._tokens = _bucket(tpm) if tpm else None

    async def request_rate(self) -> None:
        """Wait for the request-rate limiter only (a hedged duplicate is one more request)."""
        if self._requests is not None:
            await self._requests.acquire()

    @contextlib.asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        async with self._slots:
            if self._requests is not None:
                await self._requests.acquire()
            if self._tokens is not None:
                # A request larger than one second's worth still passes, at the full bucket.
                await self._tokens.acquire(min(float(estimated_tokens), self._tokens.max_rate))
            yield
