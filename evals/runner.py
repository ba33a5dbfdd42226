"""The eval runner: every item x strategy x model, concurrently, resumable, scored, summarised.

Design choices, and why:

* **One dispatcher per model, shared by all items.** Rate limits, the concurrency cap and the
  response cache are per backend, so they must hold across the whole run, not per item.
* **A semaphore over work units** (item x strategy x model) bounds how many are in flight
  (``concurrency``); the dispatcher separately bounds model calls. Units are ordered item by
  item so a run stopped part-way has paired results for the comparisons.
* **Append-only results, written at once.** A finished unit is written (and fsynced) to
  ``results.jsonl`` before it counts as done; ``resume`` skips every (id, strategy, model)
  already there. A failure inside a unit (backend error after retries, budget, even a bug in a
  strategy) is recorded in the row's ``error`` and counted, never fatal to the run.
* **Private datasets** (GPQA) never have question text written to results or traces.

Python use: ``summary = await run_eval("hotpotqa", data="dev.json", strategies=["cot"],
models=["local"], limit=20, out="runs/hp")`` (or :func:`evaluate` from synchronous code).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agot.backends.base import Backend
from agot.budget import Budget
from agot.config import describe_validation_error
from agot.errors import ConfigError
from agot.evals.datasets import get_dataset
from agot.evals.datasets.sources import sample_records
from agot.evals.executors import Executor, LocalExecutor
from agot.evals.presets import AppliedPreset, resolve_preset
from agot.evals.progress import EvalProgress
from agot.evals.records import EvalRecord
from agot.evals.run_folder import TRACES_DIR, ResultRow, RunFolder, slug
from agot.evals.run_lock import LOCK_FILE
from agot.evals.run_plan import RunPlan, Unit, model_key, row_labels
from agot.evals.scorers import Scorer
from agot.evals.stats import MAX_RESAMPLES
from agot.evals.summary import EvalSummary, summarize
from agot.evals.tradeoff import write_tradeoff
from agot.fleet.policies import renamed_routing
from agot.limits import Limits
from agot.result import Result
from agot.strategies import ALIASES, Strategy


def _default_models() -> list[str | Backend]:
    return ["local"]


class EvalConfig(BaseModel):
    """Everything that defines an eval run (the CLI flags, as a model)."""

    # extra="forbid": a misspelt option (``concurency=3``) is an error, not silently ignored.
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    dataset: str
    data: str | None = None
    subset: str | None = None
    split: str | None = None
    #: Names (``cot``, ``agot``, ...), Strategy objects, or (label, Strategy) pairs; None: the
    #: preset's strategies, else ``["cot"]``.
    strategies: list[str | Strategy | tuple[str, Strategy]] | None = None
    #: Model strings or Backend objects.
    models: list[str | Backend] = Field(default_factory=_default_models, min_length=1)
    limit: int | None = Field(None, ge=1)
    #: With ``limit``: a seeded random sample of that many items (kept in dataset order)
    #: rather than the first ``limit``; the seed is ``sample_seed``, else ``seed``. ``None``
    #: means "not given" (no sample, unless a preset says otherwise).
    sample: bool | None = None
    sample_seed: int | None = Field(None, ge=0)
    #: A named preset (:mod:`agot.evals.presets`, e.g. ``agot-paper``): it fills in ``limit``,
    #: ``sample``, ``sample_seed`` when they are None and its per-strategy parameters where
    #: neither ``strategy_params`` nor ``per_strategy_params`` name them. Recorded in run.json
    #: and printed in the summary.
    preset: str | None = None
    seed: int = Field(0, ge=0)  # numpy's generators take no negative seed
    concurrency: int = Field(8, ge=1)
    out: str | None = None
    resume: bool = False
    retry_errors: bool = False
    #: Scorer names or objects, after the dataset's own.
    scorers: list[str | Scorer] = Field(default_factory=list)
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    per_strategy_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    limits: Limits | None = None
    api_base: str | None = None
    #: Model routing (an :class:`agot.routing.Router`) for the models under test.
    router: Any = None
    #: Per model key (as it appears in ``models`` and in result rows): the model string to run
    #: under that name (``model``), its own ``api_base``, and backend options (``-M k=v``).
    model_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Which replica serves each call when ``api_base`` lists several URLs or names a fleet
    #: file (:mod:`agot.fleet.policies`); ``routing`` is its old name.
    replica_policy: str | None = None
    cache: str | None = None
    #: Cache calls sampled at temperature > 0 too (AGoT's 0.3): see :class:`agot.Dispatcher`.
    cache_sampled: bool = False
    item_budget: Budget | None = None
    save_traces: bool = True
    #: Keep every call's prompt and completion in the traces (off: counts and timings only).
    store_text: bool = True
    progress: bool = True
    #: Bootstrap resamples; at most MAX_RESAMPLES, since each is a pass over the items and
    #: the intervals are computed after every call was paid for.
    resamples: int = Field(2000, ge=100, le=MAX_RESAMPLES)
    dataset_options: dict[str, Any] = Field(default_factory=dict)
    #: Keep every item's text out of results and traces (always on for private datasets).
    redact: bool = False
    #: The command line that started the run (keys masked), recorded in run.json.
    command: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        return renamed_routing(data)


async def run_eval(
    config: EvalConfig | str,
    *,
    records: Sequence[EvalRecord] | None = None,
    stream: TextIO | None = None,
    executor: Executor | None = None,
    **kwargs: Any,
) -> EvalSummary:
    """Run an eval and return its summary (also written to ``OUT/summary.json``).

    ``config`` is an :class:`EvalConfig` or a dataset name with the config's fields as keyword
    arguments. ``records`` replaces loading (records made in a notebook); the dataset name then
    only picks the scorers and prompt format. ``strategies`` entries may be names or
    :class:`~agot.strategies.Strategy` objects; ``models`` entries model strings or backends.
    ``executor`` decides where units run (default: this process;
    :class:`~agot.evals.executors.RayExecutor` spreads them over a Ray cluster); results are
    written here either way.
    """
    try:
        if isinstance(config, str):
            config = EvalConfig(dataset=config, **kwargs)
        elif kwargs:
            config = EvalConfig.model_validate({**dict(config), **kwargs})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("eval", exc)) from None
    return await _Run(config, records, stream or sys.stderr, executor).run()


def evaluate(config: EvalConfig | str, **kwargs: Any) -> EvalSummary:
    """Synchronous :func:`run_eval` (works inside Jupyter's running loop too)."""
    from agot.sync import run_sync

    return run_sync(run_eval(config, **kwargs))


def eval_records(config: EvalConfig) -> list[EvalRecord]:
    """The items ``config`` would run, in run order (its preset, ``limit`` and ``sample``
    applied), loaded without running anything: what a plan draws its pilot from."""
    return _Run(config, None, sys.stderr)._load()


def default_out_dir(dataset: str) -> str:
    return str(Path("runs") / f"eval-{slug(dataset)}-{time.strftime('%Y%m%d-%H%M%S')}")


class _Run:
    """One eval run in this process: its run folder and lock, progress and summary. What each
    unit needs, wherever it runs, is its :class:`~agot.evals.run_plan.RunPlan`."""

    def __init__(
        self,
        config: EvalConfig,
        records: Sequence[EvalRecord] | None,
        stream: TextIO,
        executor: Executor | None = None,
    ):
        self.executor = executor
        self.preset: AppliedPreset | None = None
        if config.preset:
            config, self.preset = _with_preset(config)
        if config.strategies is None:
            config = config.model_copy(update={"strategies": ["cot"]})
        self.config = config
        self.stream = stream
        self.given_records = records
        #: The unit work; :meth:`_run` replaces it with the plan for the loaded items.
        self.plan = RunPlan.build(config, get_dataset(config.dataset))
        self.out = Path(config.out or default_out_dir(self.plan.spec.name))
        self.folder = RunFolder(self.out)

    @property
    def strategies(self) -> Mapping[str, Strategy]:
        return self.plan.strategies

    def _load(self) -> list[EvalRecord]:
        limit, sample = self.config.limit, self.config.sample
        if self.given_records is not None:
            records = list(self.given_records)
        else:
            records = self.plan.spec.load(
                data=self.config.data,
                subset=self.config.subset,
                split=self.config.split,
                seed=self.config.seed,
                limit=None if sample else limit,
                **self.config.dataset_options,
            )
        if sample:
            return sample_records(records, limit, self.sample_seed)
        return records[:limit] if limit else records

    @property
    def sample_seed(self) -> int | None:
        if not self.config.sample:
            return None
        return self.config.sample_seed if self.config.sample_seed is not None else self.config.seed

    def _run_info(self, records: Sequence[EvalRecord]) -> dict[str, Any]:
        import agot

        return {
            "dataset": self.plan.spec.name,
            "subset": self.plan.subset,
            "split": self.plan.split,
            "seed": self.config.seed,
            "data": self.config.data,
            "limit": self.config.limit,
            "sample_seed": self.sample_seed,
            "preset": self.preset.model_dump(mode="json") if self.preset else None,
            "items": len(records),
            "strategies": {k: _describe_strategy(v) for k, v in self.strategies.items()},
            # Every option of every strategy as it ran, defaults included (strategy_params
            # below holds only what the caller set): what the viewer's Info section shows.
            "strategy_settings": {k: strategy_settings(v) for k, v in self.strategies.items()},
            "strategy_params": self.config.strategy_params,
            "per_strategy_params": self.config.per_strategy_params,
            "models": [model_key(m) for m in self.config.models],
            "routing": self.config.router.describe() if self.config.router else None,
            "scorers": [s.describe() for s in self.plan.scorers],
            "answer_format": self.plan.spec.answer_format_for(self.plan.subset),
            "redacted": self.plan.redaction.enabled,
            "agot_version": agot.__version__,
            "python": sys.version.split()[0],
            "command": self.config.command,
            "limits": self.config.limits.model_dump(mode="json") if self.config.limits else None,
            "concurrency": self.config.concurrency,
            "started_at": time.time(),
        }

    # -- the run ------------------------------------------------------------------------------
    async def run(self) -> EvalSummary:
        # One writer per folder: the lock is taken before anything is read or loaded, and
        # held until the summary is written (the kernel drops it if the process dies).
        created = not self.out.exists()
        self.folder.acquire()
        try:
            return await self._run()
        except BaseException:
            if created:
                self._remove_if_nothing_ran()
            raise
        finally:
            self.folder.release()

    def _remove_if_nothing_ran(self) -> None:
        """Remove the folder this run created when it failed before any result (data that
        cannot be loaded, a model that cannot be built): an empty folder would sit among the
        runs as one that never finishes. A folder with a result row, or any file this run did
        not write, is kept."""
        results = self.folder.results_path
        if results.exists() and results.stat().st_size > 0:
            return
        ours = {LOCK_FILE, results.name, self.folder.info_path.name}
        entries = list(self.out.iterdir()) if self.out.is_dir() else []
        traces = self.out / TRACES_DIR
        if any(e.name not in ours and e != traces for e in entries):
            return
        if traces.exists() and any(p.is_file() for p in traces.rglob("*")):
            return
        for entry in entries:
            if entry == traces:
                for folder in sorted(traces.rglob("*"), key=lambda p: -len(p.parts)):
                    folder.rmdir()
                traces.rmdir()
            elif entry.name != LOCK_FILE:
                entry.unlink()
        with contextlib.suppress(OSError):
            (self.out / LOCK_FILE).unlink()
            self.out.rmdir()

    async def _run(self) -> EvalSummary:
        self.plan, records = self.plan.prepared(await asyncio.to_thread(self._load))
        info = self._run_info(records)
        existing = self.folder.start(
            info,
            resume=self.config.resume,
            retry_errors=self.config.retry_errors,
            data=self.config.data if self.given_records is None else None,
        )
        done = {(row.id, row.strategy, row.model) for row in existing}
        models = [model_key(m) for m in self.config.models]
        rows_of = {label: row_labels(label, s) for label, s in self.strategies.items()}
        row_order = [row for wanted in rows_of.values() for row in wanted]
        units = []
        for record in records:
            for model in models:
                for label, wanted in rows_of.items():
                    missing = tuple(r for r in wanted if (record.id, r, model) not in done)
                    if missing:
                        units.append(Unit(record=record, strategy=label, model=model, rows=missing))
        started = time.perf_counter()
        writer = self.folder.writer()
        total = len(records) * len(models) * len(row_order)
        progress = EvalProgress(
            total=total,
            already=total - sum(len(unit.labels) for unit in units),
            headline=self.plan.scorers[0].headline_metric,
            labels=row_order,
            stream=self.stream,
            enabled=self.config.progress,
        )

        async def deliver(unit: Unit, row: ResultRow, result: Result) -> None:
            # Only this process writes the run folder, wherever the unit ran.
            files = []
            if self.config.save_traces:
                if self.plan.redaction.enabled:  # walking a large trace takes milliseconds
                    path, content = await asyncio.to_thread(self._trace_file, unit, row, result)
                else:
                    path, content = self._trace_file(unit, row, result)
                row.trace = str(path.relative_to(self.folder.path))
                files.append((path, content))
            await writer.append(row, files)
            progress.add(row)

        executor = self.executor or LocalExecutor()
        try:
            async with progress:
                await executor.run(self.plan, units, deliver, concurrency=self.config.concurrency)
        finally:
            await writer.aclose()
        wall = time.perf_counter() - started
        rows = self.folder.read_results()
        summary = summarize(
            rows,
            self.plan.scorers,
            dataset=self.plan.spec.name,
            subset=self.plan.subset,
            split=self.plan.split,
            seed=self.config.seed,
            out=str(self.out),
            wall_s=wall,
            resamples=self.config.resamples,
            notes=self.plan.notes(),
            sample_seed=self.sample_seed,
            preset=self.preset,
            order=row_order,
        )
        self.folder.write_summary(summary.model_dump(mode="json"))
        write_tradeoff(self.folder, summary)
        return summary

    def _trace_file(self, unit: Unit, row: ResultRow, result: Result) -> tuple[Path, bytes]:
        """Where the unit's trace goes, and its bytes: the object Result.save_trace writes
        (Result.load_trace reads it back), serialised by pydantic's compact encoder since a
        run writes thousands of them."""
        path = self.folder.trace_path(row.strategy, unit.model, unit.record.id)
        return path, self.plan.redaction.trace_bytes(unit.record.id, result)


def _with_preset(config: EvalConfig) -> tuple[EvalConfig, AppliedPreset]:
    """``config`` with its preset filled in under every setting the caller gave."""
    assert config.preset is not None
    given = {k: getattr(config, k) for k in ("limit", "sample", "sample_seed", "strategies")}
    budget = config.item_budget
    given["item_budget"] = budget.model_dump(exclude_none=True) if budget is not None else None
    per_strategy = {ALIASES.get(k, k): dict(v) for k, v in config.per_strategy_params.items()}
    settings, per_strategy, applied = resolve_preset(
        config.preset, given, config.strategy_params, per_strategy
    )
    scorers = list(config.scorers)
    free_form = any(s in ("qa", "squad") for s in get_dataset(config.dataset).scorers)
    if applied.preset.judge_free_form and free_form and not any(_is_judge(s) for s in scorers):
        from agot.evals.scorers import JudgeScorer

        scorers.append(JudgeScorer(model=None))  # the model under test judges, as in the paper
    updated = config.model_copy(
        update={**settings, "per_strategy_params": per_strategy, "scorers": scorers}
    )
    try:  # re-validate: the preset's values pass the same checks as the caller's
        return EvalConfig.model_validate(dict(updated)), applied
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("eval", exc)) from None


def _is_judge(scorer: Any) -> bool:
    name = scorer if isinstance(scorer, str) else getattr(scorer, "name", "")
    return str(name).lower() == "judge"


#: Strategy options that are objects, not settings (shown by other run.json fields).
_NOT_SETTINGS = frozenset({"budget", "models", "router"})


def strategy_settings(strategy: Strategy) -> dict[str, Any]:
    """Every option ``strategy`` takes, with the value it runs with (defaults resolved): read
    from the strategy, its sampling parameters or its bounds, whichever holds the name."""
    from agot.strategies.base import accepted_options

    out: dict[str, Any] = {}
    holders = [strategy, getattr(strategy, "params", None), getattr(strategy, "bounds", None)]
    for name in sorted(accepted_options(type(strategy)) - _NOT_SETTINGS):
        for holder in holders:
            if holder is not None and hasattr(holder, name):
                out[name] = _setting(getattr(holder, name))
                break
    return out


def _setting(value: Any) -> Any:
    """``value`` as JSON can hold it (a class by its name, anything else by its text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, dict):
        return {str(k): _setting(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_setting(v) for v in value]
    return str(value)


def _describe_strategy(strategy: Strategy) -> str:
    """What run.json records of a strategy: its own description, else its class name."""
    describe = getattr(strategy, "describe", None)
    return str(describe()) if callable(describe) else type(strategy).__name__
