"""Running a Kairanban configuration over labelled records and scoring it.

:func:`evaluate` takes any iterable of :class:`~agot.evals.records.EvalRecord` (``question`` = the
text, ``gold`` = the label string), runs the texts concurrently over one shared dispatcher, and
returns the per-item results; :func:`summarise` turns them into dataset metrics for one
aggregation (accuracy, macro-F1, Brier, log loss, ECE from
:mod:`agot.evals.classification_metrics`, plus the mean entropy and variance per stage). One run
can be summarised under several aggregations (an independent-agents run gives both its
majority vote and its mean), so scoring never costs model calls.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from agot.dispatcher import Dispatcher
from agot.errors import ConfigError, DatasetError
from agot.evals.records import EvalRecord
from agot.kairanban import metrics
from agot.kairanban.chain import AGGREGATES, Kairanban
from agot.kairanban.schemas import KairanbanResult
from agot.strategies import failures_as_results
from agot.types import Usage


class ItemResult(BaseModel):
    """One record's outcome: the full Kairanban result plus the gold label."""

    id: str
    dataset: str
    gold: str
    result: KairanbanResult

    def prediction(self, aggregate: str) -> tuple[str | None, dict[str, float] | None]:
        """(label, distribution) under ``aggregate`` (None when the run produced none)."""
        dist = self.result.aggregates.get(aggregate)
        if dist is None:
            return None, None
        if aggregate == "vote":
            valid = [d.distribution for d in self.result.documents if d.distribution is not None]
            return metrics.vote_winner(valid, self.result.labels), dist
        return metrics.top_label(dist, self.result.labels), dist


class StageSummary(BaseModel):
    """Mean entropy and variance at one stage, over the items that reached it."""

    stage: int
    n: int
    mean_entropy: float | None = None
    mean_variance: float | None = None


class DatasetReport(BaseModel):
    """Dataset-level scores of one configuration under one aggregation.

    ``metrics`` are computed over the ``answered`` items (those with a distribution);
    ``failed`` counts the rest, which ``accuracy_all`` scores as wrong.
    """

    name: str
    aggregate: str
    labels: list[str]
    n: int
    answered: int
    failed: int
    accuracy_all: float
    metrics: dict[str, float] = Field(default_factory=dict)
    stages: list[StageSummary] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    wall_s: float = 0.0


class Evaluation(BaseModel):
    """The items of one run and its report (under the strategy's own aggregation)."""

    name: str
    items: list[ItemResult]
    report: DatasetReport
    wall_s: float = 0.0


def _gold(record: EvalRecord, labels: tuple[str, ...]) -> str:
    gold = record.gold
    if not isinstance(gold, str) or gold not in labels:
        raise DatasetError(
            f"item {record.id!r} of {record.dataset!r} has gold label {gold!r}, which is not one "
            f"of the labels {list(labels)}: pass the dataset's label set"
        )
    return gold


async def evaluate(
    strategy: Kairanban,
    records: Iterable[EvalRecord],
    *,
    model: str | None = None,
    dispatcher: Dispatcher | None = None,
    concurrency: int = 4,
    name: str | None = None,
    **dispatcher_options: Any,
) -> Evaluation:
    """Run ``strategy`` on every record (bounded concurrency, one dispatcher) and score it."""
    items = list(records)
    if not items:
        raise DatasetError("no records to evaluate: the dataset (or --limit) selected nothing")
    golds = [_gold(r, strategy.labels) for r in items]
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    own = dispatcher is None
    if dispatcher is None:
        dispatcher = Dispatcher(model, **dispatcher_options)
    elif model is not None or dispatcher_options:
        raise ConfigError("pass either dispatcher= or model=/dispatcher options, not both")
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(record: EvalRecord) -> KairanbanResult:
        async with gate:
            with failures_as_results():  # a failed item is an error row, not the end
                return await strategy.predict(record.question, dispatcher=dispatcher)

    try:
        results = await asyncio.gather(*(one(r) for r in items))
    finally:
        if own:
            await dispatcher.aclose()
    wall = time.perf_counter() - started
    out = [
        ItemResult(id=r.id, dataset=r.dataset, gold=g, result=res)
        for r, g, res in zip(items, golds, results, strict=True)
    ]
    label = name or strategy.mode
    report = summarise(out, aggregate=strategy.aggregate, name=label, wall_s=wall)
    return Evaluation(name=label, items=out, report=report, wall_s=wall)


def stage_summaries(items: Iterable[ItemResult]) -> list[StageSummary]:
    """Mean entropy and variance per stage (over the items whose stage had a value)."""
    by_stage: dict[int, tuple[list[float], list[float], int]] = {}
    for item in items:
        for stage in item.result.trajectory:
            ent, var, n = by_stage.get(stage.stage, ([], [], 0))
            if stage.entropy is not None:
                ent.append(stage.entropy)
            if stage.variance is not None:
                var.append(stage.variance)
            by_stage[stage.stage] = (ent, var, n + 1)
    return [
        StageSummary(
            stage=k,
            n=n,
            mean_entropy=statistics.fmean(ent) if ent else None,
            mean_variance=statistics.fmean(var) if var else None,
        )
        for k, (ent, var, n) in sorted(by_stage.items())
    ]


def summarise(
    items: list[ItemResult],
    *,
    aggregate: str,
    name: str,
    wall_s: float = 0.0,
    n_bins: int = 10,
) -> DatasetReport:
    """Dataset metrics of ``items`` under ``aggregate`` (``last``, ``mean`` or ``vote``)."""
    from agot.evals.classification_metrics import classification_metrics

    if aggregate not in AGGREGATES:
        raise ConfigError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    if not items:
        raise DatasetError("no items to summarise")
    labels = items[0].result.labels
    gold, probs, predicted = [], [], []
    for item in items:
        label, dist = item.prediction(aggregate)
        if dist is None or label is None:
            continue
        gold.append(item.gold)
        probs.append(dist)
        predicted.append(label)
    usage = Usage()
    for item in items:
        usage = usage + item.result.usage
    scores: dict[str, float] = {}
    if gold:
        m = classification_metrics(gold, probs, labels, predicted=predicted, n_bins=n_bins)
        scores = {
            "accuracy": m.accuracy,
            "macro_f1": m.macro_f1,
            "brier": m.brier,
            "log_loss": m.log_loss,
            "ece": m.ece,
        }
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    return DatasetReport(
        name=name,
        aggregate=aggregate,
        labels=list(labels),
        n=len(items),
        answered=len(gold),
        failed=len(items) - len(gold),
        accuracy_all=correct / len(items),
        metrics=scores,
        stages=stage_summaries(items),
        usage=usage,
        wall_s=wall_s,
    )
