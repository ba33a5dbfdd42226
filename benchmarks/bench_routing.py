"""Routing benchmark: round-robin vs least-outstanding vs predictive on a simulated fleet.

The fleet is a discrete-event simulation on virtual time, driving agot's own routing core
(:class:`agot.fleet.EndpointRouter`, the object the dispatcher drives with the wall clock): same
policies, same queues, same online speed and length predictors, same breakers. Virtual time
makes a thousand-item run take a second of CPU and makes every number reproducible, so the
policies are compared on identical arrivals and identical call lengths in one run.

* **Replicas**: three, each with ``SLOTS`` batch slots (a call beyond them waits in agot's queue
  for that replica), per-token speeds 1x, 1.5x and 3x slower (time to first token likewise),
  +-10 % noise per call. Weights are equal: nobody told agot which replica is fast.
* **Workloads**: ``agot``: items are DAGs (decompose -> 2-4 parallel solves -> check -> maybe a
  second layer of 1-2 solves -> final), role lengths differ; ``mixed``: half direct answers
  (~20 tokens), half chain-of-thought (~400 tokens, long-tailed). Items arrive as a Poisson
  process at 50/80/95 % of the fleet's capacity (calls/s the three replicas can serve at their
  speeds, for the workload's mean call).
* **Metrics**: item latency (arrival to last call's end) P50/P99; and the highest load (swept
  in 5 % steps) whose P99 stays within a target (``TARGET_X`` x the P99 of items run alone on
  the fastest replica).

P50 and P99 are means over several independent arrival streams (``--seeds``, default 3): one
stream's P99 rests on its 20 slowest items, and the policies' gaps move by several points from
one stream to the next.

``--live`` also runs 80 % load through a real :class:`~agot.Dispatcher` on real time (scaled
by ``LIVE_SCALE``), with in-process replicas behind three endpoint URLs: the whole call path
(per-replica gates, the router's queues, retries) instead of the router alone.

Run: ``python benchmarks/bench_routing.py [--items N] [--seeds K] [--live]``.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agot.backends.base import Capabilities
from agot.backends.registry import BackendOptions, register_backend
from agot.dispatcher import Dispatcher
from agot.fleet import CallInfo, EndpointRouter, ReplicaSpec, Ticket
from agot.limits import Limits
from agot.trace import RunRecorder, recording
from agot.types import BackendReply, GenerationRequest, SamplingParams

POLICIES = ("round-robin", "least-outstanding", "predictive")
LOADS = (0.5, 0.8, 0.95)
SLOTS = 4
#: Per-token seconds (virtual) and time to first token of the three replicas.
SPEEDS = (1.0, 1.5, 3.0)
TPOT_S = 0.01
TTFT_S = 0.05
NOISE = 0.10
TARGET_X = 3.0

# -- workloads --------------------------------------------------------------------------------
#: role -> (mean tokens, spread as a lognormal sigma)
LENGTHS = {
    "decompose": (120, 0.2),
    "solve": (220, 0.35),
    "check": (40, 0.2),
    "final": (90, 0.2),
    "answer": (20, 0.2),
    "cot": (400, 0.5),
}


@dataclass
class Stage:
    """Calls that run in parallel; the next stage starts when all have finished."""

    roles: list[str]


def agot_item(rng: random.Random) -> list[Stage]:
    stages = [Stage(["decompose"]), Stage(["solve"] * rng.randint(2, 4)), Stage(["check"])]
    if rng.random() < 0.5:
        stages.append(Stage(["solve"] * rng.randint(1, 2)))
    stages.append(Stage(["final"]))
    return stages


def mixed_item(rng: random.Random) -> list[Stage]:
    return [Stage(["answer"])] if rng.random() < 0.5 else [Stage(["cot"])]


WORKLOADS: dict[str, Callable[[random.Random], list[Stage]]] = {
    "agot": agot_item,
    "mixed": mixed_item,
}


def tokens_for(role: str, rng: random.Random) -> int:
    mean, sigma = LENGTHS[role]
    return max(1, round(mean * rng.lognormvariate(-sigma * sigma / 2, sigma)))


@dataclass
class Item:
    arrival: float
    stages: list[list[tuple[str, int]]]  # per stage: (role, actual tokens)
    stage: int = 0
    pending: int = 0
    done_at: float = 0.0


def make_items(workload: str, n: int, rate: float, seed: int) -> list[Item]:
    """Arrivals and every call's true length, drawn once and shared by all policies."""
    rng = random.Random(seed)
    t, items = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate)
        stages = [[(r, tokens_for(r, rng)) for r in s.roles] for s in WORKLOADS[workload](rng)]
        items.append(Item(arrival=t, stages=stages))
    return items


def mean_call(workload: str, seed: int = 99) -> tuple[float, float]:
    """(mean calls per item, mean output tokens per call) of a workload, by sampling."""
    rng = random.Random(seed)
    calls = tokens = 0
    n = 5000
    for _ in range(n):
        for stage in WORKLOADS[workload](rng):
            for role in stage.roles:
                calls += 1
                tokens += tokens_for(role, rng)
    return calls / n, tokens / calls


def capacity_calls_per_s(workload: str) -> float:
    _, tokens = mean_call(workload)
    return sum(SLOTS / (TTFT_S * s + TPOT_S * s * tokens) for s in SPEEDS)


# -- the simulator ----------------------------------------------------------------------------
@dataclass
class Sim:
    """Discrete events on virtual time; the router's clock is ``now``."""

    policy: str
    seed: int
    speeds: tuple[float, ...] = SPEEDS
    slots: int = SLOTS
    now: float = 0.0
    events: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seq = itertools.count()
        self.rng = random.Random(self.seed + 7)
        self.router = EndpointRouter(
            [ReplicaSpec(f"r{i}", capacity=self.slots) for i in range(len(self.speeds))],
            self.policy,
            clock=lambda: self.now,
            on_start=self._started,
        )

    def at(self, when: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self._seq), fn))

    def _started(self, ticket: Ticket) -> None:
        assert ticket.endpoint is not None
        _, tokens = ticket.data
        speed = self.speeds[ticket.endpoint.index]
        noise = 1.0 + self.rng.uniform(-NOISE, NOISE)
        service = (TTFT_S + TPOT_S * tokens) * speed * noise
        self.at(self.now + service, lambda: self._finished(ticket, service))

    def _finished(self, ticket: Ticket, service: float) -> None:
        item, tokens = ticket.data
        self.router.finish(ticket, ok=True, latency_s=service, tokens=tokens)
        item.pending -= 1
        if item.pending == 0:
            item.stage += 1
            self._next_stage(item)

    def _next_stage(self, item: Item) -> None:
        if item.stage == len(item.stages):
            item.done_at = self.now
            return
        calls = item.stages[item.stage]
        item.pending = len(calls)
        for role, tokens in calls:
            info = CallInfo(role=role, max_tokens=1024, run_started=item.arrival)
            self.router.submit(info, data=(item, tokens))

    def run(self, items: list[Item]) -> list[float]:
        for item in items:
            self.at(item.arrival, lambda item=item: self._next_stage(item))
        while self.events:
            self.now, _, fn = heapq.heappop(self.events)
            fn()
        return [i.done_at - i.arrival for i in items]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def fresh(items: list[Item]) -> list[Item]:
    return [Item(arrival=i.arrival, stages=i.stages) for i in items]


def latencies(workload: str, policy: str, load: float, n: int, seed: int) -> list[float]:
    calls_per_item = mean_call(workload)[0]
    rate = load * capacity_calls_per_s(workload) / calls_per_item
    items = make_items(workload, n, rate, seed)
    return Sim(policy, seed).run(fresh(items))


def p50_p99(workload: str, policy: str, load: float, n: int, seeds: range) -> tuple[float, float]:
    """Item latency P50 and P99, each the mean over ``seeds`` (independent arrival streams)."""
    runs = [latencies(workload, policy, load, n, seed) for seed in seeds]
    return statistics.fmean(pct(r, 50) for r in runs), statistics.fmean(pct(r, 99) for r in runs)


def target_s(workload: str, n: int, seed: int) -> float:
    """TARGET_X x the P99 of items run alone (no queueing) on the fastest replica."""
    items = make_items(workload, n, rate=1e-3, seed=seed)
    alone = Sim("predictive", seed, speeds=(1.0,), slots=64).run(fresh(items))
    return TARGET_X * pct(alone, 99)


def max_load(workload: str, policy: str, target: float, n: int, seeds: range) -> float:
    """The highest load (5 % steps) whose P99 stays within ``target``."""
    held = 0.0
    for step in range(1, 21):  # 5 % .. 100 %
        load = step * 0.05
        if p50_p99(workload, policy, load, n, seeds)[1] > target:
            break
        held = load
    return held


# -- the same fleet in real time, through the Dispatcher ----------------------------------------
#: Real seconds per virtual second in ``--live`` runs (calls of 10-400 tokens take 5-600 ms).
LIVE_SCALE = 0.05
LIVE_URLS = tuple(f"http://127.0.0.1:{9101 + i}/v1" for i in range(len(SPEEDS)))


class SimReplica:
    """An in-process replica: ``SLOTS`` batch slots, queueing beyond, a per-token speed.

    Registered as the ``simreplica/<name>`` model string; the endpoint URL only says which
    replica it is (nothing listens there, no request leaves the process).
    """

    name = "simreplica"

    def __init__(self, model: str, speed: float, seed: int) -> None:
        self.model = model
        self.speed = speed
        self.capabilities = Capabilities(default_concurrency=SLOTS)
        self.rng = random.Random(seed)
        self._slots: asyncio.Semaphore | None = None

    async def generate(self, request: GenerationRequest) -> BackendReply:
        tokens = int(request.messages[-1].content.split("tokens=")[1])
        self._slots = self._slots or asyncio.Semaphore(SLOTS)
        async with self._slots:
            noise = 1.0 + self.rng.uniform(-NOISE, NOISE)
            await asyncio.sleep((TTFT_S + TPOT_S * tokens) * self.speed * noise * LIVE_SCALE)
        return BackendReply(text="ok", prompt_tokens=10, completion_tokens=tokens)

    async def aclose(self) -> None:
        pass


def _replica(rest: str, options: BackendOptions) -> SimReplica:
    index = LIVE_URLS.index(str(options.api_base))
    return SimReplica(rest, SPEEDS[index], seed=index)


async def live_latencies(workload: str, policy: str, load: float, n: int, seed: int) -> list[float]:
    """Item latencies (virtual seconds) of one run through a real Dispatcher on real time."""
    register_backend("simreplica", _replica)
    calls_per_item = mean_call(workload)[0]
    rate = load * capacity_calls_per_s(workload) / calls_per_item
    items = make_items(workload, n, rate, seed)
    params = SamplingParams(max_tokens=1024)
    out: list[float] = []
    async with Dispatcher(
        "simreplica/m",
        endpoints=list(LIVE_URLS),
        replica_policy=policy,
        limits=Limits(max_concurrency=SLOTS, timeout_s=120.0),
    ) as dispatcher:
        t0 = time.perf_counter()

        async def item(it: Item) -> None:
            await asyncio.sleep(max(0.0, it.arrival * LIVE_SCALE - (time.perf_counter() - t0)))
            start = time.perf_counter()
            with recording(RunRecorder()):
                for stage in it.stages:
                    await asyncio.gather(
                        *(
                            dispatcher.generate(
                                GenerationRequest.chat(f"tokens={t}", role=role, params=params)
                            )
                            for role, t in stage
                        )
                    )
            out.append((time.perf_counter() - start) / LIVE_SCALE)

        await asyncio.gather(*(item(it) for it in items))
    return out


def live(items: dict[str, int], seed: int) -> None:
    print(f"\nlive: the same fleet through agot.Dispatcher in real time (x{LIVE_SCALE}), 80% load")
    for workload, n in items.items():
        p99 = {}
        for policy in POLICIES:
            lat = asyncio.run(live_latencies(workload, policy, 0.8, n, seed))
            p99[policy] = pct(lat, 99)
            print(
                f"  {workload:<6} {policy:<18} {n} items  p50 {statistics.median(lat):7.2f}"
                f"  p99 {p99[policy]:7.2f} (virtual s)"
            )
        rr, lo, pr = (p99[p] for p in POLICIES)
        print(
            f"  {workload}: predictive P99 {100 * (1 - pr / rr):.0f}% below round-robin,"
            f" {100 * (1 - pr / lo):.0f}% below least-outstanding"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000, help="items per run (default 2000)")
    parser.add_argument("--seeds", type=int, default=3, help="arrival streams averaged (3)")
    parser.add_argument(
        "--live",
        action="store_true",
        help="also run 80%% load through a real Dispatcher on real time (a few minutes)",
    )
    args = parser.parse_args()
    t0 = time.process_time()
    n, seeds = args.items, range(args.seeds)
    print(
        f"fleet: 3 replicas x {SLOTS} slots, speeds {'/'.join(f'{s:g}x' for s in SPEEDS)}; "
        f"{n} items per run; P50/P99 are means over {len(seeds)} seeds"
    )
    for workload in WORKLOADS:
        target = target_s(workload, n, 0)
        print(f"\nworkload {workload}: P99 target {target:.2f} s (virtual)")
        head = "".join(f"  {f'{int(x * 100)}% p50/p99 s':>18}" for x in LOADS)
        print(f"  {'policy':<18}{head}  max load held")
        p99s: dict[str, dict[float, float]] = {}
        held: dict[str, float] = {}
        for policy in POLICIES:
            cells = []
            p99s[policy] = {}
            for load in LOADS:
                p50, p99 = p50_p99(workload, policy, load, n, seeds)
                p99s[policy][load] = p99
                cells.append(f"{p50:.2f}/{p99:.2f}")
            held[policy] = max_load(workload, policy, target, n, seeds)
            row = "".join(f"  {c:>18}" for c in cells)
            print(f"  {policy:<18}{row}  {held[policy] * 100:>5.0f}%")
        rr, lo, pr = (p99s[p][0.8] for p in POLICIES)
        print(
            f"  at 80%: predictive P99 {100 * (1 - pr / rr):.0f}% below round-robin (target 30%),"
            f" {100 * (1 - pr / lo):.0f}% below least-outstanding (target 15%)"
        )
        if held["round-robin"]:
            gain = f"{100 * (held['predictive'] / held['round-robin'] - 1):+.0f}%"
        else:
            gain = "round-robin holds no load step"
        print(f"  load held: predictive {gain} vs round-robin (target +10%)")
    if args.live:
        live({"mixed": 1000, "agot": 300}, seed=0)
    print(f"\nCPU {time.process_time() - t0:.1f} s")


if __name__ == "__main__":
    main()
