"""Metric objects: how one scorer metric becomes a number with its interval, from result rows.

A scorer declares its metrics by name (``Scorer.metrics``) and, for those that are not a plain
per-item mean, a metric object (``Scorer.corpus``), as inspect_ai declares ``metrics=[...]`` on
a scorer. The summary that ``agot eval`` prints, ``agot report`` and the viewer all compute a
metric through :meth:`Metric.estimate`, so a number has one definition wherever it is shown.

* :class:`Mean`: the mean of the items' values under the one missing-score rule
  (:func:`~agot.evals.scorers.base.item_score`), with a bootstrap interval over items.
* :class:`CorpusMetric`: a statistic of the rows as a whole (macro-F1, ECE, MuSiQue's paired
  group scores); its interval resamples the units :meth:`CorpusMetric.units` picks from the
  rows (the answered items, the complete question pairs), and its ``n`` counts them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agot.evals.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Estimate,
    bootstrap_mean,
    bootstrap_statistic,
)

if TYPE_CHECKING:
    from agot.evals.run_folder import ResultRow

#: Most resamples a corpus statistic takes: each one recomputes it in Python.
CORPUS_RESAMPLES = 1000


def item_score(scores: Mapping[str, float], error: str | None, metric: str) -> float | None:
    """An item's value for ``metric`` under the one missing-score rule: its score, else 0.0
    when the item failed (its row's ``error`` set), else None (the item is left out, and the
    metric's ``n`` says how many items it covers)."""
    if metric in scores:
        return float(scores[metric])
    return 0.0 if error else None


class Metric:
    """One named metric over a group's result rows."""

    def __init__(self, name: str) -> None:
        self.name = name

    def estimate(
        self,
        rows: Sequence[ResultRow],
        *,
        resamples: int = DEFAULT_RESAMPLES,
        seed: int = DEFAULT_SEED,
    ) -> Estimate:
        """The metric's value over ``rows`` with its bootstrap interval."""
        return self.interval(rows, resamples, seed)

    def interval(self, rows: Sequence[ResultRow], resamples: int, seed: int) -> Estimate:
        raise NotImplementedError

    def value(self, rows: Sequence[Mapping[str, Any]]) -> float:
        """The point value over dumped result rows (``scores``, ``prediction``, ``gold``,
        ``error``, ``details``); nan when no row counts."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Mean(Metric):
    """The mean of the items' values (:func:`item_score`'s rule), bootstrapped over items."""

    def interval(self, rows: Sequence[ResultRow], resamples: int, seed: int) -> Estimate:
        found = (item_score(r.scores, r.error, self.name) for r in rows)
        return bootstrap_mean([v for v in found if v is not None], resamples=resamples, seed=seed)

    def value(self, rows: Sequence[Mapping[str, Any]]) -> float:
        found = (item_score(r["scores"], r.get("error"), self.name) for r in rows)
        values = [v for v in found if v is not None]
        return sum(values) / len(values) if values else float("nan")


class CorpusMetric(Metric):
    """A statistic of the rows as a whole; subclasses implement :meth:`compute`."""

    def units(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """What the statistic is computed over and its interval resamples (every row unless
        a metric says otherwise); the estimate's ``n`` counts these."""
        return list(rows)

    def compute(self, units: Sequence[Any]) -> float:
        """The statistic over ``units`` (nan when it is undefined on them)."""
        raise NotImplementedError

    def value(self, rows: Sequence[Mapping[str, Any]]) -> float:
        return self.compute(self.units(rows))

    def interval(self, rows: Sequence[ResultRow], resamples: int, seed: int) -> Estimate:
        found = bootstrap_statistic(
            self.units([r.model_dump() for r in rows]),
            self.compute,
            resamples=min(resamples, CORPUS_RESAMPLES),
            seed=seed,
        )
        if found.value is not None and math.isnan(found.value):  # undefined: reads n/a
            return found.model_copy(update={"value": None, "low": None, "high": None})
        return found
