"""What an executor is: the part of an eval run that decides *where* units run.

The runner owns the run folder: it loads the items, skips those already in ``results.jsonl``,
and appends every finished row itself (with its trace), so ``--resume``, the run lock and
exactly-once results do not depend on where the model work happened. An executor only takes
the units still to do, runs each through the run's :class:`UnitWork`, and hands every
finished ``(unit, row, result)`` to ``deliver`` exactly once.

* :class:`~agot.evals.executors.local.LocalExecutor`: in this process, under one event loop
  (the default).
* :class:`~agot.evals.executors.ray_executor.RayExecutor`: units over Ray worker actors,
  with the rate limits and budget shared across the cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agot.dispatcher import Dispatcher
    from agot.evals.run_folder import ResultRow
    from agot.result import Result


class Unit(Protocol):
    """One item under one strategy and one model (the runner's unit)."""

    @property
    def key(self) -> tuple[str, str, str]: ...


@dataclass(frozen=True)
class DispatcherSpec:
    """How to build the dispatcher for one model: a recipe every worker can follow."""

    model: Any
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self, cls: type[Dispatcher] | None = None, **extra: Any) -> Dispatcher:
        from agot.dispatcher import Dispatcher

        return (cls or Dispatcher)(self.model, **self.kwargs, **extra)


class UnitWork(Protocol):
    """The per-unit work of a run; picklable, so a Ray worker can hold its own copy."""

    def dispatcher_specs(self) -> dict[str, DispatcherSpec]:
        """One recipe per model key the units need (models under test, then judges)."""
        ...

    async def run_unit(
        self, unit: Any, dispatchers: dict[str, Dispatcher]
    ) -> list[tuple[ResultRow, Result]]:
        """Run and score one unit into its rows (one, or one per reading of a strategy that
        reports a run several ways); failures inside it become the rows' ``error``."""
        ...

    def failed_unit(self, unit: Any, error: str) -> list[tuple[ResultRow, Result]]:
        """The rows for a unit that could not run at all (its worker kept dying)."""
        ...


Deliver = Callable[[Any, "ResultRow", "Result"], Coroutine[Any, Any, None]]


class Executor(Protocol):
    """Runs units and delivers each row of each finished one exactly once."""

    async def run(
        self, work: UnitWork, units: Sequence[Any], deliver: Deliver, *, concurrency: int
    ) -> None: ...
