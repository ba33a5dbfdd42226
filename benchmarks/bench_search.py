"""Search strategies (ToT, AoT, best-of-N): is every ready step run concurrently?

Each strategy runs on a scripted model with a fixed latency per call and room for every call
of a step at once. The trace's critical path (the longest chain of calls through
``depends_on``, :mod:`agot.critical_path`) is what no schedule can beat; the wall time over it
shows the overhead of the strategy's own scheduling. Target: wall / critical path <= 1.05.

Run: ``python benchmarks/bench_search.py [--latency 0.1]``
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from agot.backends import LatencyModel, ScriptedBackend
from agot.backends.base import Capabilities
from agot.critical_path import critical_path, longest_chain, span
from agot.strategies import AoT, BestOfN, Strategy, ToT
from agot.testing.search_scripts import (
    CROSSWORD,
    PUZZLE,
    aot_script,
    crossword_script,
    game24_script,
)
from agot.types import GenerationRequest


def bon_script(request: GenerationRequest) -> Any:
    if request.role == "verify":
        return {"check": "fine", "score": 7}
    return f"Reasoning.\nAnswer: {request.sample_index}"


def vote_script(request: GenerationRequest) -> str:
    if request.role == "vote":
        return "Best choice: 1"
    return f"Step {request.sample_index}\nAnswer: {request.sample_index}"


CASES: list[tuple[str, Callable[[], Strategy], Any, str]] = [
    ("tot game24 (b=5, 3 values, 4 steps)", ToT, game24_script, PUZZLE),
    ("tot sample/vote (5 samples, 5 votes)", ToT, vote_script, "Why is the sky blue?"),
    ("tot crosswords (DFS, prune)", lambda: ToT(max_states=20), crossword_script, CROSSWORD),
    ("aot (3 iterations, ensemble)", AoT, aot_script(direct="90"), "population?"),
    ("bon (n=5, model verifier)", BestOfN, bon_script, "What is 6 * 7?"),
]


def measure(make: Callable[[], Strategy], script: Any, question: str, latency: float) -> dict:
    backend = ScriptedBackend(
        script,
        latency=LatencyModel(fixed_s=latency),
        capabilities=Capabilities(default_concurrency=256),
    )
    result = asyncio.run(make().solve(question, model=backend))
    crit, _ = critical_path(result.events)
    wall = span(result.events)
    return {
        "calls": result.usage.calls,
        "chain": longest_chain(result.events),
        "wall_s": wall,
        "critical_path_s": crit,
        "ratio": wall / crit if crit else float("nan"),
        "run_s": result.wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per scripted call")
    args = parser.parse_args()
    print(f"scripted calls of {args.latency} s, up to 256 in flight")
    print(f"  {'strategy':<38} {'calls':>6} {'chain':>6} {'wall s':>8} {'crit s':>8} {'ratio':>6}")
    for label, make, script, question in CASES:
        m = measure(make, script, question, args.latency)
        print(
            f"  {label:<38} {m['calls']:>6} {m['chain']:>6} {m['wall_s']:>8.3f} "
            f"{m['critical_path_s']:>8.3f} {m['ratio']:>6.3f}"
        )
    print("  (wall = first call's start to last call's end; ratio = wall / critical path, "
          "target <= 1.05)")  # fmt: skip


if __name__ == "__main__":
    main()
