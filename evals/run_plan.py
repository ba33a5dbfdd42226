"""The picklable part of an eval run: what every unit needs, wherever it runs.

A :class:`RunPlan` is the run's :class:`~agot.evals.executors.UnitWork`: the dataset spec with
its subset and split, the strategies and scorers, the redaction, and :meth:`RunPlan.run_unit`,
which runs one item under one strategy and one model and scores it into its results rows: one
row, or one per reading for a strategy that reports one run several ways (:class:`Readings`:
the Kairanban ``independent`` variant's vote and mean). The runner
(:mod:`agot.evals.runner`) builds it once and keeps what belongs to its own process: the run
folder and its lock, the progress line and the summary. A Ray worker holds a pickled copy, so
the plan is frozen: nothing a unit does changes it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agot.dispatcher import Dispatcher
from agot.errors import AgotError, ConfigError
from agot.evals.datasets import DatasetSpec
from agot.evals.executors import DispatcherSpec
from agot.evals.records import EvalRecord, scrub_invalid_text
from agot.evals.redaction import RunRedaction
from agot.evals.run_folder import ResultRow
from agot.evals.scorers import Score, ScoreContext, Scorer, get_scorer, raw_text
from agot.fleet.stats import endpoint_calls
from agot.result import Result
from agot.strategies import ALIASES, Strategy, failures_as_results, get_strategy
from agot.task import Task
from agot.url_secrets import redact_model

if TYPE_CHECKING:
    from agot.evals.runner import EvalConfig


@runtime_checkable
class Readings(Protocol):
    """A strategy whose one run an eval reports under several readings, one row each."""

    readings: tuple[str, ...]

    def read(self, result: Result, reading: str) -> Result:
        """``result`` as reading ``reading`` reports it."""
        ...


def row_labels(label: str, strategy: Strategy) -> tuple[str, ...]:
    """The results rows strategy ``label`` writes per item and model: ``label`` itself, or
    ``label-<reading>`` for each reading of a strategy with several."""
    if isinstance(strategy, Readings) and len(strategy.readings) > 1:
        return tuple(f"{label}-{reading}" for reading in strategy.readings)
    return (label,)


@dataclass(frozen=True)
class Unit:
    """One item under one strategy and one model: one run, written as the rows ``rows`` (the
    strategy's :func:`row_labels` still missing from the run folder)."""

    record: EvalRecord
    strategy: str
    model: str
    rows: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return self.rows or (self.strategy,)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.record.id, self.strategy, self.model)


@dataclass(frozen=True, eq=False)
class RunPlan:
    """What every unit of one run needs (see the module docstring); build it with
    :meth:`build`, then :meth:`prepared` for the loaded items."""

    config: EvalConfig
    spec: DatasetSpec
    subset: str | None
    split: str | None
    scorers: tuple[Scorer, ...]
    strategies: Mapping[str, Strategy]
    redaction: RunRedaction
    #: Item id -> why it cannot run (a row with invalid text): recorded as an error row.
    invalid_text: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, config: EvalConfig, spec: DatasetSpec) -> RunPlan:
        subset = spec.resolve_subset(config.subset)
        return cls(
            config=config,
            spec=spec,
            subset=subset,
            split=spec.resolve_split(config.split),
            scorers=tuple(get_scorer(s) for s in (*spec.scorers_for(subset), *config.scorers)),
            strategies=build_strategies(config, spec),
            redaction=RunRedaction(spec.name, enabled=spec.private or config.redact),
        )

    def prepared(self, records: Sequence[EvalRecord]) -> tuple[RunPlan, list[EvalRecord]]:
        """The plan for ``records``, and the records as units read them: invalid text replaced
        (each such item will be an error row) and each item's redactor built."""
        out = []
        invalid: dict[str, str] = {}
        for record in records:
            record, fields = scrub_invalid_text(record)
            if fields:
                invalid[record.id] = (
                    f"the dataset row holds invalid Unicode (a lone surrogate such as \\ud800) "
                    f"in {', '.join(fields)}: fix the data file"
                )
            out.append(record)
        return replace(self, invalid_text=invalid), self.redaction.prepare(out)

    def extra_models(self) -> list[str]:
        """Models the scorers call (a judge) that are not under test: each gets one dispatcher
        shared by the whole run, so its limits hold across items and it loads only once."""
        under_test = {model_key(m) for m in self.config.models}
        wanted = [m for s in self.scorers for m in s.extra_models()]
        return [m for m in dict.fromkeys(wanted) if m not in under_test]

    def notes(self) -> list[str]:
        notes = [note for scorer in self.scorers for note in scorer.notes()]
        if self.redaction.enabled:
            notes.append("item text redacted from results and traces")
        return list(dict.fromkeys(notes))

    def task(self, record: EvalRecord) -> Task:
        from agot.evals.verifiers import task_verifier

        task = record.to_task(self.spec.answer_format_for(self.subset))
        verifier = task_verifier(tuple(self.scorers), record)
        return task if verifier is None else task.model_copy(update={"verifier": verifier})

    def dispatcher_specs(self) -> dict[str, DispatcherSpec]:
        """One dispatcher per model under test (routed when the run has a router), then one
        per judge model the scorers call."""
        specs = {model_key(m): self._dispatcher_spec(m, routed=True) for m in self.config.models}
        for extra in self.extra_models():
            specs[extra] = self._dispatcher_spec(extra)
        return specs

    def _dispatcher_spec(self, model: Any, *, routed: bool = False) -> DispatcherSpec:
        """The recipe for model key ``model``: the run's limits and cache, plus the model's own
        options (the model string it names, its ``api_base``, backend options)."""
        options = dict(self.config.model_options.get(model_key(model), {}))
        target = options.pop("model", model)
        options.setdefault("api_base", self.config.api_base)
        kwargs = {
            "limits": self.config.limits,
            "cache": self.config.cache,
            "cache_sampled": self.config.cache_sampled,
            "store_text": self.config.store_text,
            "replica_policy": self.config.replica_policy,
            **options,
        }
        if routed and self.config.router:
            kwargs["router"] = self.config.router
        return DispatcherSpec(target, kwargs)

    def failed_unit(self, unit: Unit, error: str) -> list[tuple[ResultRow, Result]]:
        out = []
        for label in unit.labels:
            result = Result(
                question=unit.record.question, strategy=label, model=unit.model, error=error
            )
            out.append((self._row(unit, label, result, None, {}, {}, error), result))
        return out

    async def run_unit(
        self, unit: Unit, dispatchers: dict[str, Dispatcher]
    ) -> list[tuple[ResultRow, Result]]:
        """The unit's rows (with the result each was scored from), in ``unit.labels`` order."""
        # Error text cut short while the item runs (its calls, its judge) is redacted first.
        with self.redaction.running(unit.record.id):
            return await self._run_unit(unit, dispatchers)

    async def _run_unit(
        self, unit: Unit, dispatchers: dict[str, Dispatcher]
    ) -> list[tuple[ResultRow, Result]]:
        if unit.record.id in self.invalid_text:
            return self.failed_unit(unit, self.invalid_text[unit.record.id])
        record, strategy = unit.record, self.strategies[unit.strategy]
        dispatcher = dispatchers[unit.model]
        started = time.perf_counter()
        try:
            with failures_as_results():
                result = await strategy.solve(
                    self.task(record), dispatcher=dispatcher, budget=self.config.item_budget
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
        if not isinstance(strategy, Readings):
            return [await self._scored(unit, unit.strategy, result, ctx)]
        labels = dict(zip(row_labels(unit.strategy, strategy), strategy.readings, strict=True))
        return [
            await self._scored(
                unit,
                label,
                strategy.read(result, labels[label]).model_copy(update={"strategy": label}),
                ctx,
            )
            for label in unit.labels
        ]

    async def _scored(
        self, unit: Unit, label: str, result: Result, ctx: ScoreContext
    ) -> tuple[ResultRow, Result]:
        """Row ``label`` of ``unit``: ``result`` scored by every scorer."""
        record = unit.record
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
        return self._row(unit, label, result, prediction, scores, details, error), result

    def _row(
        self,
        unit: Unit,
        label: str,
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
            strategy=label,
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


def build_strategies(config: EvalConfig, spec: DatasetSpec) -> dict[str, Strategy]:
    """The run's strategies by label: names built with the run's parameters, objects as given."""
    from agot.evals.classification import canonical_strategy

    out: dict[str, Strategy] = {}
    seen: set[str] = set()  # row labels: independent writes independent-vote too
    for entry in config.strategies or ():
        pairs: list[tuple[str, Strategy]]
        if isinstance(entry, Strategy):
            pairs = [(entry.name, entry)]
        elif isinstance(entry, tuple):
            pairs = [entry]
        elif (variant := canonical_strategy(str(entry))) is not None:
            pairs = [(variant, _kairanban_variant(config, spec, variant))]
        else:
            label = str(entry).strip().lower()
            params = {
                **config.strategy_params,
                **config.per_strategy_params.get(ALIASES.get(label, label), {}),
            }
            try:
                strategy = get_strategy(label, **params)
            except TypeError as exc:
                raise ConfigError(
                    f"strategy {label!r} does not take these options: {exc}"
                ) from None
            pairs = [(strategy.name, strategy)]
        for label, strategy in pairs:
            for row in row_labels(label, strategy):
                if row in seen:
                    raise ConfigError(f"strategy {row!r} is listed twice")
                seen.add(row)
            out[label] = strategy
    if not out:
        raise ConfigError("no strategy given: pass --strategy cot (or several, comma-separated)")
    return out


def _kairanban_variant(config: EvalConfig, spec: DatasetSpec, name: str) -> Strategy:
    """Kairanban variant ``name`` (:mod:`agot.evals.classification`) for a labelled dataset.

    Its parameters: the sampling flags, then ``per_strategy_params["kairanban"]``
    (``--agents``, ``--idobata-at``), then those under the variant's own name; the seed
    defaults to the run's, so every variant's agent ``i`` samples with the same seed.
    """
    if not spec.labels:
        raise ConfigError(
            f"strategy {name!r} classifies texts into labels: use it on a classification "
            f"dataset (sst5, tweet_eval, financial_phrasebank), not {spec.name}"
        )
    per = config.per_strategy_params
    params: dict[str, Any] = {
        "seed": config.seed,
        **config.strategy_params,
        **per.get("kairanban", {}),
        **(per.get(name, {}) if name != "kairanban" else {}),
    }
    try:
        return get_strategy(name, labels=spec.labels, **params)
    except TypeError as exc:
        raise ConfigError(f"strategy {name!r} does not take these options: {exc}") from None


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


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, AgotError):
        return f"{type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def model_key(model: Any) -> str:
    """How rows, tables, trace folders and run.json name a model under test: its string with
    any key in its URL masked (:func:`~agot.url_secrets.redact_model`); the dispatcher gets
    the string itself."""
    if isinstance(model, str):
        return redact_model(model)
    return redact_model(f"{model.name}:{model.model}")
