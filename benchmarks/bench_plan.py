"""How far ``agot plan`` can be trusted: a 20-item pilot's prediction against the real run.

The workload is an AGoT eval whose graphs vary from item to item as a real model's do
(``varied_agot_script``: 1 to 3 thoughts a layer, 1 to 3 layers, a nested graph one item in
three), served by the scripted backend with a latency model (``--latency`` seconds a call plus
``--per-token`` a completion token), so wall time behaves like a server that is not saturated.

1. ``plan_eval`` runs a ``--pilot``-item pilot at ``--concurrency`` (calls and items in flight)
   and predicts the ``--items``-item run there and, as a what-if, at ``--run-concurrency``;
2. the whole run is then made at both concurrencies, and each figure's prediction error
   (``|predicted - actual| / actual``) is printed with whether the 90% interval held the actual.

Targets (issue #28): calls and tokens within 10%, wall time within 15% (also at the other
concurrency), the actual inside the interval, and the plan's own work (everything but the
pilot) under 1 s of CPU. Run: ``python benchmarks/bench_plan.py [--items 200] [--pilot 20]
[--concurrency 8] [--run-concurrency 32] [--seed 0] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from agot_scripts import varied_agot_script
from eval_workload import write_city_items

from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.cli.plan import plan_eval
from agot.evals.run_folder import RunFolder
from agot.evals.runner import EvalConfig, run_eval
from agot.limits import Limits
from agot.plan import predict

FIGURES = ("calls", "prompt_tokens", "completion_tokens", "wall_s")


def config(data: Path, args: argparse.Namespace, concurrency: int) -> EvalConfig:
    backend = ScriptedBackend(
        varied_agot_script(seed=args.seed),
        latency=LatencyModel(fixed_s=args.latency, per_token_s=args.per_token),
    )
    return EvalConfig(
        dataset="hotpotqa",
        data=str(data),
        strategies=["agot"],
        models=[backend],
        progress=False,
        concurrency=concurrency,
        limits=Limits(max_concurrency=concurrency),
        seed=args.seed,
    )


async def actual(data: Path, args: argparse.Namespace, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        summary = await run_eval(config(data, args, concurrency).model_copy(update={"out": out}))
        rows = RunFolder(out).rows()
    return {
        "calls": sum(r.usage.calls for r in rows),
        "prompt_tokens": sum(r.usage.prompt_tokens for r in rows),
        "completion_tokens": sum(r.usage.completion_tokens for r in rows),
        "wall_s": summary.wall_s,
    }


async def main(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        data = write_city_items(Path(folder) / "dev.json", args.items)
        base = config(data, args, args.concurrency)
        plan = await plan_eval(
            base, pilot=args.pilot, what_if=(f"concurrency={args.run_concurrency}",)
        )
        cpu = time.process_time()
        for prediction in plan.predictions:  # the plan's own work, timed apart from the pilot
            predict(plan.pilot, prediction.scenario, seed=args.seed)
        plan_cpu = time.process_time() - cpu
        runs = {
            args.concurrency: await actual(data, args, args.concurrency),
            args.run_concurrency: await actual(data, args, args.run_concurrency),
        }
    report: dict[str, object] = {
        "items": args.items,
        "pilot": args.pilot,
        "pilot_calls": plan.spent["calls"],
        "plan_cpu_s": round(plan_cpu, 3),
        "runs": {},
    }
    for prediction, concurrency in zip(plan.predictions, runs, strict=True):
        measured = runs[concurrency]
        rows = {}
        for name in FIGURES:
            interval = prediction.figures[name]
            value = measured[name]
            rows[name] = {
                "actual": round(value, 3),
                **interval.dump(3),
                "error": round(abs(interval.expected - value) / value, 4) if value else None,
                "in_interval": interval.contains(value),
            }
        report["runs"][f"concurrency={concurrency}"] = rows  # type: ignore[index]
    return report


def show(report: dict[str, object]) -> None:
    print(
        f"agot plan: {report['items']}-item AGoT run predicted from a {report['pilot']}-item "
        f"pilot ({report['pilot_calls']:.0f} calls); plan CPU {report['plan_cpu_s']} s"
    )
    for label, rows in report["runs"].items():  # type: ignore[attr-defined]
        print(f"  {label}")
        for name, row in rows.items():
            print(
                f"    {name:18} actual {row['actual']:>10}  predicted {row['expected']:>10} "
                f"[{row['low']}, {row['high']}]  error {100 * row['error']:5.1f}%  "
                f"{'inside' if row['in_interval'] else 'OUTSIDE'} the 90% interval"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--pilot", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--run-concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--per-token", type=float, default=0.0003)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    result = asyncio.run(main(options))
    if options.json:
        print(json.dumps(result, indent=1))
    else:
        show(result)
