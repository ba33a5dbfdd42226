"""The scorer contract: a per-item :class:`Score` from a record and a strategy's result.

A scorer is an object with ``name``, ``metrics`` (per-item metric names; the first is the
headline unless ``headline`` says otherwise) and ``async score(record, result, ctx) ->
Score``; ``notes`` gives lines the summary prints (the scoring mode used, a fallback in
force). How a metric becomes a number over result rows is a metric object
(:mod:`.metrics`): a per-item mean unless the scorer declares another in ``corpus``
(macro-F1, ECE, paired group scores), as inspect_ai declares a scorer's metrics.

One rule for a row without a metric's value (:func:`~.metrics.item_score`), used by the
summary that ``agot eval`` prints and by ``agot report``: an item that failed (its row's
``error`` set) counts as 0, a miss; an item that did not fail but has no value (a judge call
that failed, a metric a scorer does not give that item) is left out, and the metric's ``n``
says how many items it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from agot.evals.records import EvalRecord
from agot.evals.scorers.metrics import Mean, Metric
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
    #: Metric objects for the metrics that are not a per-item mean (macro-F1, ECE); the
    #: others are :class:`~.metrics.Mean`.
    corpus: tuple[Metric, ...] = ()
    #: The official scorer this one reproduces (its file and commit), recorded by
    #: :meth:`describe` so a run says which rule its numbers follow; None for agot's own.
    matches: ClassVar[str | None] = None

    @property
    def headline_metric(self) -> str:
        return self.headline or self.metrics[0]

    async def score(self, record: EvalRecord, result: Result, ctx: ScoreContext) -> Score:
        return self.score_result(record, result)

    def describe(self) -> dict[str, Any]:
        """What the run records about this scorer (its settings, prompt versions, ...)."""
        described: dict[str, Any] = {"name": self.name, "metrics": list(self.metrics)}
        if self.matches is not None:
            described["matches"] = self.matches
        return described

    @classmethod
    def from_description(cls, described: Mapping[str, Any]) -> Scorer:
        """The scorer a run recorded with :meth:`describe` (run.json), so that corpus metrics
        (macro-F1, ECE, paired groups) can be computed again from the rows after the run, as
        ``agot report`` does; subclasses with settings read them back."""
        return cls()

    def notes(self) -> list[str]:
        """Lines the run's summary prints about how this scorer scored (mode, fallbacks)."""
        return []

    def extra_models(self) -> tuple[str, ...]:
        """Model strings this scorer calls besides the model under test (the runner gives each
        one dispatcher for the whole run, found in :attr:`ScoreContext.dispatchers`)."""
        return ()

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        raise NotImplementedError

    def metric(self, name: str) -> Metric:
        """The object that computes metric ``name`` over result rows."""
        return next((m for m in self.corpus if m.name == name), None) or Mean(name)
