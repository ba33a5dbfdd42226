"""``agot plan eval DATASET [agot eval's flags]``: what an eval will spend, and how long it will
take, predicted from a pilot of its own items before the whole run is paid for.

The pilot runs ``--pilot K`` items (default 20, sampled with the run's seed) through exactly the
configuration given (strategies, models, limits, budgets), and records each call: its role,
tokens, cost, attempts, time queued and served, and the calls it depended on. From that the
plan predicts the whole run's calls, prompt and completion tokens, cost and wall time, each with
a 90% interval (a bootstrap over the pilot's items); wall time comes from simulating the sampled
call graphs against the run's concurrency and rate limits, not from a mean times a count.

  agot plan eval hotpotqa --data dev.json --strategy agot --model openai/gpt-4o-mini \\
      --what-if concurrency=8,16,32 --what-if price=openai/gpt-4o

``--what-if KEY=V1,V2`` adds a column per value, each changing one setting: concurrency,
items-in-flight, rpm, tpm, price (another model's list price), price-per-hour (a local engine's
machine), max-calls, budget-tokens, max-cost, max-wall (another per-item budget), items.
``--json`` prints one object: ``calls``, ``prompt_tokens``, ``completion_tokens``, ``cost`` and
``wall_s``, each ``{"expected", "low", "high"}``, with ``items``, ``pilot_items``, ``settings``,
the what-if predictions and the pilot's own spending. With ``--out DIR`` the pilot's rows and
the plan (``plan.json``) are kept there.

``agot eval ... --plan`` does the same, prints the plan, and then runs the rest of the items,
reusing the pilot's rows (they are not paid twice); ``--max-run-cost USD`` refuses to start
the rest (exit 2) when the predicted 90th-percentile cost exceeds USD, unless ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELP = "predict an eval's calls, tokens, cost and wall time from a pilot of its items"

#: Items a pilot runs when ``--pilot`` is not given.
DEFAULT_PILOT = 20
#: The plan a run folder keeps (predicted, and after an ``agot eval --plan``, actual).
PLAN_FILE = "plan.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agot.cli import eval as eval_command

    sub = parser.add_subparsers(dest="plan_of", required=True, metavar="RUN")
    planned = sub.add_parser(
        "eval",
        help="plan an agot eval run (takes every flag of agot eval)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    eval_command.add_arguments(planned, planning=True)
    add_plan_options(planned)


def add_plan_options(parser: argparse.ArgumentParser, *, in_eval: bool = False) -> None:
    """The plan's own flags; ``in_eval`` adds those of ``agot eval --plan``."""
    group = parser.add_argument_group("plan")
    if in_eval:
        group.add_argument(
            "--plan",
            action="store_true",
            help="run a pilot first, print the predicted calls, tokens, cost and wall time, "
            "then run the rest (the pilot's rows are kept)",
        )
        group.add_argument(
            "--max-run-cost",
            type=float,
            default=None,
            metavar="USD",
            help="with --plan: do not start the rest when the predicted 90th-percentile cost "
            "of the whole run exceeds USD (exit 2); --max-cost stays the per-item budget",
        )
        group.add_argument(
            "--yes", action="store_true", help="with --plan: start even over --max-run-cost"
        )
    group.add_argument(
        "--pilot",
        type=int,
        default=None,
        metavar="K",
        help=f"items the pilot runs (default {DEFAULT_PILOT}, sampled with --seed)",
    )
    group.add_argument(
        "--what-if",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a column per value: concurrency, items-in-flight, rpm, tpm, price (a model's "
        "list price), price-per-hour, max-calls, budget-tokens, max-cost, max-wall, items",
    )
    group.add_argument(
        "--price-per-hour",
        type=float,
        default=None,
        metavar="USD",
        help="charge the run per hour of wall time (the machine of a local engine)",
    )


@dataclass
class PlanRequest:
    """What a plan is asked for, beside the eval's own configuration."""

    pilot: int = DEFAULT_PILOT
    what_if: tuple[str, ...] = ()
    price_per_hour: float | None = None
    #: ``concurrency`` what-ifs move items in flight too (no ``--items-in-flight`` given).
    items_follow: bool = True
    #: The pilot's rows stay in the run folder and the run reuses them: wall time is then
    #: predicted for the items still to run.
    reuse: bool = False
    #: Correct the prediction by how far earlier plans of the same setup were off.
    learn: bool = True


@dataclass
class Plan:
    """A finished plan: the predictions (the run's first, then the what-ifs) and the pilot."""

    predictions: list[Any]
    pilot: Any
    spent: dict[str, Any]

    def json(self) -> dict[str, Any]:
        from agot.plan.render import plan_json

        out = plan_json(self.predictions, self.spent)
        out["pilot"] = {**out["pilot"], "roles": self.pilot.per_role()}
        out["latency_model"] = self.pilot.latency_model()
        return out

    def table(self) -> str:
        from agot.plan.render import plan_table

        return plan_table(self.predictions, self.spent)


def request_from_args(args: argparse.Namespace) -> PlanRequest:
    from agot.config import check_count

    pilot = DEFAULT_PILOT if args.pilot is None else check_count(args.pilot, "--pilot")
    return PlanRequest(
        pilot=pilot,
        what_if=tuple(args.what_if or ()),
        price_per_hour=args.price_per_hour,
        items_follow=args.items_in_flight is None,
    )


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agot.cli.eval import build_config, check_eval_args
    from agot.config import describe_validation_error
    from agot.errors import ConfigError
    from agot.sync import run_sync

    if args.resume or args.retry_errors:
        raise ConfigError("agot plan eval plans a new run: drop --resume/--retry-errors")
    if args.ray is not None:
        raise ConfigError("agot plan eval runs its pilot in this process: drop --ray")
    check_eval_args(args)
    request = request_from_args(args)
    try:
        config = build_config(args)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("plan", exc)) from None
    plan = run_sync(plan_eval(config, request))
    print(json.dumps(plan.json(), indent=1) if args.json else plan.table())
    return 0


async def plan_eval(config: Any, request: PlanRequest | None = None, **kwargs: Any) -> Plan:
    """Run ``request.pilot`` items of the eval ``config`` and predict the whole run.

    ``config`` is an :class:`~agot.evals.runner.EvalConfig` (models may be backend objects);
    keyword arguments fill a :class:`PlanRequest`. With ``config.out`` the pilot's rows and
    ``plan.json`` stay there; without, the pilot runs in a temporary folder.
    """
    from agot.config import check_count
    from agot.evals.datasets.sources import sample_records
    from agot.evals.run_folder import write_json_atomic
    from agot.evals.runner import eval_records, run_eval
    from agot.plan.calibration import corrected, correction, setup_key
    from agot.plan.pilot import Pilot
    from agot.plan.predict import predict
    from agot.plan.prices import per_hour
    from agot.plan.simulate import Settings, calibrate
    from agot.plan.whatif import Scenario, parse_what_if

    request = request or PlanRequest(**kwargs)
    check_count(request.pilot, "--pilot")
    price = per_hour(request.price_per_hour) if request.price_per_hour is not None else None
    # Every what-if is checked before the pilot spends anything.
    draft = Scenario("this run", Settings(), 1, price=price, items_follow=request.items_follow)
    parse_what_if(request.what_if, draft)

    records = await _in_thread(eval_records, config)
    seed = config.sample_seed if config.sample_seed is not None else config.seed
    chosen = sample_records(records, min(request.pilot, len(records)), seed)
    recorder = _Recorder()
    with tempfile.TemporaryDirectory(prefix="agot-pilot-") as scratch:
        out = config.out or str(Path(scratch) / "pilot")
        pilot_config = config.model_copy(
            update={"out": out, "resume": False, "retry_errors": False}
        )
        started = time.perf_counter()
        await run_eval(pilot_config, records=chosen, executor=recorder)
        wall = time.perf_counter() - started
        if request.reuse:
            # The run that follows resumes from these rows: the folder is to describe it,
            # not the pilot, so the pilot's run.json and summary go.
            for name in ("run.json", "summary.json"):
                (Path(out) / name).unlink(missing_ok=True)
    # The pilot's wall time from its first unit's start (what a replay of its units spans).
    settings = calibrate(recorder.in_start_order(), recorder.settings(config), recorder.span())
    pilot = Pilot(units=recorder.units, run_items=len(records), settings=settings)
    base = Scenario(
        "this run", settings, len(records), price=price, items_follow=request.items_follow
    )
    scenarios = [base, *parse_what_if(request.what_if, base)]
    key = setup_key(
        [m if isinstance(m, str) else f"{m.name}:{m.model}" for m in config.models],
        [s if isinstance(s, str) else s.name for s in config.strategies or ["cot"]],
    )
    factors = correction(key) if request.learn else {}
    predictions = [
        corrected(predict(pilot, scenario, seed=config.seed, reuse=request.reuse), factors)
        for scenario in scenarios
    ]
    spent = {
        "items": len(chosen),
        **{k: round(v, 6) for k, v in _spent(pilot).items()},
        "wall_s": round(wall, 3),
    }
    plan = Plan(predictions=predictions, pilot=pilot, spent=spent)
    if config.out:
        write_json_atomic(Path(config.out) / PLAN_FILE, {"setup": key, "predicted": plan.json()})
    return plan


async def _in_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)


def _spent(pilot: Any) -> dict[str, float]:
    totals: dict[str, float] = {}
    for unit in pilot.units:
        for name, value in unit.figures.items():
            totals[name] = totals.get(name, 0.0) + value
    return totals


class _Recorder:
    """The pilot's executor: the default one, keeping every unit's Result with its start and
    end time, and the concurrency each model's dispatcher allows."""

    def __init__(self) -> None:
        from agot.plan.pilot import UnitSample

        self.units: list[UnitSample] = []
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.slots: dict[str, int] = {}
        #: After each unit: (the process's CPU seconds, the loop thread's seconds run and
        #: waiting for a CPU, calls so far), so the cost per call is read once it is warm.
        self.marks: list[tuple[float, float, float, int]] = []

    async def run(self, work: Any, units: Any, deliver: Any, *, concurrency: int) -> None:
        from agot.evals.executors import LocalExecutor

        self.marks.append((*serial_clock(), 0))  # run() runs on the event loop's thread
        await LocalExecutor().run(_Spy(work, self), units, deliver, concurrency=concurrency)

    def span(self) -> float:
        """Seconds from the first unit's start to the last unit's end."""
        if not self.units:
            return 0.0
        return max(self.ends) - min(self.starts)

    def in_start_order(self) -> list[Any]:
        return [u for _, u in sorted(zip(self.starts, self.units, strict=True), key=_first)]

    def mark(self, unit: Any) -> None:
        self.marks.append((*serial_clock(), self.marks[-1][3] + len(unit.calls)))

    def call_overhead(self) -> float:
        """The process's serial seconds per call over the pilot's second half (the first pays
        one-time costs: imports, connection set-up): its CPU seconds (every thread's; Python
        runs one at a time, so they are the serial work a call costs), stretched by the share
        of time the loop's thread was ready but waited for a CPU (on a machine shared with
        other work the same CPU seconds take that much longer). Counting the loop's thread
        alone missed an HTTP client's or an in-process server's threads and left the plan
        46-75% short at four times the pilot's concurrency."""
        first, last = self.marks[len(self.marks) // 2], self.marks[-1]
        if len(self.marks) < 5:  # too few units to leave any out
            first = self.marks[0]
        calls = last[3] - first[3]
        cpu, ran, waited = (last[i] - first[i] for i in range(3))
        stretch = 1.0 + waited / ran if ran > 0 else 1.0
        return max(0.0, cpu) * stretch / calls if calls > 0 else 0.0

    def settings(self, config: Any) -> Any:
        from agot.plan.simulate import Settings

        limits = config.limits
        fallback = (limits.max_concurrency if limits else None) or 8
        return Settings(
            call_overhead_s=self.call_overhead(),
            items_in_flight=config.concurrency,
            concurrency=dict(self.slots),
            default_concurrency=fallback,
            rpm=limits.requests_per_minute if limits else None,
            tpm=limits.tokens_per_minute if limits else None,
        )


def _first(pair: tuple[float, Any]) -> float:
    return pair[0]


def serial_clock() -> tuple[float, float, float]:
    """(the process's CPU seconds, those ended threads used included; the calling thread's
    seconds run and ready to run but waiting for a CPU, from Linux's schedstat, or its CPU
    time and 0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            ran, waited = (int(v) / 1e9 for v in stat.read().split()[:2])
    except (OSError, ValueError):
        ran, waited = time.thread_time(), 0.0
    return time.process_time(), ran, waited


class _Spy:
    """The run's unit work, timed unit by unit (the UnitWork protocol, passed through)."""

    def __init__(self, work: Any, recorder: _Recorder) -> None:
        self.work = work
        self.recorder = recorder

    def dispatcher_specs(self) -> Any:
        return self.work.dispatcher_specs()

    def failed_unit(self, unit: Any, error: str) -> Any:
        return self.work.failed_unit(unit, error)

    async def run_unit(self, unit: Any, dispatchers: dict[str, Any]) -> Any:
        from agot.plan.pilot import unit_from_result

        dispatcher = dispatchers[unit.model]
        backend = dispatcher.backend()
        gate = f"{unit.model}|{backend.model}"
        if gate not in self.recorder.slots:
            fleet = dispatcher.fleet()  # several replicas: one pool of all their slots
            self.recorder.slots[gate] = (
                sum(replica.capacity for replica in fleet.replicas)
                if fleet is not None
                else dispatcher.limits.max_concurrency or backend.capabilities.default_concurrency
            )
        started = time.time()
        rows = await self.work.run_unit(unit, dispatchers)
        ended = time.time()
        row, result = rows[0]  # every row of a unit reads the same run
        judge = row.details.get("judge_usage") if hasattr(row, "details") else None
        sample = unit_from_result(
            unit.record.id,
            unit.strategy,
            unit.model,
            result,
            started=started,
            ended=ended,
            judge=judge if isinstance(judge, dict) else None,
        )
        self.recorder.units.append(sample)
        self.recorder.starts.append(started)
        self.recorder.ends.append(ended)
        self.recorder.mark(sample)
        return rows


# -- agot eval --plan -----------------------------------------------------------------------


def plan_before_run(args: argparse.Namespace, config: Any) -> Any:
    """``agot eval --plan``: run the pilot into OUT, print the plan (stderr with ``--json``),
    gate on ``--max-run-cost``, and return the config that runs the rest (resuming OUT, so
    the pilot's rows are reused, never paid twice)."""
    from agot.errors import ConfigError
    from agot.sync import run_sync

    if args.resume:
        raise ConfigError("--plan starts a new run: drop --resume (or drop --plan)")
    if args.ray is not None:
        raise ConfigError("--plan runs its pilot in this process: drop --ray (or drop --plan)")
    if args.max_run_cost is not None and not args.max_run_cost > 0:
        raise ConfigError(f"--max-run-cost must be greater than 0, got {args.max_run_cost}")
    request = request_from_args(args)
    request.reuse = True
    plan = run_sync(plan_eval(config, request))
    print(plan.table(), file=sys.stderr if args.json else sys.stdout)
    worst = plan.predictions[0].cost_p90
    if args.max_run_cost is not None and worst > args.max_run_cost and not args.yes:
        raise ConfigError(
            f"the run's predicted 90th-percentile cost is {worst:.4f} USD, over --max-run-cost "
            f"{args.max_run_cost:g}: not started (the pilot's rows are in {args.out}; pass --yes, "
            f"or continue later with --resume --out {args.out})"
        )
    return config.model_copy(update={"resume": True})


def run_usage(rows: Any) -> dict[str, float]:
    """What a run's rows spent, LLM-judge scoring included (as a plan predicts it)."""
    totals = dict.fromkeys(("calls", "prompt_tokens", "completion_tokens", "cost"), 0.0)
    for row in rows:
        judge = row.details.get("judge_usage")
        for usage in (row.usage.model_dump(), judge if isinstance(judge, dict) else {}):
            for name in totals:
                totals[name] += float(usage.get(name) or 0)
    return totals


def record_actual(out: str, summary: Any) -> dict[str, Any] | None:
    """After ``agot eval --plan``: add what the run actually spent to OUT/plan.json, beside
    what was predicted, and each figure's ratio of actual to expected."""
    from agot.evals.run_folder import RunFolder, write_json_atomic
    from agot.plan.calibration import remember

    path = Path(out) / PLAN_FILE
    if not path.is_file():
        return None
    stored = json.loads(path.read_text())
    actual = {**run_usage(RunFolder(out).rows()), "wall_s": summary.wall_s}
    predicted = stored.get("predicted", {})
    factors = predicted.get("correction") or {}
    ratios, raw = {}, {}
    for name, value in actual.items():
        expected = (predicted.get(name) or {}).get("expected")
        ratios[name] = round(value / expected, 4) if expected else None
        # What the next plan learns from: the ratio to the uncorrected prediction.
        raw[name] = value / expected * factors.get(name, 1.0) if expected else None
    stored.update({"actual": actual, "actual_over_expected": ratios})
    write_json_atomic(path, stored)
    if isinstance(stored.get("setup"), str):
        remember(stored["setup"], raw)
    return stored
