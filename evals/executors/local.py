"""The default executor: every unit in this process, ``concurrency`` at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agot.evals.executors.base import Deliver, UnitWork


class LocalExecutor:
    """One dispatcher per model shared by all units, so limits hold for the whole run.

    The semaphore covers the model work only: delivering (writing the trace and the row)
    happens after the slot is free, so the next unit's calls start without waiting on disk.
    """

    async def run(
        self, work: UnitWork, units: Sequence[Any], deliver: Deliver, *, concurrency: int
    ) -> None:
        dispatchers = {key: spec.build() for key, spec in work.dispatcher_specs().items()}
        semaphore = asyncio.Semaphore(concurrency)

        async def one(unit: Any) -> None:
            async with semaphore:
                rows = await work.run_unit(unit, dispatchers)
            for row, result in rows:
                await deliver(unit, row, result)

        try:
            async with asyncio.TaskGroup() as group:
                for unit in units:
                    group.create_task(one(unit))
        except BaseExceptionGroup as grouped:  # only infrastructure failures reach here
            raise grouped.exceptions[0] from None
        finally:
            for dispatcher in dispatchers.values():
                await dispatcher.aclose()
