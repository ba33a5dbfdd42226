"""Run an eval's units on a Ray cluster, with the driver keeping the one run folder.

``RayExecutor(address)`` connects to a cluster (``ray://`` or ``host:port``; ``"auto"`` for
the one ``ray start`` launched on this machine) or, with no address, starts a local Ray
instance bound to 127.0.0.1. It starts

* ``workers`` eval worker actors (default: one per CPU the cluster offers), each an async
  actor running many units at once through its own dispatchers;
* one LeaseBank actor owning the request/token buckets of every rate-limited model and the
  run's ``budget``, when there is anything to share (see :mod:`.leases`);
* for local models, ``model_actors.replicas`` model actors each (see :mod:`.model_actors`).

The driver sends units to the worker with the fewest outstanding (at most ``concurrency``
across the cluster, as on one machine), receives each finished row and result, and passes it
to the runner, which appends it: results stream into the one ``results.jsonl``. A worker that
dies (a crash, an OOM kill, a lost node) is restarted by Ray and the units it held are sent
again; since only rows that came back are written, every unit is written exactly once. A unit
that keeps killing its worker (``unit_retries`` times) is written as an error row, which
``--resume --retry-errors`` runs again.

Workers need agot (and the model's extras) installed where they run; on a remote cluster pass
``runtime_env`` (e.g. ``{"pip": ["agot[litellm]"]}``). ``--calls-in-flight`` stays per worker;
``--rpm``, ``--tpm`` and ``budget`` hold for the whole cluster.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

from agot.backends.registry import BackendOptions
from agot.budget import Budget
from agot.config import check_count
from agot.errors import AgotError, ConfigError
from agot.evals.executors.base import Deliver, UnitWork
from agot.evals.executors.model_actors import ModelActors

#: Seconds a worker that died is passed over while Ray restarts it (when another is up).
_DOWN_S = 10.0


_RAY_ADDRESS = re.compile(
    r"^(?:ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>\d{1,5}))?$"
)


def check_ray_address(address: str | None) -> str | None:
    """``address`` as Ray takes it (None or empty: a local instance; ``auto``; ``host:port``;
    ``ray://host[:port]``), or a ConfigError: Ray itself fails deep inside on a malformed one."""
    if address is None or not address.strip():
        return None
    text = address.strip()
    if text == "auto":
        return text
    match = _RAY_ADDRESS.match(text)
    port = match["port"] if match else None
    if match is None or (port is not None and not 0 < int(port) < 65536):
        raise ConfigError(
            f"--ray {text!r} is not a Ray address: give host:port, ray://host:port or auto "
            "(or no address for a local instance)"
        )
    return text


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """ConfigError when nothing listens at ``address``'s host and port (Ray would retry for
    minutes before giving up)."""
    match = _RAY_ADDRESS.match(address)
    if match is None or match["port"] is None:
        return
    host = match["host"].strip("[]")
    try:
        socket.create_connection((host, int(match["port"])), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(
            f"--ray {address}: cannot reach the Ray cluster ({exc.strerror or exc}); start it "
            "with 'ray start --head' or check the address"
        ) from None


class RayExecutor:
    """Units over Ray worker actors; see the module docstring."""

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        worker_cpus: float = 1.0,
        budget: Budget | None = None,
        model_actors: ModelActors | None = None,
        unit_retries: int = 3,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        if workers is not None:
            check_count(workers, "RayExecutor: workers")
        if worker_cpus < 0:
            raise ConfigError(f"RayExecutor: worker_cpus must be >= 0, got {worker_cpus}")
        self.address = check_ray_address(address)
        self.workers = workers
        self.worker_cpus = worker_cpus
        self.budget = budget
        self.model_actors = model_actors
        self.unit_retries = unit_retries
        self.runtime_env = runtime_env
        self._turn = 0
        #: Handles of the running worker actors and model actors (by model key), e.g. to
        #: find their pids; empty outside a run.
        self.handles: list[Any] = []
        self.model_handles: dict[str, list[Any]] = {}
        #: After a run: units sent again because their worker died, and the bank's totals.
        self.resent = 0
        self.bank_totals: dict[str, Any] | None = None
        self.worker_stats: list[dict[str, int]] = []

    # -- cluster ----------------------------------------------------------------------------
    def _connect(self) -> tuple[Any, bool]:
        """The ray module, and whether this executor started Ray (and so stops it)."""
        try:
            import ray
        except ImportError:
            raise ConfigError(
                'running on Ray needs the ray extra: pip install "agot[ray]"'
            ) from None
        if ray.is_initialized():
            return ray, False
        options: dict[str, Any] = {"log_to_driver": False, "runtime_env": self.runtime_env}
        if self.address:
            options["address"] = self.address
        else:  # a private local instance: loopback only, no dashboard
            options.update(include_dashboard=False, _node_ip_address="127.0.0.1")
        if self.address and self.address != "auto":
            _reachable(self.address)
        try:
            ray.init(**options)
        except ConnectionError as exc:
            where = self.address or "local"
            raise ConfigError(f"--ray {where}: cannot reach the Ray cluster: {exc}") from None
        return ray, True

    async def worker_pids(self) -> list[int]:
        return list(await asyncio.gather(*(h.pid.remote() for h in self.handles)))

    # -- the run ----------------------------------------------------------------------------
    async def run(
        self, work: UnitWork, units: Sequence[Any], deliver: Deliver, *, concurrency: int
    ) -> None:
        if not units:
            return
        ray, started = self._connect()
        actors: list[Any] = []
        try:
            await self._run(ray, actors, work, units, deliver, concurrency)
        finally:
            for actor in actors:
                ray.kill(actor)
            self.handles = []
            self.model_handles = {}
            if started:
                ray.shutdown()

    async def _run(
        self,
        ray: Any,
        actors: list[Any],
        work: UnitWork,
        units: Sequence[Any],
        deliver: Deliver,
        concurrency: int,
    ) -> None:
        from agot.evals.executors.leases import LeaseBank
        from agot.evals.executors.model_actors import ModelHost
        from agot.evals.executors.ray_worker import EvalWorker

        specs = work.dispatcher_specs()
        rates = {}
        for key, spec in specs.items():
            limits = spec.kwargs.get("limits")
            rpm = limits.requests_per_minute if limits else None
            tpm = limits.tokens_per_minute if limits else None
            if rpm or tpm:
                rates[key] = (rpm, tpm)
        bank = None
        if rates or self.budget is not None:
            first = next(iter(rates.values()), (None, None))
            bank = (
                ray.remote(LeaseBank)
                .options(num_cpus=0, max_restarts=-1)
                .remote(rates, self.budget, default_rates=first)
            )
            actors.append(bank)

        hosts: dict[str, tuple[list[Any], dict[str, Any], dict[str, Any]]] = {}
        hosting = self.model_actors
        if hosting is not None:
            host_cls = ray.remote(ModelHost)
            for key, spec in specs.items():
                if not isinstance(spec.model, str) or not hosting.hosts(spec.model):
                    continue
                options = _host_options(spec.kwargs, hosting.backend_options)
                handles = [
                    host_cls.options(
                        num_cpus=hosting.num_cpus,
                        num_gpus=hosting.num_gpus,
                        max_restarts=-1,
                        max_task_retries=0,
                    ).remote(spec.model, options)
                    for _ in range(hosting.replicas)
                ]
                actors.extend(handles)
                self.model_handles[key] = handles
                description = await handles[0].describe.remote()
                if "error" in description:
                    raise ConfigError(f"model actor for {key!r}: {description['error']}")
                policy = hosting.replica_policy or spec.kwargs.get("replica_policy")
                hosts[key] = (handles, description, {"replica_policy": policy})

        count = self.workers or max(1, int(ray.available_resources().get("CPU", 1)))
        worker_cls = ray.remote(EvalWorker).options(
            num_cpus=self.worker_cpus, max_restarts=-1, max_task_retries=0
        )
        self.handles = [
            worker_cls.remote(work, bank, frozenset(rates), self.budget is not None, hosts)
            for _ in range(count)
        ]
        actors.extend(self.handles)
        await self._ready()
        await self._dispatch(ray, work, units, deliver, concurrency)
        self.worker_stats = list(await asyncio.gather(*(h.stats.remote() for h in self.handles)))
        await asyncio.gather(*(h.aclose.remote() for h in self.handles))
        if bank is not None:
            self.bank_totals = await bank.snapshot.remote()

    def _pick(self, outstanding: Sequence[int], up: Sequence[bool]) -> int:
        """The worker with the fewest units outstanding among those up; ties take turns."""
        self._turn += 1
        n = len(outstanding)
        candidates = [i for i in range(n) if up[i]] or list(range(n))
        return min(candidates, key=lambda i: (outstanding[i], (i - self._turn) % n))

    async def _ready(self) -> None:
        """Wait until every worker is built; a bad setting is one clear error, not N dead
        actors and a run full of failed items."""
        from ray.exceptions import RayActorError

        try:
            errors = await asyncio.gather(*(h.ready.remote() for h in self.handles))
        except RayActorError as exc:
            raise AgotError(f"a Ray eval worker failed to start: {exc}") from None
        for error in errors:
            if error:
                raise ConfigError(error)

    async def _dispatch(
        self, ray: Any, work: UnitWork, units: Sequence[Any], deliver: Deliver, concurrency: int
    ) -> None:
        from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError

        pending = deque(units)
        inflight: dict[asyncio.Future[Any], tuple[Any, int]] = {}
        outstanding = [0] * len(self.handles)
        down_until = [0.0] * len(self.handles)
        deaths: Counter[tuple[str, str, str]] = Counter()
        writes: set[asyncio.Task[None]] = set()
        failure: BaseException | None = None

        def delivered(task: asyncio.Task[None]) -> None:
            nonlocal failure
            writes.discard(task)
            if not task.cancelled() and task.exception() is not None and failure is None:
                failure = task.exception()

        try:
            while (pending or inflight) and failure is None:
                while pending and len(inflight) < concurrency:
                    unit = pending.popleft()
                    now = time.monotonic()
                    index = self._pick(outstanding, [u <= now for u in down_until])
                    ref = self.handles[index].run.remote(unit)
                    inflight[asyncio.wrap_future(ref.future())] = (unit, index)
                    outstanding[index] += 1
                done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    unit, index = inflight.pop(future)
                    outstanding[index] -= 1
                    try:
                        rows = future.result()
                    except (RayActorError, ActorUnavailableError) as exc:
                        down_until[index] = time.monotonic() + _DOWN_S
                        deaths[unit.key] += 1
                        if deaths[unit.key] <= self.unit_retries:
                            self.resent += 1
                            pending.appendleft(unit)
                            continue
                        rows = work.failed_unit(
                            unit,
                            f"WorkerDied: its Ray worker died {deaths[unit.key]} times while "
                            f"running it ({type(exc).__name__})",
                        )
                    except RayTaskError as exc:  # a failure outside any unit's own handling
                        raise exc.as_instanceof_cause() from None
                    for row, result in rows:
                        task = asyncio.create_task(deliver(unit, row, result))
                        writes.add(task)
                        task.add_done_callback(delivered)
        finally:
            for future in inflight:
                future.cancel()
            if writes:
                await asyncio.gather(*writes, return_exceptions=True)
        if failure is not None:
            raise failure


def _host_options(kwargs: dict[str, Any], given: BackendOptions | None) -> BackendOptions:
    """A hosted model's backend options: the run's for that model (``-M``, ``api_base``),
    with those set on :class:`ModelActors` laid over them."""
    fields = {k: v for k, v in kwargs.items() if k in BackendOptions.model_fields and v is not None}
    if given is not None:
        fields.update({k: getattr(given, k) for k in given.model_fields_set})
    return BackendOptions(**fields)
