"""Dispatcher benchmarks: per-request CPU overhead and concurrency efficiency.

Both use the scripted backend, so they measure agot's own machinery, not a model:

* **overhead**: N requests (default 10,000) to a zero-latency scripted backend, sequentially
  and as one concurrent batch; CPU seconds per request from ``time.process_time`` (target
  <= 0.2 ms), with and without a run recorder active (what strategies always use).
* **concurrency**: 200 requests of 0.2 s simulated latency under ``max_concurrency=50``; the
  ideal wall time is ``ceil(200 / 50) * 0.2 = 0.8 s`` (target <= 1.05x the ideal).

Run: ``python benchmarks/bench_dispatcher.py [--requests N] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import time
from collections.abc import Callable, Coroutine
from typing import Any

from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.dispatcher import Dispatcher
from agot.limits import Limits
from agot.trace import RunRecorder, recording
from agot.types import GenerationRequest, SamplingParams

OVERHEAD_TARGET_MS = 0.2
CONCURRENCY_TARGET_RATIO = 1.05


def _requests(n: int) -> list[GenerationRequest]:
    params = SamplingParams(max_tokens=16)
    return [
        GenerationRequest.chat(f"question {i}", system="bench", params=params, node_id=f"n{i}")
        for i in range(n)
    ]


async def _sequential(dispatcher: Dispatcher, requests: list[GenerationRequest]) -> None:
    for request in requests:
        await dispatcher.generate(request)


async def _concurrent(dispatcher: Dispatcher, requests: list[GenerationRequest]) -> None:
    await asyncio.gather(*(dispatcher.generate(r) for r in requests))


def overhead(n: int, *, mode: str, recorder: bool) -> float:
    """CPU milliseconds per request through the dispatcher (zero-latency backend)."""
    requests = _requests(n)
    backend = ScriptedBackend({"*": "Answer: 42"})
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=64))
    run = _sequential if mode == "sequential" else _concurrent

    async def main() -> float:
        await run(dispatcher, requests[:200])  # warm-up: imports, first-use paths
        backend.calls.clear()
        start = time.process_time()
        if recorder:
            with recording(RunRecorder()):
                await run(dispatcher, requests)
        else:
            await run(dispatcher, requests)
        return time.process_time() - start

    cpu = asyncio.run(main())
    assert len(backend.calls) == n
    return cpu / n * 1000.0


def concurrency(
    n: int = 200, latency_s: float = 0.2, cap: int = 50
) -> tuple[float, float, float, int]:
    """(wall s, CPU s, ideal s, observed max in flight) for ``n`` delayed requests."""
    backend = ScriptedBackend({"*": "Answer: 42"}, latency=LatencyModel(fixed_s=latency_s))
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=cap))
    requests = _requests(n)

    async def main() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        await _concurrent(dispatcher, requests)
        return time.perf_counter() - start, time.process_time() - cpu

    wall, cpu = asyncio.run(main())
    ideal = math.ceil(n / cap) * latency_s
    return wall, cpu, ideal, backend.max_in_flight


def _profile(fn: Callable[[], Coroutine[Any, Any, None]] | Callable[[], Any]) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="overhead requests")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (best is reported)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of overhead")
    args = parser.parse_args(argv)

    rows: list[tuple[str, float, float, str]] = []
    for mode in ("sequential", "concurrent"):
        for rec in (False, True):
            best = min(overhead(args.requests, mode=mode, recorder=rec) for _ in range(args.repeat))
            label = f"overhead {mode}{' + recorder' if rec else ''} (ms CPU/req)"
            rows.append((label, best, OVERHEAD_TARGET_MS, "<="))
    runs = sorted(concurrency() for _ in range(args.repeat))
    wall, cpu, ideal, peak = runs[0]
    median = runs[len(runs) // 2][0]
    target = ideal * CONCURRENCY_TARGET_RATIO
    rows.append(("concurrency 200x0.2s @50: wall (s), best", wall, target, "<="))
    rows.append(("concurrency 200x0.2s @50: wall (s), median", median, target, "<="))

    print(f"{'benchmark':<52} {'measured':>10} {'target':>10} {'ratio':>7}  ok")
    for label, value, target, _ in rows:
        ratio = value / target
        ok = "yes" if ratio <= 1 else "NO"
        print(f"{label:<52} {value:>10.4f} {target:>10.4f} {ratio:>7.2f}  {ok}")
    print(
        f"concurrency: ideal {ideal:.3f} s, best wall/ideal {wall / ideal:.3f}, "
        f"median wall/ideal {median / ideal:.3f}, CPU {cpu:.3f} s, max in flight {peak}"
    )

    if args.profile:
        print(_profile(lambda: overhead(args.requests, mode="sequential", recorder=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
