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
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agot.budget import Budget
from agot.config import describe_validation_error
from agot.dispatcher import Dispatcher
from agot.errors import AgotError, ConfigError
from agot.evals.datasets import DatasetSpec, get_dataset
from agot.evals.presets import AppliedPreset, resolve_preset
from agot.evals.records import EvalRecord
from agot.evals.results import (
    RESULTS_FILE,
    RUN_FILE,
    ResultRow,
    ResultsWriter,
    drop_rows,
    latest_rows,
    read_results,
    write_json_atomic,
)
from agot.evals.scorers import Score, ScoreContext, Scorer, get_scorer, raw_text
from agot.evals.summary import EvalSummary, summarize
from agot.limits import Limits
from agot.result import Result
from agot.strategies import ALIASES, Strategy, get_strategy
from agot.task import Task

SUMMARY_FILE = "summary.json"
#: run.json fields that must match for --resume to continue a folder.
_IDENTITY = ("dataset", "subset", "split", "seed", "sample_seed")


class EvalConfig(BaseModel):
    """Everything that defines an eval run (the CLI flags, as a model)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    dataset: str
    data: str | None = None
    subset: str | None = None
    split: str | None = None
    strategies: list[Any] = Field(default_factory=lambda: ["cot"])
    models: list[Any] = Field(default_factory=lambda: ["local"])
    limit: int | None = Field(None, ge=1)
    #: With ``limit``: a seeded random sample of that many items (kept in dataset order)
    #: rather than the first ``limit``; the seed is ``sample_seed``, else ``seed``. ``None``
    #: means "not given" (no sample, unless a preset says otherwise).
    sample: bool | None = None
    sample_seed: int | None = None
    #: A named preset (:mod:`agot.evals.presets`, e.g. ``agot-paper``): it fills in ``limit``,
    #: ``sample``, ``sample_seed`` when they are None and its per-strategy parameters where
    #: neither ``strategy_params`` nor ``per_strategy_params`` name them. Recorded in run.json
    #: and printed in the summary.
    preset: str | None = None
    seed: int = 0
    concurrency: int = Field(8, ge=1)
    out: str | None = None
    resume: bool = False
    retry_errors: bool = False
    scorers: list[Any] = Field(default_factory=list)
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    per_strategy_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    limits: Limits | None = None
    api_base: str | None = None
    cache: str | None = None
    item_budget: Budget | None = None
    save_traces: bool = True
    progress: bool = True
    resamples: int = Field(2000, ge=100)
    dataset_options: dict[str, Any] = Field(default_factory=dict)


async def run_eval(
    config: EvalConfig | str,
    *,
    records: Sequence[EvalRecord] | None = None,
    stream: TextIO | None = None,
    **kwargs: Any,
) -> EvalSummary:
    """Run an eval and return its summary (also written to ``OUT/summary.json``).

    ``config`` is an :class:`EvalConfig` or a dataset name with the config's fields as keyword
    arguments. ``records`` replaces loading (records made in a notebook); the dataset name then
    only picks the scorers and prompt format. ``strategies`` entries may be names or
    :class:`~agot.strategies.Strategy` objects; ``models`` entries model strings or backends.
    """
    try:
        if isinstance(config, str):
            config = EvalConfig(dataset=config, **kwargs)
        elif kwargs:
            config = EvalConfig.model_validate({**dict(config), **kwargs})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("eval", exc)) from None
    return await _Run(config, records, stream or sys.stderr).run()


def evaluate(config: EvalConfig | str, **kwargs: Any) -> EvalSummary:
    """Synchronous :func:`run_eval` (works inside Jupyter's running loop too)."""
    from agot.sync import run_sync

    return run_sync(run_eval(config, **kwargs))


def sample_records(
    items: Sequence[EvalRecord], limit: int | None, seed: int | None
) -> list[EvalRecord]:
    """``limit`` items drawn without replacement by ``random.Random(seed)``, in input order.

    The same rule as :func:`agot.evals.presets.sample_records`, so a preset's sample and
    ``--sample`` pick the same items.
    """
    if limit is None or limit >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]


def default_out_dir(dataset: str) -> str:
    return str(Path("runs") / f"eval-{_slug(dataset)}-{time.strftime('%Y%m%d-%H%M%S')}")


@dataclass(frozen=True)
class _Unit:
    """One item under one strategy and one model: what a results row describes."""

    record: EvalRecord
    strategy: str
    model: str


class _Run:
    def __init__(self, config: EvalConfig, records: Sequence[EvalRecord] | None, stream: TextIO):
        self.preset: AppliedPreset | None = None
        if config.preset:
            config, self.preset = _with_preset(config)
        self.config = config
        self.stream = stream
        self.spec: DatasetSpec = get_dataset(config.dataset)
        self.given_records = records
        self.out = Path(config.out or default_out_dir(self.spec.name))
        self.scorers: list[Scorer] = [get_scorer(s) for s in (*self.spec.scorers, *config.scorers)]
        self.strategies = self._strategies()
        self.subset = self.spec.resolve_subset(config.subset)
        self.split = self.spec.resolve_split(config.split)

    # -- setup --------------------------------------------------------------------------------
    def _strategies(self) -> dict[str, Strategy]:
        from agot.evals.classification import canonical_strategy

        out: dict[str, Strategy] = {}
        for entry in self.config.strategies:
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

        key = canonical_strategy(name)
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
            "strategy_params": self.config.strategy_params,
            "per_strategy_params": self.config.per_strategy_params,
            "models": [_model_key(m) for m in self.config.models],
            "scorers": [s.describe() for s in self.scorers],
            "answer_format": self.spec.answer_format,
            "agot_version": agot.__version__,
            "started_at": time.time(),
        }

    def _prepare_out(self, info: dict[str, Any]) -> list[ResultRow]:
        self.out.mkdir(parents=True, exist_ok=True)
        results = self.out / RESULTS_FILE
        # A torn last line (a kill mid-write) is cut off either way, so appends start clean.
        rows = read_results(results, repair=True)
        run_file = self.out / RUN_FILE
        if rows and not self.config.resume:
            raise ConfigError(
                f"{results} already holds {len(rows)} results: pass --resume to continue that "
                "run, or choose another --out"
            )
        if self.config.resume and run_file.exists():
            previous = json.loads(run_file.read_text())
            for key in _IDENTITY:
                if previous.get(key) != info[key]:
                    raise ConfigError(
                        f"--resume: {self.out} was run with {key}={previous.get(key)!r}, not "
                        f"{info[key]!r}; pass the same {key} or choose another --out"
                    )
        if self.config.retry_errors and any(r.error for r in rows):
            rows = [r for r in latest_rows(rows).values() if not r.error]
            drop_rows(results, rows)
        write_json_atomic(run_file, info)
        return rows

    # -- the run ------------------------------------------------------------------------------
    async def run(self) -> EvalSummary:
        records = await asyncio.to_thread(self._load)
        info = self._run_info(records)
        existing = self._prepare_out(info)
        done = {row.key for row in existing}
        models = [_model_key(m) for m in self.config.models]
        units = [
            _Unit(record=record, strategy=label, model=model)
            for record in records
            for model in models
            for label in self.strategies
            if (record.id, label, model) not in done
        ]
        started = time.perf_counter()
        dispatchers = {
            _model_key(m): Dispatcher(
                m,
                limits=self.config.limits,
                cache=self.config.cache,
                api_base=self.config.api_base,
            )
            for m in self.config.models
        }
        for extra in self._extra_models():
            dispatchers[extra] = Dispatcher(
                extra,
                limits=self.config.limits,
                cache=self.config.cache,
                api_base=self.config.api_base,
            )
        writer = ResultsWriter(self.out / RESULTS_FILE)
        progress = _Progress(
            total=len(records) * len(models) * len(self.strategies),
            already=len(records) * len(models) * len(self.strategies) - len(units),
            headline=self.scorers[0].headline_metric,
            labels=list(self.strategies),
            stream=self.stream,
            enabled=self.config.progress,
        )
        semaphore = asyncio.Semaphore(self.config.concurrency)

        async def work(unit: _Unit) -> None:
            # The semaphore covers the model work only: writing the trace and the row happens
            # after the slot is free, so the next unit's calls start without waiting on disk.
            async with semaphore:
                row, result = await self._run_unit(unit, dispatchers)
            files = []
            if self.config.save_traces:
                path, content = self._trace_file(unit, result)
                row.trace = str(path.relative_to(self.out))
                files.append((path, content))
            await writer.append(row, files)
            progress.add(row)

        try:
            async with progress:
                async with asyncio.TaskGroup() as group:
                    for unit in units:
                        group.create_task(work(unit))
        except BaseExceptionGroup as grouped:  # only infrastructure failures reach here
            raise grouped.exceptions[0] from None
        finally:
            await writer.aclose()
            for dispatcher in dispatchers.values():
                await dispatcher.aclose()
        wall = time.perf_counter() - started
        rows = read_results(self.out / RESULTS_FILE)
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
        write_json_atomic(self.out / SUMMARY_FILE, summary.model_dump(mode="json"))
        return summary

    def _notes(self) -> list[str]:
        notes = []
        if any(s.name == "fanoutqa" for s in self.scorers):
            from agot.evals.scorers import fanoutqa_normalizer

            if fanoutqa_normalizer() != "spacy":
                notes.append(
                    "FanOutQA accuracy used token normalisation without lemmas (install spacy "
                    "and en_core_web_sm for the official lemmatising normaliser)"
                )
        return notes

    def _task(self, record: EvalRecord) -> Task:
        return Task(
            question=record.question,
            context=record.context,
            choices=record.choices,
            answer_format=self.spec.answer_format,
            id=record.id,
        )

    async def _run_unit(
        self, unit: _Unit, dispatchers: dict[str, Dispatcher]
    ) -> tuple[ResultRow, Result]:
        record, strategy = unit.record, self.strategies[unit.strategy]
        dispatcher = dispatchers[unit.model]
        started = time.perf_counter()
        try:
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
        if result.errors and not result.error:
            details["strategy_errors"] = result.errors
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
        return row, result

    def _trace_file(self, unit: _Unit, result: Result) -> tuple[Path, bytes]:
        """Where the unit's trace goes, and its bytes: the object Result.save_trace writes
        (Result.load_trace reads it back), serialised by pydantic's compact encoder since a
        run writes thousands of them."""
        if self.spec.private:
            result = result.model_copy(
                update={"question": f"[{self.spec.name} item {unit.record.id}: text withheld]"}
            )
        path = (
            self.out
            / "traces"
            / _slug(unit.strategy)
            / _slug(unit.model)
            / f"{_slug(unit.record.id)}.json"
        )
        return path, result.model_dump_json().encode("utf-8")


class _Progress:
    """Counts finished units and renders the status line (via the CLI's Progress helper)."""

    def __init__(
        self,
        *,
        total: int,
        already: int,
        headline: str,
        labels: list[str],
        stream: TextIO,
        enabled: bool,
    ) -> None:
        from agot.cli.progress import Progress

        self.total, self.already, self.headline = total, already, headline
        self.done = self.errors = self.tokens = 0
        self.cost = 0.0
        self.sums: dict[str, list[float]] = {label: [0.0, 0.0] for label in labels}
        self.started = time.monotonic()
        self._progress = Progress(self.describe, stream=stream, enabled=enabled and total > already)

    def add(self, row: ResultRow) -> None:
        self.done += 1
        self.errors += bool(row.error)
        self.tokens += row.usage.total_tokens
        self.cost += row.usage.cost
        if self.headline in row.scores:
            acc = self.sums.setdefault(row.strategy, [0.0, 0.0])
            acc[0] += row.scores[self.headline]
            acc[1] += 1

    def describe(self) -> str:
        finished = self.already + self.done
        width = 20
        filled = int(width * finished / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        parts = [f"[{bar}] {finished}/{self.total}"]
        scores = [f"{label} {s / n:.3f}" for label, (s, n) in self.sums.items() if n]
        if scores:
            parts.append(f"{self.headline} " + ", ".join(scores))
        parts.append(f"{_tokens(self.tokens)} tok")
        parts.append(f"${self.cost:.4f}")
        if self.errors:
            parts.append(f"{self.errors} errors")
        elapsed = time.monotonic() - self.started
        remaining = self.total - finished
        if self.done and remaining:
            parts.append(f"ETA {_clock(elapsed / self.done * remaining)}")
        return " | ".join(parts)

    async def __aenter__(self) -> _Progress:
        await self._progress.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._progress.__aexit__(*exc)


def _with_preset(config: EvalConfig) -> tuple[EvalConfig, AppliedPreset]:
    """``config`` with its preset filled in under every setting the caller gave."""
    assert config.preset is not None
    given = {k: getattr(config, k) for k in ("limit", "sample", "sample_seed")}
    per_strategy = {ALIASES.get(k, k): dict(v) for k, v in config.per_strategy_params.items()}
    settings, per_strategy, applied = resolve_preset(
        config.preset, given, config.strategy_params, per_strategy
    )
    updated = config.model_copy(update={**settings, "per_strategy_params": per_strategy})
    try:  # re-validate: the preset's values pass the same checks as the caller's
        return EvalConfig.model_validate(dict(updated)), applied
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("eval", exc)) from None


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
    if isinstance(model, str):
        return model
    return f"{model.name}:{model.model}"


def _slug(text: str) -> str:
    """A file-name-safe form of ``text`` (with a short hash when anything was replaced)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"
    if safe != text or len(safe) > 100:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe[:80]}-{digest}"
    return safe


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
