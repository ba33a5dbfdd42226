"""HotpotQA exact match and F1, as the official ``hotpot_evaluate_v1.py`` defines them
(hotpotqa/hotpot at commit 3635853403a8735609ee997664e1528f4480762a, the v1.0 release).

Normalise: lowercase, drop ``string.punctuation``, replace the articles a/an/the (as whole
words) by spaces, collapse white space. EM is equality of the normalised strings. F1 counts
shared tokens with multiplicity (a Counter intersection, not a set) and is 0 when either
side normalises to yes/no/noanswer and the two differ. With several gold forms (aliases)
each metric takes its best match. 2WikiMultihopQA (``2wikimultihop_evaluate_v1.1.py``,
Alab-NII/2wikimultihop@13800e5) and MoreHopQA (``evaluate.py``, Alab-NII/morehopqa@27c72b1)
score answers with these same rules; HybridQA has its own (SQuAD's,
:mod:`agot.evals.scorers.squad`).

The whole prediction is scored, as the official script does: every step is one linear pass
(``str.lower``, ``str.translate``, one regular expression without nested quantifiers,
``str.split``), and the prediction is normalised and counted once for all gold forms, so a
100,000-character reply costs a few milliseconds.
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
_PUNCTUATION_BYTES = string.punctuation.encode("ascii")
# The official ``\b(a|an|the)\b``, with the leading ``\b`` checked just after the first
# letter so the engine can skip ahead to an "a" or a "t" (same matches, same replacements).
_ARTICLES = re.compile(r"(?:a(?<!\w.)n?|t(?<!\w.)he)\b")
_ARTICLE_WORDS = frozenset({"a", "an", "the"})
# ASCII characters that are neither word characters, white space nor punctuation.
_ASCII_BOUNDARY = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_SPECIAL = ("yes", "no", "noanswer")
OFFICIAL = "hotpot_evaluate_v1.py (hotpotqa/hotpot@3635853)"


def normalize_squad_answer(text: str) -> str:
    """HotpotQA/SQuAD normalisation: lower, no punctuation, no articles, single spaces.

    The official scripts' rule, kept to the letter so scores compare with published ones: a
    bare article normalises to ``""``. Voting uses :func:`agot.answers.normalize_answer`,
    which keeps a lone ``A`` (a choice letter) instead.
    """
    return " ".join(_normalised_tokens(text))


def _normalised_tokens(text: str) -> list[str]:
    text = text.lower()
    if text.isascii() and not _ASCII_BOUNDARY.search(text):
        # Without punctuation, an ASCII text has word boundaries only at white space (no
        # control characters either), so the article rule drops whole tokens: the same
        # result as the pattern, without trying it at every "a" of a long word.
        text = text.encode("ascii").translate(None, _PUNCTUATION_BYTES).decode("ascii")
        return [t for t in text.split() if t not in _ARTICLE_WORDS]
    return _ARTICLES.sub(" ", text.translate(_DELETE_PUNCTUATION)).split()


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_squad_answer(prediction) == normalize_squad_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 with HotpotQA's yes/no/noanswer rule."""
    return _hotpot_f1(Normalised(prediction), normalize_squad_answer(gold))


class Normalised:
    """A prediction normalised once for every gold form. Its tokens are counted only for the
    words a gold form has (``list.count``, a C loop): a long reply holds thousands of
    distinct words, a gold a handful."""

    def __init__(self, text: str) -> None:
        self.tokens = _normalised_tokens(text)
        self.text = " ".join(self.tokens)
        self._counts: dict[str, int] = {}

    def count(self, token: str) -> int:
        if token not in self._counts:
            self._counts[token] = self.tokens.count(token)
        return self._counts[token]


def _hotpot_f1(pred: Normalised, ref: str) -> float:
    if (pred.text in _SPECIAL or ref in _SPECIAL) and pred.text != ref:
        return 0.0
    return shared_f1(pred, ref.split())


def shared_f1(pred: Normalised, ref_tokens: list[str]) -> float:
    """F1 of the shared tokens, counted with multiplicity; 0 when nothing is shared."""
    shared = sum(min(pred.count(t), n) for t, n in Counter(ref_tokens).items())
    if shared == 0:
        return 0.0
    precision = shared / len(pred.tokens)
    recall = shared / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def qa_scores(prediction: str | None, gold: Any) -> dict[str, float]:
    """``{"em", "f1"}`` of the whole ``prediction`` against one gold string or a list of gold
    forms (the best over them)."""
    golds = gold_strings(gold)
    if prediction is None or not golds:
        return {"em": 0.0, "f1": 0.0}
    pred = Normalised(prediction)
    refs = [normalize_squad_answer(g) for g in golds]
    return {
        "em": max(float(pred.text == r) for r in refs),
        "f1": max(_hotpot_f1(pred, r) for r in refs),
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
    matches = OFFICIAL
    #: The rule that scores the whole answer against the gold forms (SQuAD's differs).
    rule = staticmethod(qa_scores)

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        prediction = result.answer
        return Score(prediction=prediction, scores=self.rule(prediction, record.gold))
