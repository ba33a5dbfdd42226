"""SQuAD-rule exact match and F1, as HybridQA's official ``evaluate_script.py`` defines them
(wenhuchen/HybridQA at commit db22fda8c5951438fade3c69d75b350335ba93b3); MuSiQue's
``metrics/answer.py`` (StonyBrookNLP/musique@922ac98) uses the same rule.

Normalisation is HotpotQA's (lowercase, drop ``string.punctuation``, whole-word a/an/the to
spaces, collapse white space), but F1 has no yes/no/noanswer rule (gold ``No`` against
``no answer`` is 2/3, where HotpotQA's script gives 0) and when either side has no tokens F1
is 1 if both have none, else 0. EM and F1 take the best over the gold forms. The whole
prediction is scored, in linear time (see :mod:`agot.evals.scorers.hotpotqa`). Checked
against the official functions themselves (run outside this repository) on 496 predictions,
replies of 10,000-100,000 characters among them: no difference, nor for HotpotQA's rule and
MuSiQue's.
"""

from __future__ import annotations

from typing import Any

from agot.evals.scorers.hotpotqa import (
    Normalised,
    QAScorer,
    gold_strings,
    normalize_squad_answer,
    shared_f1,
)

OFFICIAL = "evaluate_script.py (wenhuchen/HybridQA@db22fda)"


def squad_f1(pred: Normalised, ref: str) -> float:
    """F1 of a normalised prediction against a normalised gold string, SQuAD's rule."""
    ref_tokens = ref.split()
    if not pred.tokens or not ref_tokens:
        return float(pred.tokens == ref_tokens)
    return shared_f1(pred, ref_tokens)


def squad_scores(prediction: str | None, gold: Any) -> dict[str, float]:
    """``{"em", "f1"}`` of the whole ``prediction`` (None reads as ``""``), best over the gold
    forms (none reads as one empty gold)."""
    pred = Normalised(prediction or "")
    refs = [normalize_squad_answer(g) for g in gold_strings(gold)] or [""]
    return {
        "em": max(float(pred.text == r) for r in refs),
        "f1": max(squad_f1(pred, r) for r in refs),
    }


class SquadScorer(QAScorer):
    """Exact match and F1 by SQuAD's rule (HybridQA's own script)."""

    name = "squad"
    matches = OFFICIAL
    rule = staticmethod(squad_scores)
