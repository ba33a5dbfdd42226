"""Classification datasets in ``agot eval``: the Kairanban variants as strategies, and a scorer.

A dataset registered with ``labels`` (SST-5, TweetEval sentiment, Financial PhraseBank) is a
classification set: its gold is one label string. On such a set the runner accepts these
strategy names besides the text strategies (``cot``, ``direct``, ...):

=====================  ========================================================================
name                   what runs (``--agents N``, ``--idobata-at K``; K = 0 means no idobata)
=====================  ========================================================================
``single``             one agent from the empty board
``independent``        N agents, no sharing, one run per item reported as two result rows:
                       ``independent-vote`` (majority vote) and ``independent-mean`` (mean of P);
                       ``independent-vote`` / ``independent-mean`` alone give one of them
``kcs``                the kairanban chain of N agents (prediction: the last agent's P)
``kcs+ibc``            the chain with the idobata round after agent K
``kairanban``          ``kcs+ibc``, or ``kcs`` when K = 0
=====================  ========================================================================

K defaults to ``N // 2 + 1`` (3 of the paper's 5 agents). Each name is an ordinary strategy of
the registry (:func:`agot.kairanban.variants.variant`), a :class:`~agot.kairanban.Kairanban`
that the runner builds with the dataset's labels; this runner is the one way to score them on
a labelled set (resumable, one results line per item, bootstrap intervals). Every variant gets
the run's ``--seed``, so agent ``i`` samples with the same seed in every variant.
``independent`` is one unit of work that writes two rows (its ``readings``, ``vote`` and
``mean``, of one run: the same calls, so both rows report the same usage).

:class:`ClassificationScorer` scores any strategy on such a set. Kairanban variants give a
distribution; a text strategy's ``Answer: <label>`` counts as a one-hot distribution. Per row:
``accuracy`` (0/1; an item with no prediction counts as wrong), ``brier`` and ``log_loss`` of
the item's distribution, ``unparsed`` (1 when there was no prediction); the row's details hold
the distribution, the confidence of the predicted label and, for Kairanban, the trajectory
(entropy and variance per stage, defined in :mod:`agot.kairanban.metrics`). Per strategy x
model the summary reports accuracy, Brier and log loss as bootstrapped means, macro-F1 and ECE
as corpus statistics bootstrapped over items (:mod:`agot.evals.classification_metrics`; the
last four over the items that have a prediction), and the mean entropy and variance per stage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agot.errors import DatasetError
from agot.evals.records import EvalRecord
from agot.evals.scorers import Score, Scorer, raw_text
from agot.evals.scorers.metrics import CorpusMetric
from agot.result import Result


def canonical_strategy(name: str) -> str | None:
    """The canonical Kairanban variant for strategy ``name``, or None when it is not one."""
    from agot.kairanban.variants import STRATEGY_NAMES
    from agot.strategies import STRATEGIES

    key = STRATEGIES.key(str(name))
    return key if key in STRATEGY_NAMES else None


# -- scoring ----------------------------------------------------------------------------------

_DECOR = r"[\s*_`\"'\[\(]*"


def parse_label(text: str | None, labels: Sequence[str]) -> str | None:
    """The label a text reply states, or None (never a guess).

    The last ``Answer: <label>`` (or ``answer is <label>``), case-insensitive, longest label
    first so ``very negative`` is not read as ``negative``; failing that, a reply that is
    exactly one label (decorations and a final full stop allowed).
    """
    if not text:
        return None
    by_length = sorted(labels, key=len, reverse=True)
    choice = "|".join(re.escape(label) for label in by_length)
    found = re.findall(rf"(?i)answer\s*(?:is|:|：)\s*{_DECOR}({choice})(?![\w-])", text)
    lower = {label.lower(): label for label in labels}
    if found:
        return lower[found[-1].lower()]
    bare = text.strip().strip("*_`\"'()[]. ").lower()
    return lower.get(bare)


class ClassificationScorer(Scorer):
    """Label accuracy plus Brier, log loss, macro-F1 and ECE of the predicted distributions."""

    name = "classification"
    metrics = ("accuracy", "macro_f1", "brier", "log_loss", "ece", "unparsed")
    headline = "accuracy"

    def __init__(self, labels: Sequence[str] | None = None, n_bins: int = 10) -> None:
        self.labels = tuple(labels or ())
        self.n_bins = n_bins
        self.corpus = (MacroF1(self.labels), ExpectedCalibrationError(self.labels, n_bins))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metrics": list(self.metrics),
            "labels": list(self.labels),
            "ece_bins": self.n_bins,
        }

    @classmethod
    def from_description(cls, described: Mapping[str, Any]) -> ClassificationScorer:
        return cls(labels=described.get("labels"), n_bins=int(described.get("ece_bins", 10)))

    def _labels(self, record: EvalRecord) -> tuple[str, ...]:
        labels = tuple(record.metadata.get("labels") or self.labels)
        if len(labels) < 2:
            raise DatasetError(
                f"item {record.id!r} of {record.dataset!r} has no label set: register the "
                "dataset with labels=(...) or give records metadata['labels']"
            )
        return labels

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        from agot.evals.classification_metrics import brier_score, log_loss

        labels = self._labels(record)
        gold = record.gold
        if gold not in labels:
            raise DatasetError(
                f"item {record.id!r} has gold label {gold!r}, not one of {list(labels)}"
            )
        details: dict[str, Any] = {"labels": list(labels)}
        report = result.details.get("kairanban")
        if isinstance(report, Mapping):
            dist = report.get("distribution")
            label = report.get("label") if dist is not None else None
            details["aggregate"] = report.get("aggregate")
            details["trajectory"] = [
                {
                    "stage": s["stage"],
                    "entropy": s.get("entropy"),
                    "variance": s.get("variance"),
                    "after_idobata": bool(s.get("after_idobata")),
                }
                for s in report.get("trajectory") or []
            ]
        else:
            label = parse_label(raw_text(result), labels) or parse_label(result.answer, labels)
            dist = {x: float(x == label) for x in labels} if label is not None else None
            details["aggregate"] = "stated label (one-hot)"
        scores = {"accuracy": float(label == gold), "unparsed": float(label is None)}
        if dist is not None and label is not None:
            dist = {x: float(dist[x]) for x in labels}
            scores["brier"] = brier_score([gold], [dist], labels)
            scores["log_loss"] = log_loss([gold], [dist], labels)
            details["distribution"] = dist
            details["confidence"] = dist[label]
        return Score(prediction=label, scores=scores, details=details)


class _AnsweredMetric(CorpusMetric):
    """A corpus statistic over the rows with a prediction and a distribution (its interval
    resamples those); the labels come from the rows, else the scorer's."""

    def __init__(self, name: str, labels: Sequence[str]) -> None:
        super().__init__(name)
        self.labels = list(labels)

    def units(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return [r for r in rows if _answered(r)]

    def _labels(self, units: Sequence[Mapping[str, Any]]) -> list[str]:
        return list(units[0]["details"].get("labels") or self.labels)


class MacroF1(_AnsweredMetric):
    """Macro-averaged F1 of the predicted labels (:func:`classification_metrics.macro_f1`)."""

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__("macro_f1", labels)

    def compute(self, units: Sequence[Mapping[str, Any]]) -> float:
        from agot.evals.classification_metrics import macro_f1

        if not units:
            return float("nan")
        gold = [r["gold"] for r in units]
        return macro_f1(gold, [r["prediction"] for r in units], self._labels(units))


class ExpectedCalibrationError(_AnsweredMetric):
    """ECE of the predicted label's confidence over ``n_bins`` equal-width bins."""

    def __init__(self, labels: Sequence[str], n_bins: int = 10) -> None:
        super().__init__("ece", labels)
        self.n_bins = n_bins

    def compute(self, units: Sequence[Mapping[str, Any]]) -> float:
        from agot.evals.classification_metrics import (
            calibration_bins,
            expected_calibration_error,
        )

        if not units:
            return float("nan")
        bins = calibration_bins(
            [r["gold"] for r in units],
            [r["details"]["distribution"] for r in units],
            self._labels(units),
            predicted=[r["prediction"] for r in units],
            n_bins=self.n_bins,
        )
        return expected_calibration_error(bins)


def _answered(row: Mapping[str, Any]) -> bool:
    details = row.get("details") or {}
    return row.get("prediction") is not None and isinstance(details.get("distribution"), Mapping)


def _register() -> None:
    from agot.evals.scorers import register_scorer

    register_scorer("classification", ClassificationScorer)


_register()
