"""Evals on Ray: throughput on 1 vs 2 workers, and what the shared rate limiter costs a call.

Three measurements, all on a private local Ray instance (127.0.0.1):

* ``scale``: a CPU-bound eval (each item burns ``--cpu-ms`` of pure-Python CPU in its strategy,
  then makes one zero-latency scripted call) run in-process, on 1 Ray worker and on 2. One
  process holds the GIL, so only more processes add throughput; the figure is items/s on 2
  workers over items/s on 1 (ideal 2.0 on 2 idle cores). The runner's own wall clock (first
  row to last row written, scaled to all items) is used, so starting workers is not counted.
* ``limiter``: zero-latency calls from one Ray worker through a dispatcher whose request rate
  is shared through the LeaseBank actor (rate set far above what is reached, so nothing
  waits) against the same worker with a local limiter. Reported per call: the wall time
  added at concurrency 1 (every call pays one round trip to the bank) and at concurrency 64
  (calls waiting together share one lease), with the calls admitted per lease.
* ``gpu`` (``--gpu-model transformers/<id>``, needs a GPU): the same eval against one model
  actor holding a whole GPU, then two actors sharing it (``num_gpus=0.5`` each).

Run: ``python benchmarks/bench_ray.py [--items 200] [--cpu-ms 20] [--calls 2000]
[--mode scale|limiter|both] [--gpu-model transformers/Qwen/Qwen2.5-0.5B-Instruct]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from agot.evals.records import EvalRecord
from agot.evals.run_folder import RunFolder
from agot.evals.runner import run_eval
from agot.strategies import Outcome, Strategy
from agot.types import GenerationRequest, Message


class BurnThenAsk(Strategy):
    """Burns CPU (a stand-in for parsing, graph work, scoring) then asks the model once."""

    name = "burn"

    def __init__(self, cpu_ms: float) -> None:
        super().__init__()
        self.cpu_ms = cpu_ms

    async def run(self, task: Any, ctx: Any) -> Outcome:
        deadline = time.process_time() + self.cpu_ms / 1000
        x = 0
        while time.process_time() < deadline:
            x = (x * 31 + 7) % 1_000_003
        request = GenerationRequest(
            messages=(Message(role="user", content=task.question),), role="answer"
        )
        generation = await ctx.dispatcher.generate(request)
        return Outcome(answer=generation.text)


def records(items: int) -> list[EvalRecord]:
    return [
        EvalRecord(id=f"r{i:04d}", dataset="hotpotqa", question=f"Item {i}?", gold="scripted")
        for i in range(items)
    ]


async def eval_wall(items: int, cpu_ms: float, model: str, executor: Any) -> float:
    """Seconds per ``items`` in the steady state: from the first row written to the last,
    scaled to all items (so starting the workers, seconds on a busy machine, is left out)."""
    with tempfile.TemporaryDirectory() as out:
        summary = await run_eval(
            "hotpotqa",
            records=records(items),
            strategies=[BurnThenAsk(cpu_ms)],
            models=[model],
            concurrency=16,
            out=out,
            progress=False,
            resamples=100,
            executor=executor,
        )
        assert not any(g.errors for g in summary.groups), "items failed"
        done = sorted(row.finished_at for row in RunFolder(out).read_results())
        return (done[-1] - done[0]) * len(done) / (len(done) - 1)


async def scale(items: int, cpu_ms: float) -> None:
    from agot.evals.executors import RayExecutor

    local = await eval_wall(items, cpu_ms, "scripted", None)
    one = await eval_wall(items, cpu_ms, "scripted", RayExecutor(workers=1))
    two = await eval_wall(items, cpu_ms, "scripted", RayExecutor(workers=2))
    print(f"scale: {items} items x {cpu_ms:g} ms CPU + one scripted call, concurrency 16")
    for label, wall in (("in-process", local), ("1 Ray worker", one), ("2 Ray workers", two)):
        print(f"  {label:14s} {wall:6.2f} s  {items / wall:6.1f} items/s")
    print(f"  throughput 2 workers / 1 worker: {one / two:.2f} x (ideal 2.0 on two idle cores)")


class Prober:
    """A Ray actor timing calls through a shared (bank) or local request limiter."""

    def __init__(self, bank: Any) -> None:
        self.bank = bank

    async def time_calls(self, calls: int, concurrency: int, shared: bool) -> dict[str, float]:
        from agot.backends.scripted import ScriptedBackend
        from agot.evals.executors.shared_limits import SharedDispatcher, SharedLimits
        from agot.limits import Limits

        async def lease(request: Any) -> Any:
            return await self.bank.lease.remote(request)

        async def report(spent: Any) -> None:
            await self.bank.report.remote(spent)

        client = SharedLimits(lease, report)
        dispatcher = SharedDispatcher(
            ScriptedBackend(),
            shared=client,
            bank_key="m",
            shared_rates=shared,
            budget_shared=False,
            limits=Limits(requests_per_minute=1e9, max_concurrency=concurrency),
        )
        request = GenerationRequest(messages=(Message(role="user", content="q"),), role="answer")
        queue = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with queue:
                await dispatcher.generate(request)

        await asyncio.gather(*(one() for _ in range(min(calls, 50))))  # warm up
        client.leases = client.admitted = 0
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(calls)))
        return {
            "wall_s": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu,
            "leases": client.leases,
            "admitted": client.admitted,
        }


async def limiter(calls: int) -> None:
    import ray

    from agot.evals.executors.leases import LeaseBank

    bank = ray.remote(LeaseBank).options(num_cpus=0).remote({"m": (1e9, None)})
    prober: Any = ray.remote(Prober).options(num_cpus=1).remote(bank)
    print(f"limiter: {calls} zero-latency calls from one Ray worker, rate far above reach")
    for concurrency in (1, 64):
        base = await prober.time_calls.remote(calls, concurrency, False)
        shared = await prober.time_calls.remote(calls, concurrency, True)
        added_ms = (shared["wall_s"] - base["wall_s"]) / calls * 1000
        per_lease = shared["admitted"] / max(1, shared["leases"])
        print(
            f"  concurrency {concurrency:3d}: local {base['wall_s'] / calls * 1000:.3f} ms/call, "
            f"shared {shared['wall_s'] / calls * 1000:.3f} ms/call (+{added_ms:.3f} ms; worker "
            f"CPU +{(shared['cpu_s'] - base['cpu_s']) / calls * 1000:.3f} ms), "
            f"{per_lease:.1f} calls per lease"
        )
    ray.kill(prober)
    ray.kill(bank)


async def gpu(model: str, items: int) -> None:
    from agot.evals.executors import ModelActors, RayExecutor

    walls = []
    for replicas, share in ((1, 1.0), (2, 0.5)):
        actors = ModelActors(replicas=replicas, num_gpus=share, num_cpus=1)
        executor = RayExecutor(workers=1, model_actors=actors)
        walls.append(await eval_wall(items, 0.0, model, executor))
    print(
        f"gpu: {model}, {items} items: one actor {walls[0]:.2f} s, two sharing it {walls[1]:.2f} s"
    )
    print(f"  throughput two actors / one: {walls[0] / walls[1]:.2f} x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--cpu-ms", type=float, default=20.0)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--mode", choices=("scale", "limiter", "both"), default="both")
    parser.add_argument("--gpu-model", default=None)
    args = parser.parse_args()
    import ray

    # Classes defined here (the strategy, the prober) reach the workers pickled by value.
    ray.init(
        num_cpus=os.cpu_count() or 2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    try:
        if args.mode in ("scale", "both"):
            await scale(args.items, args.cpu_ms)
        if args.mode in ("limiter", "both"):
            await limiter(args.calls)
        if args.gpu_model:
            await gpu(args.gpu_model, args.items)
    finally:
        ray.shutdown()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
