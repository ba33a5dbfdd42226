"""One Ray eval worker: a process with its own dispatchers that runs units it is sent.

The executor wraps :class:`EvalWorker` with ``ray.remote`` as an async actor, so one worker
runs many units at once on its event loop, exactly as the local executor does in one process.
A worker holds no results: it returns each unit's row and result to the driver, which writes
them. Ray restarts a worker that dies (``max_restarts``), rebuilding it from the same
arguments; the driver sends its lost units again.
"""

from __future__ import annotations

import os
from typing import Any

from agot.dispatcher import Dispatcher
from agot.errors import AgotError
from agot.evals.executors.base import UnitWork
from agot.evals.executors.leases import Grant, LeaseRequest
from agot.evals.executors.model_actors import ActorBackend
from agot.evals.executors.shared_limits import SharedDispatcher, SharedLimits
from agot.types import Usage


class EvalWorker:
    """Runs units of one eval run; see the module docstring.

    ``bank`` is the LeaseBank actor handle (None when nothing is shared); ``rated`` names the
    model keys with a shared rate limit; ``hosts`` maps a model key to its model actors'
    handles and the hosted backend's description.
    """

    def __init__(
        self,
        work: UnitWork,
        bank: Any,
        rated: frozenset[str],
        budget_shared: bool,
        hosts: dict[str, tuple[list[Any], dict[str, Any], dict[str, Any]]],
    ) -> None:
        self.work = work
        self.bank = bank
        self.shared = SharedLimits(self._lease, self._report)
        self.units = 0
        self.actor_backends: list[ActorBackend] = []
        self.dispatchers: dict[str, Dispatcher] = {}
        #: A bad setting found while building (a model string that does not resolve, a
        #: missing key): kept as data so the driver reports it as one line, not a dead actor.
        self.setup_error: str | None = None
        try:
            self._build(work, hosts, rated, budget_shared)
        except AgotError as exc:
            self.setup_error = str(exc)

    def _build(
        self,
        work: UnitWork,
        hosts: dict[str, tuple[list[Any], dict[str, Any], dict[str, Any]]],
        rated: frozenset[str],
        budget_shared: bool,
    ) -> None:
        for key, spec in work.dispatcher_specs().items():
            model: Any = spec.model
            if key in hosts:
                handles, description, options = hosts[key]
                model = ActorBackend(handles, description, **options)
                self.actor_backends.append(model)
            self.dispatchers[key] = SharedDispatcher(
                model,
                shared=self.shared,
                bank_key=key,
                shared_rates=key in rated,
                budget_shared=budget_shared,
                **spec.kwargs,
            )

    async def _lease(self, request: LeaseRequest) -> Grant:
        return await self.bank.lease.remote(request)

    async def _report(self, spent: Usage) -> None:
        if self.bank is not None:
            await self.bank.report.remote(spent)

    def pid(self) -> int:
        return os.getpid()

    def ready(self) -> str | None:
        """None once the worker is built, else the setting at fault."""
        return self.setup_error

    async def run(self, unit: Any) -> list[tuple[Any, Any]]:
        rows = await self.work.run_unit(unit, self.dispatchers)
        self.units += 1
        return rows

    def stats(self) -> dict[str, int]:
        """Units run, lease round trips and the calls they admitted (how well leases batch),
        and model-actor calls sent again after their actor died."""
        return {
            "units": self.units,
            "leases": self.shared.leases,
            "admitted": self.shared.admitted,
            "actor_calls": sum(b.served for b in self.actor_backends),
            "resent": sum(b.resent for b in self.actor_backends),
        }

    async def aclose(self) -> None:
        await self.shared.flush()
        for dispatcher in self.dispatchers.values():
            await dispatcher.aclose()
