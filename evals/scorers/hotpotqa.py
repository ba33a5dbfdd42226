"""HotpotQA exact match and F1, as the official ``hotpot_evaluate_v1.py`` (HotpotQA v1.0
release, hotpotqa/hotpot on GitHub) defines them.

Normalise: lowercase, drop ``string.punctuation``, replace the articles a/an/the (as whole
words) by spaces, collapse white space. EM is equality of the normalised strings. F1 counts
shared tokens with multiplicity (a Counter intersection, not a set) and is 0 when either
side normalises to yes/no/noanswer and the two differ. With several gold forms (aliases)
each metric takes its best match. 2WikiMultihopQA, HybridQA and MoreHopQA use the same rules.

A prediction is read up to :data:`MAX_PREDICTION_CHARS` (an answer is a short phrase; past
that EM is 0 and F1 is near 0 either way), which keeps scoring a runaway reply cheap.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, Scorer
from agot.result import Result

_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_SPECIAL = ("yes", "no", "noanswer")
MAX_PREDICTION_CHARS = 4_000


def normalize_squad_answer(text: str) -> str:
    """HotpotQA/SQuAD normalisation: lower, no punctuation, no articles, single spaces.

    The official scripts' rule, kept to the letter so scores compare with published ones: a
    bare article normalises to ``""``. Voting uses :func:`agot.answers.normalize_answer`,
    which keeps a lone ``A`` (a choice letter) instead.
    """
    text = text.lower().translate(_DELETE_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_squad_answer(prediction) == normalize_squad_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 with HotpotQA's yes/no/noanswer rule."""
    pred, ref = normalize_squad_answer(prediction), normalize_squad_answer(gold)
    if (pred in _SPECIAL or ref in _SPECIAL) and pred != ref:
        return 0.0
    return token_f1(pred.split(), ref.split())


def token_f1(pred_tokens: list[str], ref_tokens: list[str]) -> float:
    """F1 of the shared tokens, counted with multiplicity; 0 when nothing is shared."""
    shared = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(pred_tokens)
    recall = shared / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def qa_scores(prediction: str | None, gold: Any) -> dict[str, float]:
    """``{"em", "f1"}`` of ``prediction`` against one gold string or a list of gold forms."""
    golds = gold_strings(gold)
    if prediction is None or not golds:
        return {"em": 0.0, "f1": 0.0}
    prediction = prediction[:MAX_PREDICTION_CHARS]
    return {
        "em": max(exact_match(prediction, g) for g in golds),
        "f1": max(f1_score(prediction, g) for g in golds),
    }


def gold_strings(gold: Any) -> list[str]:
    if gold is None:
        return []
    if isinstance(gold, str):
        return [gold]
    if isinstance(gold, list | tuple):
        return [str(g) for g in gold]
    return [str(gold)]


class QAScorer(Scorer):
    """HotpotQA exact match and F1 (best over gold aliases)."""

    name = "qa"
    metrics = ("em", "f1")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "matches": "hotpot_evaluate_v1.py (HotpotQA v1.0)"}

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        prediction = result.answer
        return Score(prediction=prediction, scores=qa_scores(prediction, record.gold))
