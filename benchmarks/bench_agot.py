"""AGoT controller benchmarks.

1. paper setting (N=3, d=1, L=3), scripted 0.2 s per call, the remote backends' default
   concurrency: the longest chain of sequential calls and the wall time, with and without
   speculation, for (a) no thought complex and no early stop, (b) every top-level thought
   complex. Targets: (a) chain <= 10 plain, <= 7 speculative; (b) <= 22 and <= 19 (the authors'
   reference implementation: 26 on (b)); wall <= 1.05 x the critical path.
2. overhead: a run of >= 1,000 thoughts on a zero-latency scripted backend; CPU per node
   (target <= 1 ms).
3. concurrency: scripted latency 0.2 s + 5 ms per output token, fan-out 3-8, depth 2; wall time
   over the critical path computed from the trace (target <= 1.05).
4. local (optional, --local): one real AGoT run on the embedded model: calls, tokens, wall time
   and the graph as text.

Run: ``python benchmarks/bench_agot.py [--local]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import agot
from agot.backends import LatencyModel, ScriptedBackend
from agot.backends.base import Capabilities
from agot.backends.openai_wire import DEFAULT_CONCURRENCY
from agot.critical_path import longest_chain
from agot.limits import Limits
from agot.testing.agot_scripts import agot_script


def paper_setting(case: str, speculate: bool) -> dict[str, float]:
    """One run at N=3, d=1, L=3 with 0.2 s calls and the remote default concurrency."""
    complex_if = (lambda n: "." not in n) if case == "b" else (lambda n: False)
    backend = ScriptedBackend(
        agot_script(fanout=3, complex_if=complex_if),
        latency=LatencyModel(fixed_s=0.2),
        capabilities=Capabilities(default_concurrency=DEFAULT_CONCURRENCY),
    )
    strategy = agot.AGoT(max_depth=1, max_layers=3, max_nodes=3, speculate=speculate)
    result = asyncio.run(strategy.solve("benchmark question", model=backend))
    f = result.details["figures"]
    return {
        "chain": longest_chain(result.events),
        "calls": result.usage.calls,
        "wasted": f["wasted_calls"],
        "wall_s": f["wall_s"],
        "critical_path_s": f["critical_path_s"],
        "ratio": f["wall_s"] / f["critical_path_s"],
    }


def overhead() -> dict[str, float]:
    backend = ScriptedBackend(agot_script(fanout=8, complex_if=lambda n: True))
    strategy = agot.AGoT(max_depth=2, max_layers=3, max_nodes=8, max_thoughts=10_000)
    limits = Limits(max_concurrency=10_000)
    t0, c0 = time.perf_counter(), time.process_time()
    result = asyncio.run(strategy.solve("benchmark question", model=backend, limits=limits))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    nodes = result.details["figures"]["nodes"]
    return {
        "nodes": nodes,
        "calls": result.usage.calls,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_ms_per_node": 1000 * cpu / nodes,
        "cpu_ms_per_call": 1000 * cpu / result.usage.calls,
    }


def concurrency(seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    fanouts: dict[str, int] = {}

    def fanout_of(node_id: str) -> int:
        return fanouts.setdefault(node_id, rng.randint(3, 8))

    base = {k: agot_script(fanout=k, complex_if=lambda n: rng.random() < 0.5) for k in range(3, 9)}

    def script(request):
        return base[fanout_of(request.node_id or "")](request)

    backend = ScriptedBackend(script, latency=LatencyModel(fixed_s=0.2, per_token_s=0.005))
    strategy = agot.AGoT(max_depth=2, max_layers=3, max_nodes=8, max_thoughts=10_000)
    result = asyncio.run(
        strategy.solve("benchmark question", model=backend, limits=Limits(max_concurrency=1000))
    )
    f = result.details["figures"]
    return {
        "nodes": f["nodes"],
        "calls": f["calls"],
        "wall_s": f["wall_s"],
        "critical_path_s": f["critical_path_s"],
        "ratio": f["wall_s"] / f["critical_path_s"],
        "parallelism": f["parallelism"],
    }


def local_run(question: str) -> None:
    from agot.render import graph_to_text

    strategy = agot.AGoT(max_depth=1, max_layers=2, max_nodes=2, max_tokens=96)
    t0 = time.perf_counter()
    result = agot.run_sync(strategy.solve(question, model="local"))
    wall = time.perf_counter() - t0
    u = result.usage
    print(
        f"\nlocal AGoT run: {u.calls} calls, {u.prompt_tokens} prompt + "
        f"{u.completion_tokens} completion tokens, wall {wall:.1f} s"
    )
    print(f"figures: {result.details['figures']}")
    print(graph_to_text(result.thought_graph()))
    print(f"answer: {result.answer!r}  stopped: {result.stopped}  errors: {result.errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--local", action="store_true", help="also run AGoT on the embedded model")
    parser.add_argument(
        "--question",
        default="A train leaves at 3 pm and travels 120 km at "
        "60 km/h. A second train leaves at 4 pm at 80 km/h on the same route. "
        "When does the second train catch up?",
    )
    args = parser.parse_args()
    print(f"paper setting N=3 d=1 L=3, 0.2 s per call, concurrency {DEFAULT_CONCURRENCY}")
    print("  case                      speculate  chain  calls  wasted  wall s  crit s  ratio")
    for case, label in (("a", "(a) none complex"), ("b", "(b) top thoughts complex")):
        for speculate in (False, True):
            p = paper_setting(case, speculate)
            print(
                f"  {label:<25} {speculate!s:<9} {p['chain']:>6} {p['calls']:>6} "
                f"{p['wasted']:>7} {p['wall_s']:>7.3f} {p['critical_path_s']:>7.3f} "
                f"{p['ratio']:>6.3f}"
            )
    o = overhead()
    print("overhead (zero-latency scripted backend)")
    print(
        f"  nodes {o['nodes']}, calls {o['calls']}, cpu {o['cpu_s']:.2f} s, "
        f"wall {o['wall_s']:.2f} s -> {o['cpu_ms_per_node']:.3f} ms CPU/node "
        f"({o['cpu_ms_per_call']:.3f} ms/call; target <= 1 ms/node)"
    )
    print("concurrency (0.2 s + 5 ms/token, fan-out 3-8, depth 2)")
    header = ("seed", "nodes", "calls", "wall s", "crit s", "ratio", "par")
    print("  " + " ".join(f"{h:>{w}}" for h, w in zip(header, (4, 6, 6, 8, 8, 6, 6), strict=True)))
    for seed in range(args.seeds):
        c = concurrency(seed)
        print(
            f"  {seed:>4} {c['nodes']:>6} {c['calls']:>6} {c['wall_s']:>8.3f} "
            f"{c['critical_path_s']:>8.3f} {c['ratio']:>6.3f} {c['parallelism']:>6.1f}"
        )
    print("  (ratio = wall / critical path; target <= 1.05)")
    if args.local:
        local_run(args.question)


if __name__ == "__main__":
    main()
