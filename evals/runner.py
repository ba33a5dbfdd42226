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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agot.budget import Budget
from agot.config import describe_validation_error
from agot.dispatcher import Dispatcher
from agot.errors import AgotError, ConfigError
from agot.evals.datasets import DatasetSpec, get_dataset
from agot.evals.datasets.sources import sample_records
from agot.evals.executors import DispatcherSpec, Executor, LocalExecutor
from agot.evals.presets import AppliedPreset, resolve_preset
from agot.evals.progress import EvalProgress
from agot.evals.records import EvalRecord, scrub_invalid_text
from agot.evals.redaction import RunRedaction
from agot.evals.run_folder import TRACES_DIR, ResultRow, RunFolder, slug
from agot.evals.run_lock import LOCK_FILE
from agot.evals.scorers import Score, ScoreContext, Scorer, get_scorer, raw_text
from agot.evals.stats import MAX_RESAMPLES
from agot.evals.summary import EvalSummary, summarize
from agot.fleet.policies import renamed_routing
from agot.fleet.stats import endpoint_calls
from agot.limits import Limits
from agot.result import Result
from agot.strategies import ALIASES, Strategy, failures_as_results, get_strategy
from agot.task import Task
from agot.url_secrets import redact_model


class EvalConfig(BaseModel):
    """Everything that defines an eval run (the CLI flags, as a model)."""

    # extra="forbid": a misspelt option (``concurency=3``) is an error, not silently ignored.
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    dataset: str
    data: str | None = None
    subset: str | None = None
    split: str | None = None
    #: None: the preset's strategies, else ``["cot"]``.
    strategies: list[Any] | None = None
    models: list[Any] = Field(default_factory=lambda: ["local"], min_length=1)
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
    scorers: list[Any] = Field(default_factory=list)
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


@dataclass(frozen=True)
class _Unit:
    """One item under one strategy and one model: what a results row describes."""

    record: EvalRecord
    strategy: str
    model: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.record.id, self.strategy, self.model)


class _Run:
    """One eval run. It is also the run's :class:`~agot.evals.executors.UnitWork`: executors
    call :meth:`dispatcher_specs` and :meth:`run_unit`, a Ray worker on its own pickled copy
    (see ``__getstate__`` for what it leaves behind)."""

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
        self.spec: DatasetSpec = get_dataset(config.dataset)
        self.given_records = records
        self.out = Path(config.out or default_out_dir(self.spec.name))
        self.folder = RunFolder(self.out)
        self.subset = self.spec.resolve_subset(config.subset)
        self.split = self.spec.resolve_split(config.split)
        self.scorers: list[Scorer] = [
            get_scorer(s) for s in (*self.spec.scorers_for(self.subset), *config.scorers)
        ]
        self.strategies = self._strategies()
        self.redaction = RunRedaction(self.spec.name, enabled=self.spec.private or config.redact)
        #: Item id -> why it cannot run (a row with invalid text): recorded as an error row.
        self.invalid_text: dict[str, str] = {}

    # -- setup --------------------------------------------------------------------------------
    def _strategies(self) -> dict[str, Strategy]:
        from agot.evals.classification import canonical_strategy

        out: dict[str, Strategy] = {}
        for entry in self.config.strategies or ():
            pairs: list[tuple[str, Strategy]]
            if isinstance(entry, Strategy):
                pairs = [(entry.name, entry)]
            elif isinstance(entry, tuple):
                pairs = [entry]
            elif canonical_strategy(str(entry)) is not None:
                pairs = self._classification_strategies(str(entry))
            else:
                label = str(entry).strip().lower()
                params = {
                    **self.config.strategy_params,
                    **self.config.per_strategy_params.get(ALIASES.get(label, label), {}),
                }
                try:
                    strategy = get_strategy(label, **params)
                except TypeError as exc:
                    raise ConfigError(
                        f"strategy {label!r} does not take these options: {exc}"
                    ) from None
                pairs = [(strategy.name, strategy)]
            for label, strategy in pairs:
                if label in out:
                    raise ConfigError(f"strategy {label!r} is listed twice")
                out[label] = strategy
        if not out:
            raise ConfigError(
                "no strategy given: pass --strategy cot (or several, comma-separated)"
            )
        return out

    def _classification_strategies(self, name: str) -> list[tuple[str, Strategy]]:
        """Kairanban variants (:mod:`agot.evals.classification`) for a labelled dataset.

        Their parameters: the sampling flags, then ``per_strategy_params["kairanban"]``
        (``--agents``, ``--idobata-at``), then those under the variant's own name; the seed
        defaults to the run's, so every variant's agent ``i`` samples with the same seed.
        """
        from agot.evals.classification import canonical_strategy, classification_strategies

        key = canonical_strategy(name) or name
        if not self.spec.labels:
            raise ConfigError(
                f"strategy {name!r} classifies texts into labels: use it on a classification "
                f"dataset (sst5, tweet_eval, financial_phrasebank), not {self.spec.name}"
            )
        per = self.config.per_strategy_params
        params: dict[str, Any] = {
            "seed": self.config.seed,
            **self.config.strategy_params,
            **per.get("kairanban", {}),
            **(per.get(key, {}) if key != "kairanban" else {}),
        }
        try:
            return classification_strategies(name, self.spec.labels, **params)
        except TypeError as exc:
            raise ConfigError(f"strategy {name!r} does not take these options: {exc}") from None

    def _extra_models(self) -> list[str]:
        """Models the scorers call (a judge) that are not under test: each gets one dispatcher
        shared by the whole run, so its limits hold across items and it loads only once."""
        under_test = {_model_key(m) for m in self.config.models}
        wanted = [m for s in self.scorers for m in s.extra_models()]
        return [m for m in dict.fromkeys(wanted) if m not in under_test]

    def _scrub(self, records: list[EvalRecord]) -> list[EvalRecord]:
        """``records`` with invalid text replaced; each such item will be an error row."""
        out = []
        for record in records:
            record, fields = scrub_invalid_text(record)
            if fields:
                self.invalid_text[record.id] = (
                    f"the dataset row holds invalid Unicode (a lone surrogate such as \\ud800) "
                    f"in {', '.join(fields)}: fix the data file"
                )
            out.append(record)
        return out

    def _load(self) -> list[EvalRecord]:
        limit, sample = self.config.limit, self.config.sample
        if self.given_records is not None:
            records = list(self.given_records)
        else:
            records = self.spec.load(
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
            "dataset": self.spec.name,
            "subset": self.subset,
            "split": self.split,
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
            "models": [_model_key(m) for m in self.config.models],
            "routing": self.config.router.describe() if self.config.router else None,
            "scorers": [s.describe() for s in self.scorers],
            "answer_format": self.spec.answer_format_for(self.subset),
            "redacted": self.redaction.enabled,
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
        records = self.redaction.prepare(self._scrub(await asyncio.to_thread(self._load)))
        info = self._run_info(records)
        existing = self.folder.start(
            info,
            resume=self.config.resume,
            retry_errors=self.config.retry_errors,
            data=self.config.data if self.given_records is None else None,
        )
        done = {(row.id, row.strategy, row.model) for row in existing}
        models = [_model_key(m) for m in self.config.models]
        units = [
            _Unit(record=record, strategy=label, model=model)
            for record in records
            for model in models
            for label in self.strategies
            if (record.id, label, model) not in done
        ]
        started = time.perf_counter()
        writer = self.folder.writer()
        progress = EvalProgress(
            total=len(records) * len(models) * len(self.strategies),
            already=len(records) * len(models) * len(self.strategies) - len(units),
            headline=self.scorers[0].headline_metric,
            labels=list(self.strategies),
            stream=self.stream,
            enabled=self.config.progress,
        )

        async def deliver(unit: _Unit, row: ResultRow, result: Result) -> None:
            # Only this process writes the run folder, wherever the unit ran.
            files = []
            if self.config.save_traces:
                if self.redaction.enabled:  # walking a large trace takes milliseconds
                    path, content = await asyncio.to_thread(self._trace_file, unit, result)
                else:
                    path, content = self._trace_file(unit, result)
                row.trace = str(path.relative_to(self.folder.path))
                files.append((path, content))
            await writer.append(row, files)
            progress.add(row)

        executor = self.executor or LocalExecutor()
        try:
            async with progress:
                await executor.run(self, units, deliver, concurrency=self.config.concurrency)
        finally:
            await writer.aclose()
        wall = time.perf_counter() - started
        rows = self.folder.read_results()
        summary = summarize(
            rows,
            self.scorers,
            dataset=self.spec.name,
            subset=self.subset,
            split=self.split,
            seed=self.config.seed,
            out=str(self.out),
            wall_s=wall,
            resamples=self.config.resamples,
            notes=self._notes(),
            sample_seed=self.sample_seed,
            preset=self.preset,
            order=list(self.strategies),
        )
        self.folder.write_summary(summary.model_dump(mode="json"))
        return summary

    def _notes(self) -> list[str]:
        notes = [note for scorer in self.scorers for note in scorer.notes()]
        if self.redaction.enabled:
            notes.append("item text redacted from results and traces")
        return list(dict.fromkeys(notes))

    def _task(self, record: EvalRecord) -> Task:
        from agot.evals.verifiers import task_verifier

        task = record.to_task(self.spec.answer_format_for(self.subset))
        verifier = task_verifier(tuple(self.scorers), record)
        return task if verifier is None else task.model_copy(update={"verifier": verifier})

    # -- the unit work (what executors run) ---------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        # A worker's copy needs the unit work only: not the stream, the loaded items, the
        # executor, nor the run folder (whose lock belongs to this process alone).
        dropped = {"stream": None, "given_records": None, "executor": None, "folder": None}
        return {**self.__dict__, **dropped}

    def dispatcher_specs(self) -> dict[str, DispatcherSpec]:
        """One dispatcher per model under test (routed when the run has a router), then one
        per judge model the scorers call."""
        specs = {_model_key(m): self._dispatcher_spec(m, routed=True) for m in self.config.models}
        for extra in self._extra_models():
            specs[extra] = self._dispatcher_spec(extra)
        return specs

    def _dispatcher_spec(self, model: Any, *, routed: bool = False) -> DispatcherSpec:
        """The recipe for model key ``model``: the run's limits and cache, plus the model's own
        options (the model string it names, its ``api_base``, backend options)."""
        options = dict(self.config.model_options.get(_model_key(model), {}))
        target = options.pop("model", model)
        options.setdefault("api_base", self.config.api_base)
        kwargs = {
            "limits": self.config.limits,
            "cache": self.config.cache,
            "store_text": self.config.store_text,
            "replica_policy": self.config.replica_policy,
            **options,
        }
        if routed and self.config.router:
            kwargs["router"] = self.config.router
        return DispatcherSpec(target, kwargs)

    def failed_unit(self, unit: _Unit, error: str) -> tuple[ResultRow, Result]:
        result = Result(
            question=unit.record.question, strategy=unit.strategy, model=unit.model, error=error
        )
        return self._row(unit, result, None, {}, {}, error), result

    async def run_unit(
        self, unit: _Unit, dispatchers: dict[str, Dispatcher]
    ) -> tuple[ResultRow, Result]:
        if unit.record.id in self.invalid_text:
            return self.failed_unit(unit, self.invalid_text[unit.record.id])
        record, strategy = unit.record, self.strategies[unit.strategy]
        dispatcher = dispatchers[unit.model]
        started = time.perf_counter()
        try:
            with failures_as_results():
                result = await strategy.solve(
                    self._task(record), dispatcher=dispatcher, budget=self.config.item_budget
                )
        except Exception as exc:  # a failing item is recorded, never fatal to the run
            result = Result(
                question=record.question,
                strategy=unit.strategy,
                model=unit.model,
                error=_describe(exc),
                errors=[_describe(exc)],
                wall_s=time.perf_counter() - started,
            )
        ctx = ScoreContext(
            model=unit.model, dispatcher=dispatcher, seed=self.config.seed, dispatchers=dispatchers
        )
        scores: dict[str, float] = {}
        details: dict[str, Any] = {}
        prediction: str | None = None
        error = result.error
        if error is None and result.errors:
            # Failed thoughts (or samples, or agents) with an answer anyway: the answer is kept
            # and scored, and the item counts as errored so --retry-errors runs it again.
            more = f" (+{len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
            error = f"{len(result.errors)} failed step(s), answer kept: {result.errors[0]}{more}"
        scoring_started = time.perf_counter()
        for index, scorer in enumerate(self.scorers):
            try:
                scored = await scorer.score(record, result, ctx)
            except Exception as exc:
                scored = Score(details={f"{scorer.name}_error": _describe(exc)})
                error = error or f"scorer {scorer.name} failed: {_describe(exc)}"
            if index == 0:
                prediction = scored.prediction
            scores.update(scored.scores)
            details.update(scored.details)
        # Wall time of all scorers (a judge's calls included); the summary reports it per item.
        details["score_s"] = round(time.perf_counter() - scoring_started, 6)
        if result.errors and not result.error:
            details["strategy_errors"] = result.errors
        details.update(_verifier_agreement(result, scores, self.scorers))
        if any(e.endpoint for e in result.events):
            details["endpoints"] = endpoint_calls(result.events)
        return self._row(unit, result, prediction, scores, details, error), result

    def _row(
        self,
        unit: _Unit,
        result: Result,
        prediction: str | None,
        scores: dict[str, float],
        details: dict[str, Any],
        error: str | None,
    ) -> ResultRow:
        record = unit.record
        row = ResultRow(
            id=record.id,
            dataset=self.spec.name,
            subset=self.subset,
            split=self.split,
            strategy=unit.strategy,
            model=unit.model,
            seed=self.config.seed,
            gold=record.gold,
            raw=raw_text(result),
            prediction=prediction,
            scores=scores,
            usage=result.usage,
            latency_s=result.wall_s,
            error=error,
            stopped=result.stopped,
            details=details,
        )
        redacted = self.redaction(record.id, row.model_dump(mode="json"))
        return ResultRow.model_validate(redacted)

    def _trace_file(self, unit: _Unit, result: Result) -> tuple[Path, bytes]:
        """Where the unit's trace goes, and its bytes: the object Result.save_trace writes
        (Result.load_trace reads it back), serialised by pydantic's compact encoder since a
        run writes thousands of them."""
        path = self.folder.trace_path(unit.strategy, unit.model, unit.record.id)
        return path, self.redaction.trace_bytes(unit.record.id, result)


def _verifier_agreement(
    result: Result, scores: dict[str, float], scorers: Sequence[Scorer]
) -> dict[str, Any]:
    """For a strategy that chose its answer by a verifier (best-of-N): the verifier's score of
    the answer and whether it agrees with the item's headline score (both read as pass at
    0.5), so a run shows how far the verifier can be trusted."""
    verified = result.details.get("verifier_score")
    if not isinstance(verified, int | float) or not scorers:
        return {}
    out: dict[str, Any] = {"verifier_score": float(verified)}
    final = scores.get(scorers[0].headline_metric)
    if final is not None:
        out["verifier_agrees"] = (verified >= 0.5) == (final >= 0.5)
    return out


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


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, AgotError):
        return f"{type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _model_key(model: Any) -> str:
    """How rows, tables, trace folders and run.json name a model under test: its string with
    any key in its URL masked (:func:`~agot.url_secrets.redact_model`); the dispatcher gets
    the string itself."""
    if isinstance(model, str):
        return redact_model(model)
    return redact_model(f"{model.name}:{model.model}")
