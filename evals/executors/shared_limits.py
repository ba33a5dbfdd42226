"""The worker side of the shared limits: a dispatcher whose rates and budget are the cluster's.

Each Ray worker runs its units through ordinary :class:`~agot.dispatcher.Dispatcher` objects,
so retries, re-asks, caching, timeouts and traces behave exactly as on one machine. Two pieces
are swapped in:

* the per-backend gate keeps its local concurrency slot but takes the request and token rates
  from the :class:`~agot.evals.executors.leases.LeaseBank` (through :class:`SharedLimits`);
* the dispatcher's budget tracker reports finished usage to the bank and stops calls once the
  bank says the cluster's budget is spent.

A model with no rate limit under a run with no budget keeps the plain local gate: no round
trip is added where nothing is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from agot.backends.base import Backend
from agot.budget import BudgetTracker
from agot.dispatcher import Dispatcher
from agot.errors import BudgetExceeded, TransientBackendError
from agot.evals.executors.leases import Grant, LeaseRequest
from agot.limits import Gate, Limits
from agot.types import Usage

Lease = Callable[[LeaseRequest], Awaitable[Grant]]
Report = Callable[[Usage], Awaitable[None]]


class SharedLimits:
    """One worker's client of the bank: it batches the calls waiting in the worker into leases.

    A call asks :meth:`acquire`; when no lease is in flight for its model, one is sent for
    every call waiting at that moment, and calls arriving meanwhile wait for the next one.
    Each granted call starts after the delay the bank booked for it. So an idle worker pays
    one round trip per call, and a busy one a round trip per batch.
    """

    def __init__(self, lease: Lease, report: Report, *, max_batch: int = 256) -> None:
        self._lease = lease
        self._report = report
        self.max_batch = max_batch
        #: The bank's reason, once the cluster's budget is spent.
        self.exhausted: str | None = None
        self._spent = Usage()
        self._queues: dict[str, deque[tuple[int, asyncio.Future[None]]]] = {}
        self._refills: dict[str, asyncio.Task[None]] = {}
        #: Leases sent and calls they admitted (the benchmark's batching figure).
        self.leases = 0
        self.admitted = 0

    def spend(self, usage: Usage) -> None:
        """Note a finished call's usage; it reaches the bank with the next lease or flush."""
        self._spent = self._spent + usage

    async def acquire(self, model: str, estimate: int) -> None:
        """Wait until the bank admits one call of ``model`` (raises BudgetExceeded when spent)."""
        if self.exhausted:
            raise BudgetExceeded(self.exhausted)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(model, deque()).append((estimate, waiter))
        if model not in self._refills:
            self._refills[model] = asyncio.create_task(self._refill(model))
        await waiter

    async def flush(self) -> None:
        """Send usage not yet reported (a worker calls this when its units are done)."""
        spent, self._spent = self._spent, Usage()
        if spent.calls or spent.total_tokens or spent.cost:
            await self._report(spent)

    async def _refill(self, model: str) -> None:
        queue = self._queues[model]
        try:
            while True:
                while queue and queue[0][1].done():  # a caller cancelled while waiting
                    queue.popleft()
                if not queue:
                    return
                batch = [(e, w) for e, w in list(queue)[: self.max_batch] if not w.done()]
                spent, self._spent = self._spent, Usage()
                try:
                    grant = await self._lease(
                        LeaseRequest(model=model, estimates=[e for e, _ in batch], spent=spent)
                    )
                except Exception as exc:  # the bank is unreachable: let the dispatcher retry
                    self._spent = self._spent + spent
                    error = TransientBackendError(f"shared rate limiter unavailable: {exc}")
                    for entry in batch:
                        queue.remove(entry)
                        if not entry[1].done():
                            entry[1].set_exception(error)
                    continue
                self.leases += 1
                if grant.exhausted:
                    self.exhausted = grant.exhausted
                    while queue:
                        _, waiter = queue.popleft()
                        if not waiter.done():
                            waiter.set_exception(BudgetExceeded(grant.exhausted))
                    return
                self.admitted += grant.calls
                loop = asyncio.get_running_loop()
                for entry, delay in zip(batch[: grant.calls], grant.delays, strict=True):
                    queue.remove(entry)
                    if delay > 0:
                        loop.call_later(delay, _release, entry[1])
                    else:
                        _release(entry[1])
        finally:
            del self._refills[model]


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # a caller cancelled while waiting for its instant
        waiter.set_result(None)


class SharedGate:
    """A :class:`~agot.limits.Gate` whose rates come from the bank (concurrency stays local)."""

    def __init__(
        self, limits: Limits, default_concurrency: int, shared: SharedLimits, model: str
    ) -> None:
        self.limits = limits
        self.concurrency = limits.max_concurrency or default_concurrency
        self._slots = asyncio.Semaphore(self.concurrency)
        self._shared = shared
        self._model = model

    @contextlib.asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        async with self._slots:
            await self._shared.acquire(self._model, estimated_tokens)
            yield


class SharedTracker(BudgetTracker):
    """The dispatcher's own tracker: local totals, plus the cluster's verdict from the bank."""

    def __init__(self, shared: SharedLimits) -> None:
        super().__init__(None)
        self._shared = shared

    def add(self, usage: Usage) -> None:
        super().add(usage)
        self._shared.spend(usage)

    def check(self, *, holding: int = 0) -> None:
        super().check(holding=holding)
        if self._shared.exhausted:
            self.exceeded = self.exceeded or self._shared.exhausted
            raise BudgetExceeded(self._shared.exhausted)


class SharedDispatcher(Dispatcher):
    """A dispatcher whose rate limits and budget are shared through ``shared``.

    ``bank_key`` names the default model's buckets in the bank (the run's model key); slots
    for other models (a request's own ``model``) use their model string. ``shared_rates``
    says whether any rate is shared; with ``budget_shared`` False as well the gates stay local.
    """

    def __init__(
        self,
        model: str | Backend | None,
        *,
        shared: SharedLimits,
        bank_key: str,
        shared_rates: bool,
        budget_shared: bool,
        **kwargs: Any,
    ) -> None:
        self._shared = shared
        self._bank_key = bank_key
        self._shared_gates = shared_rates or budget_shared
        self._default_key: str | None = None
        super().__init__(model, **kwargs)
        if budget_shared:
            self.tracker = SharedTracker(shared)

    def _add_model(self, key: str, backend: Backend, owned: bool) -> Any:
        slot = super()._add_model(key, backend, owned)
        if self._shared_gates and isinstance(slot.gate, Gate):
            # The first slot is the default model's: it uses the run's key for its buckets.
            bank_key = self._bank_key if self._default_key in (None, key) else key
            self._default_key = self._default_key or key
            slot.gate = SharedGate(  # type: ignore[assignment]  # a Gate by duck typing
                slot.gate.limits, backend.capabilities.default_concurrency, self._shared, bank_key
            )
        return slot
