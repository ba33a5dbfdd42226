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

K defaults to ``N // 2 + 1`` (3 of the paper's 5 agents). The Kairanban objects come from
:func:`agot.kairanban.variants.variant_strategies`; this runner is the one way to score them
on a labelled set (resumable, one results line per item, bootstrap intervals). Every variant
gets the run's ``--seed``, so agent ``i`` samples with the same seed in every variant. The two
``independent`` rows share one run (the same calls, so both rows report the same usage).

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

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agot.config import check_count
from agot.errors import ConfigError, DatasetError
from agot.evals.records import EvalRecord
from agot.evals.scorers import Score, Scorer, raw_text
from agot.evals.scorers.metrics import CorpusMetric
from agot.kairanban.options import DEFAULT_AGENTS, MAX_AGENTS, default_idobata_at
from agot.result import Result
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.task import Task

if TYPE_CHECKING:
    from agot.budget import Budget
    from agot.dispatcher import Dispatcher
    from agot.kairanban.chain import Kairanban

#: Strategy names a classification dataset accepts (canonical name -> what it runs).
CLASSIFICATION_STRATEGIES = {
    "single": "one agent",
    "independent": "N independent agents: rows independent-vote and independent-mean",
    "independent-vote": "N independent agents, majority vote",
    "independent-mean": "N independent agents, mean distribution",
    "kcs": "kairanban chain of N agents",
    "kcs+ibc": "kairanban chain with the idobata round after agent K",
    "kairanban": "kcs+ibc (kcs with --idobata-at 0)",
}
_ALIASES = {
    "kcs-ibc": "kcs+ibc",
    "kcs_ibc": "kcs+ibc",
    "ibc": "kcs+ibc",
    "independent_vote": "independent-vote",
    "independent_mean": "independent-mean",
    "vote": "independent-vote",
    "mean": "independent-mean",
}


def canonical_strategy(name: str) -> str | None:
    """The canonical classification strategy for ``name``, or None when it is not one."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in CLASSIFICATION_STRATEGIES else None


def classification_strategies(
    name: str,
    labels: Sequence[str],
    *,
    agents: int = DEFAULT_AGENTS,
    idobata_at: int | None = None,
    **options: Any,
) -> list[tuple[str, Strategy]]:
    """The (row label, strategy) pairs that strategy ``name`` adds to a run.

    ``idobata_at``: None for the default (:func:`default_idobata_at`), 0 for none. ``options``
    go to every :class:`~agot.kairanban.Kairanban` (``temperature``, ``max_tokens``, ``seed``,
    ``models``, ``personas``, ...).
    """
    from agot.kairanban.variants import variant_strategies

    key = canonical_strategy(name)
    if key is None:
        raise ConfigError(
            f"unknown classification strategy {name!r}: choose from "
            f"{', '.join(CLASSIFICATION_STRATEGIES)}"
        )
    check_count(agents, "--agents", maximum=MAX_AGENTS)
    if idobata_at is None:
        idobata = default_idobata_at(agents) if agents > 1 else None
    else:
        idobata = check_count(idobata_at, "--idobata-at (0: none)", minimum=0) or None
    if key == "kcs+ibc" and idobata is None:
        raise ConfigError(
            "kcs+ibc needs an idobata round: pass --idobata-at K with 1 <= K <= --agents "
            "(use kcs for the chain without one)"
        )

    def build(variant: str) -> Kairanban:
        return variant_strategies(
            labels, agents=agents, idobata_at=idobata or 1, variants=[variant], **options
        )[variant]

    if key == "independent":
        chain = build("independent")
        shared = SharedRun(chain, readers=2)
        return [
            ("independent-vote", KairanbanVariant("independent-vote", chain, "vote", shared)),
            ("independent-mean", KairanbanVariant("independent-mean", chain, "mean", shared)),
        ]
    if key in ("independent-vote", "independent-mean"):
        chain = build("independent")
        return [(key, KairanbanVariant(key, chain, key.removeprefix("independent-")))]
    variant = ("kcs+ibc" if idobata else "kcs") if key == "kairanban" else key
    chain = build(variant)
    return [(key, KairanbanVariant(key, chain, chain.aggregate))]


def view_details(details: Mapping[str, Any], aggregate: str) -> tuple[str | None, dict[str, Any]]:
    """A Kairanban run's (answer, details) seen under ``aggregate`` (``last``/``mean``/``vote``).

    The run reports all three aggregates, so reading it under another one costs no calls.
    ``details["raw"]`` becomes the last valid agent document (the board at the end) as JSON,
    so a results row's ``raw`` is model text rather than the label.
    """
    from agot.kairanban import metrics

    report = dict(details.get("kairanban") or {})
    if not report:
        return None, dict(details)
    labels = report["labels"]
    dist = (report.get("aggregates") or {}).get(aggregate)
    label = None
    if dist is not None:
        if aggregate == "vote":
            valid = [d["distribution"] for d in report.get("documents", []) if d["distribution"]]
            label = metrics.vote_winner(valid, labels)
        else:
            label = metrics.top_label(dist, labels)
    report.update(aggregate=aggregate, distribution=dist, label=label)
    out = {**details, "kairanban": report, "distribution": dist}
    last = next((d for d in reversed(report.get("documents") or []) if d.get("distribution")), None)
    if last is not None:  # the model's own text: the board at the end, as the agent wrote it
        out["raw"] = json.dumps(
            {k: last.get(k) for k in ("analysis", "reasoning", "distribution")},
            ensure_ascii=False,
        )
    return label, out


class SharedRun:
    """One run of ``chain`` per item and dispatcher, read by ``readers`` variants.

    The first reader starts the run; the others await the same task (shielded, so one reader
    being cancelled does not cancel it for the rest). The entry is dropped once every reader
    has taken it. (A resumed run that has only one of the rows of an item left keeps that
    item's entry until the run ends: one Result per such item.)
    """

    def __init__(self, chain: Kairanban, readers: int) -> None:
        self.chain = chain
        self.readers = readers
        self._runs: dict[tuple[int, str], list[Any]] = {}

    async def result(
        self, task: Task, dispatcher: Dispatcher, budget: Budget | None = None
    ) -> Result:
        key = (id(dispatcher), task.id or task.question)
        entry = self._runs.get(key)
        if entry is None:
            run = asyncio.ensure_future(
                self.chain.solve(task, dispatcher=dispatcher, budget=budget)
            )
            entry = self._runs[key] = [run, self.readers]
        entry[1] -= 1
        if entry[1] <= 0:
            del self._runs[key]
        return await asyncio.shield(entry[0])


class KairanbanVariant(Strategy):
    """A Kairanban configuration under one aggregation, named as its results row.

    ``solve`` returns the chain's result with ``answer`` and ``details["distribution"]`` taken
    from ``aggregate``, ``strategy`` set to ``label`` and ``error`` set when no agent produced
    a valid distribution; with ``shared``, the run is shared with the other variants reading
    it (see :class:`SharedRun`).
    """

    name = "kairanban"

    def __init__(
        self,
        label: str,
        chain: Kairanban,
        aggregate: str,
        shared: SharedRun | None = None,
    ) -> None:
        super().__init__(
            temperature=chain.params.temperature,
            max_tokens=chain.params.max_tokens,
            budget=chain.budget,
        )
        self.label = label
        self.chain = chain
        self.aggregate = aggregate
        self.shared = shared

    def describe(self) -> str:
        """A one-line account of the configuration (run.json records it)."""
        c = self.chain
        parts = [f"mode={c.mode}", f"agents={c.agents}"]
        if c.idobata_at is not None:
            parts.append(f"idobata_at={c.idobata_at}")
        parts += [
            f"aggregate={self.aggregate}",
            f"labels={','.join(c.labels)}",
            f"temperature={c.params.temperature}",
            f"max_tokens={c.params.max_tokens}",
            f"seed={c.seed}",
        ]
        if self.shared is not None:
            parts.append("run shared with the other independent row")
        return f"Kairanban({', '.join(parts)})"

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        outcome = await self.chain.run(task, ctx)
        answer, details = view_details(outcome.details, self.aggregate)
        return outcome.model_copy(update={"answer": answer, "details": details})

    async def solve(self, question: str | Task, **options: Any) -> Result:
        """The chain's result read under this variant's aggregate; ``options`` are those of
        :meth:`Strategy.solve`, passed on to the chain (or to the shared run)."""
        task = Task.coerce(question)
        dispatcher = options.get("dispatcher")
        if self.shared is not None and dispatcher is not None and options.get("model") is None:
            result = await self.shared.result(task, dispatcher, options.get("budget"))
        else:
            result = await self.chain.solve(task, **options)
        answer, details = view_details(result.details, self.aggregate)
        # No agent gave a valid distribution: a failed item (counted in the summary's errors,
        # re-run by --retry-errors), not merely an unparsed one.
        error = result.error or (details.get("kairanban") or {}).get("error")
        return result.model_copy(
            update={
                "answer": answer,
                "details": details,
                "strategy": self.label,
                "error": error,
            }
        )


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
