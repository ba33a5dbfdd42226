"""The scorer contract: a per-item :class:`Score` from a record and a strategy's result.

A scorer is an object with ``name``, ``metrics`` (per-item metric names; the first is the
headline unless ``headline`` says otherwise) and ``async score(record, result, ctx) ->
Score``; it may override ``aggregate`` for corpus-level metrics (macro-F1 ...), which the
summary then bootstraps by resampling items, and ``notes`` for lines the summary prints (the
scoring mode used, a fallback in force).

One rule for a row without a metric's value (:func:`item_score`), used by the summary that
``agot eval`` prints, by ``agot report`` and by :meth:`Scorer.aggregate`: an item that failed
(its row's ``error`` set) counts as 0, a miss; an item that did not fail but has no value (a
judge call that failed, a metric a scorer does not give that item) is left out, and the
metric's ``n`` says how many items it covers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from agot.evals.records import EvalRecord
from agot.result import Result


class Score(BaseModel):
    """One item's scoring: the parsed prediction and metric name -> value."""

    prediction: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


@dataclass
class ScoreContext:
    """What a scorer may use besides the record and result (a judge scorer uses the dispatcher).

    ``dispatcher`` serves the model under test; ``dispatchers`` holds every dispatcher of the
    run by model string, including one for each model a scorer asked for in
    :meth:`Scorer.extra_models` (a judge model), shared by all items.
    """

    model: str
    dispatcher: Any = None
    seed: int = 0
    dispatchers: Mapping[str, Any] = field(default_factory=dict)


def item_score(scores: Mapping[str, float], error: str | None, metric: str) -> float | None:
    """An item's value for ``metric`` under the one missing-score rule (module docstring): its
    score, else 0.0 when the item failed, else None (the item is left out)."""
    if metric in scores:
        return float(scores[metric])
    return 0.0 if error else None


def raw_text(result: Result) -> str | None:
    """The model's own text for ``result``: ``details["raw"]`` when the strategy kept it."""
    raw = result.details.get("raw")
    return raw if isinstance(raw, str) else result.answer


class Scorer:
    """Base class; subclasses set ``name``/``metrics`` and implement :meth:`score_result`."""

    name: ClassVar[str] = "scorer"
    metrics: tuple[str, ...] = ()
    #: Metric reported first and shown in the progress line; defaults to ``metrics[0]``.
    headline: str | None = None
    #: True when :meth:`aggregate` is not a plain per-item mean (then it is bootstrapped as is).
    corpus_level: ClassVar[bool] = False
    #: With ``corpus_level`` False: the metrics that still are corpus statistics (macro-F1,
    #: ECE); the summary bootstraps :meth:`aggregate_metric` for them and plain means for the
    #: rest.
    corpus_metrics: tuple[str, ...] = ()

    @property
    def headline_metric(self) -> str:
        return self.headline or self.metrics[0]

    async def score(self, record: EvalRecord, result: Result, ctx: ScoreContext) -> Score:
        return self.score_result(record, result)

    def describe(self) -> dict[str, Any]:
        """What the run records about this scorer (its settings, prompt versions, ...)."""
        return {"name": self.name, "metrics": list(self.metrics)}

    def notes(self) -> list[str]:
        """Lines the run's summary prints about how this scorer scored (mode, fallbacks)."""
        return []

    def extra_models(self) -> tuple[str, ...]:
        """Model strings this scorer calls besides the model under test (the runner gives each
        one dispatcher for the whole run, found in :attr:`ScoreContext.dispatchers`)."""
        return ()

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        raise NotImplementedError

    def is_corpus_metric(self, metric: str) -> bool:
        """Whether the summary computes ``metric`` from the rows as a whole."""
        return self.corpus_level or metric in self.corpus_metrics

    def rows_for(self, metric: str, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The rows a corpus metric covers (all of them unless a scorer says otherwise); its
        interval resamples these and its ``n`` counts them."""
        return list(rows)

    def aggregate_metric(self, rows: Sequence[Mapping[str, Any]], metric: str) -> float:
        """One corpus-level value (override to compute only ``metric``, e.g. for speed)."""
        return self.aggregate(rows)[metric]

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Corpus-level values from result rows (each has ``scores``, ``prediction``, ``gold``
        and ``error``); by default each metric's mean under :func:`item_score`'s rule."""
        out: dict[str, float] = {}
        for metric in self.metrics:
            found = (item_score(r["scores"], r.get("error"), metric) for r in rows)
            values = [v for v in found if v is not None]
            out[metric] = sum(values) / len(values) if values else float("nan")
        return out
