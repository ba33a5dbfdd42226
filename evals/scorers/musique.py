"""MuSiQue answer EM/F1, answerability and the paired ("group") metrics, as the official
``evaluate_v1.0.py`` and ``metrics/answer.py`` (StonyBrookNLP/musique, v1.0 release) define
them.

* Answer EM/F1 (SQuAD rules, not HotpotQA's): lowercase, drop ``string.punctuation``,
  replace whole-word a/an/the by spaces, collapse white space; F1 counts shared tokens with
  multiplicity. There is no yes/no/noanswer rule (``'no answer'`` vs ``'no'`` is 2/3), and
  when either side has no tokens F1 is 1 if both have none, else 0 (two empty strings score
  1). The best score over the answer and its aliases counts. Only answerable items enter
  answer EM/F1, as in the official script.
* ``full`` subset: every question comes with an unanswerable twin (same id). A reply states
  "unanswerable" (see :func:`predicts_unanswerable`) to say the paragraphs do not suffice.
  ``answerable_acc`` is the per-item share of right answerability calls; ``group_em`` and
  ``group_f1`` are the official "answer sufficiency" metrics: per question pair, the
  answerable twin's EM/F1 when both answerability calls are right, else 0; averaged over
  pairs. Pairs missing a twin (``--limit``) are left out, and their interval resamples pairs.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, Scorer
from agot.evals.scorers.hotpotqa import gold_strings
from agot.result import Result

MAX_PREDICTION_CHARS = 4_000
OFFICIAL = "evaluate_v1.0.py + metrics/answer.py (StonyBrookNLP/musique v1.0)"
_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")

#: Normalised replies that say "the paragraphs do not answer this".
UNANSWERABLE = frozenset(
    {
        "unanswerable",
        "not answerable",
        "question is unanswerable",
        "cannot be answered",
        "insufficient information",
        "not enough information",
    }
)
ANSWER_FORMAT_FULL = (
    "Some questions cannot be answered from the paragraphs given. If this one cannot, answer "
    "exactly 'unanswerable'; otherwise answer with the shortest phrase that answers the "
    "question, not a sentence."
)


def normalize(text: str) -> str:
    text = text.lower().translate(_DELETE_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(text: str) -> list[str]:
    return normalize(text).split() if text else []


def answer_em(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def answer_f1(prediction: str, gold: str) -> float:
    pred, ref = _tokens(prediction), _tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    shared = sum((Counter(pred) & Counter(ref)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(pred), shared / len(ref)
    return 2 * precision * recall / (precision + recall)


def answer_scores(prediction: str | None, gold: Any) -> dict[str, float]:
    """``{"em", "f1"}``, best over the gold answer and its aliases."""
    golds = gold_strings(gold) or [""]
    text = (prediction or "")[:MAX_PREDICTION_CHARS]
    return {
        "em": max(answer_em(text, g) for g in golds),
        "f1": max(answer_f1(text, g) for g in golds),
    }


def predicts_unanswerable(prediction: str | None) -> bool:
    text = (prediction or "")[:200]
    return normalize(text) in UNANSWERABLE


class MuSiQueScorer(Scorer):
    """Official MuSiQue answer EM/F1; with ``full`` also answerability and group metrics."""

    name = "musique"

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self.metrics = (
            ("em", "f1", "answerable_acc", "group_em", "group_f1")
            if full
            else (
                "em",
                "f1",
            )
        )
        self.corpus_metrics = ("group_em", "group_f1") if full else ()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "matches": OFFICIAL, "full": self.full}

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        gold_answerable = bool(record.metadata.get("answerable", True))
        prediction = result.answer
        scores: dict[str, float] = {}
        details: dict[str, Any] = {}
        answer = answer_scores(prediction, record.gold)
        if gold_answerable:
            scores.update(answer)
        if self.full:
            said = not predicts_unanswerable(prediction)
            scores["answerable_acc"] = float(said == gold_answerable)
            details["musique"] = {
                "group": str(record.metadata.get("group", record.id)),
                "answerable": gold_answerable,
                "predicted_answerable": said,
                **answer,
            }
        return Score(prediction=prediction, scores=scores, details=details)

    def rows_for(self, metric: str, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """One entry per complete question pair (answerable twin + unanswerable twin)."""
        if metric not in self.corpus_metrics:
            return list(rows)
        pairs: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            info = (row.get("details") or {}).get("musique")
            if isinstance(info, Mapping):
                pairs.setdefault(str(info["group"]), []).append(info)
        out: list[Mapping[str, Any]] = []
        for members in pairs.values():
            answerable = [m for m in members if m["answerable"]]
            if len(members) != 2 or len(answerable) != 1:
                continue
            sufficient = all(m["predicted_answerable"] == m["answerable"] for m in members)
            out.append(
                {
                    "group_em": answerable[0]["em"] if sufficient else 0.0,
                    "group_f1": answerable[0]["f1"] if sufficient else 0.0,
                }
            )
        return out

    def aggregate_metric(self, rows: Sequence[Mapping[str, Any]], metric: str) -> float:
        if metric in self.corpus_metrics:
            values = [float(r[metric]) for r in rows]
            return sum(values) / len(values) if values else float("nan")
        return super().aggregate_metric(rows, metric)


def musique_full_scorer() -> MuSiQueScorer:
    return MuSiQueScorer(full=True)
