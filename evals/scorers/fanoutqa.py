"""FanOutQA loose and strict accuracy, as the official ``fanoutqa/eval/string.py`` and
``fanoutqa/norm.py`` (zhudotexe/fanoutqa, the ``fanoutqa`` 1.x package) define them.

The candidate is the model's **whole** answer string (the official evaluator passes the
generation as is). Loose accuracy is the share of gold answer strings (list items; dict keys
and values both) found in it, strict accuracy is 1 only when all are; a boolean gold is
"yes"/"no". "Found" means the normalised gold occurs in the normalised candidate between
word boundaries (``\\b...\\b``). Normalisation: lowercase, ``ftfy.fix_text``, drop thousands
separators, lemmatise with spaCy ``en_core_web_sm``, delete ``,.?!:;``, collapse white space.

spaCy's English model is not on PyPI, so lemmatisation is optional (the ``lemma`` extra
installs spaCy and ftfy; then ``python -m spacy download en_core_web_sm``). Without it the
normaliser says which fallback it used (:func:`fanoutqa_normalizer`), and the summary notes
it: spaCy's tokenisation approximated by a regex, and lemmas approximated by folding regular
English plurals (``cities`` -> ``city``, ``boxes`` -> ``box``, ``teams`` -> ``team``), the
case where missing lemmas cost most (a plural gold against a singular reply). Verb forms
(``won``/``win``) are not folded. Without ftfy, text is NFC-normalised instead.

Deviations: an empty gold list scores 1 (the official code divides by zero), and a reply
longer than :data:`MAX_CANDIDATE_CHARS` is read from its end only.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, ScoreContext, Scorer, raw_text
from agot.result import Result

OFFICIAL = "fanoutqa/eval/string.py + fanoutqa/norm.py (zhudotexe/fanoutqa 1.x)"
#: Longest candidate text read, from the end of the reply (where the answer is): the
#: normaliser's cost grows with the text, and a rambling reply must not stall scoring.
MAX_CANDIDATE_CHARS = 8_000

# Numbers with thousands separators; the lookbehind starts a match only at a digit run's
# first digit, and the possessive runs keep a long digit run from being rescanned.
_THOUSANDS = re.compile(r"(?<!\d)(?:\d++,)+\d++(?:\.\d++)?")
_PUNCT = re.compile(r"[,.?!:;]")
_SPACE = re.compile(r"\s+")
# The fallback's tokeniser (spaCy's tokens, roughly): numbers with decimal points, words,
# and each other character on its own.
_TOKENS = re.compile(r"\d+(?:\.\d+)*|\w+|[^\w\s]")
_NO_FOLD = ("ss", "us", "is", "ous", "ics")
_SIBILANT_ES = ("sses", "shes", "ches", "xes", "zes")


def fold_plural(word: str) -> str:
    """Regular English plural -> singular; anything else unchanged."""
    if len(word) <= 3 or not word.isalpha() or word.endswith(_NO_FOLD):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(_SIBILANT_ES):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _spacy_lemmatizer() -> Callable[[str], str] | None:
    try:
        import spacy

        nlp = spacy.load("en_core_web_sm")
    except Exception:  # spaCy not installed, or its English model missing
        return None
    return lambda text: " ".join(tok.lemma_ for tok in nlp(text))


_PLURAL_CANDIDATE = re.compile(r"\b[^\W\d_]{4,}s\b")


def _fallback_lemmas(text: str) -> str:
    tokens = " ".join(_TOKENS.findall(text))
    return _PLURAL_CANDIDATE.sub(lambda m: fold_plural(m[0]), tokens)


_lemmatize: Callable[[str], str] | None = None
_checked = False


def _lemmatizer() -> Callable[[str], str] | None:
    global _lemmatize, _checked
    if not _checked:
        _lemmatize, _checked = _spacy_lemmatizer(), True
    return _lemmatize


def fanoutqa_normalizer() -> str:
    """``"spacy"`` when the official lemmatising normaliser is available, else
    ``"plural-fold"`` (the documented fallback)."""
    return "spacy" if _lemmatizer() is not None else "plural-fold"


def _fix_text(text: str) -> str:
    try:
        import ftfy
    except ImportError:
        return unicodedata.normalize("NFC", text)
    return str(ftfy.fix_text(text))


def fanoutqa_normalize(text: Any) -> str:
    """FanOutQA's normalisation (with the fallback lemmas when spaCy is missing)."""
    text = _fix_text(str(text).lower())
    text = _THOUSANDS.sub(lambda m: m[0].replace(",", ""), text)
    lemmatize = _lemmatizer()
    text = lemmatize(text) if lemmatize is not None else _fallback_lemmas(text)
    return _SPACE.sub(" ", _PUNCT.sub("", text))


@dataclass(frozen=True)
class FanOutAccuracy:
    found: bool
    score: float
    missing: tuple[str, ...]


def answer_in_text(reference: Any, candidate: str) -> FanOutAccuracy:
    """How much of ``reference`` (str, number, bool, list or dict) appears in ``candidate``."""
    return _answer_in(reference, fanoutqa_normalize(candidate[-MAX_CANDIDATE_CHARS:]))


def _answer_in(reference: Any, normalized: str) -> FanOutAccuracy:
    if isinstance(reference, list | dict):
        parts = (
            [*reference.keys(), *reference.values()] if isinstance(reference, dict) else reference
        )
        if not parts:
            return FanOutAccuracy(True, 1.0, ())
        missing: list[str] = []
        for part in parts:
            missing.extend(_answer_in(part, normalized).missing)
        found = len(parts) - len(missing)
        return FanOutAccuracy(found == len(parts), found / len(parts), tuple(missing))
    if isinstance(reference, bool):
        reference = "yes" if reference else "no"
    gold = fanoutqa_normalize(reference)
    # str.find skips to the first occurrence (no match can start earlier); the pattern then
    # checks the word boundaries from there (``\b`` still sees the character before it).
    start = normalized.find(gold)
    if start >= 0 and re.compile(rf"\b{re.escape(gold)}\b").search(normalized, start):
        return FanOutAccuracy(True, 1.0, ())
    return FanOutAccuracy(False, 0.0, (gold,))


class FanOutQAScorer(Scorer):
    """FanOutQA loose and strict string accuracy over the whole reply."""

    name = "fanoutqa"
    metrics = ("loose_acc", "strict_acc")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "matches": OFFICIAL, "normalizer": fanoutqa_normalizer()}

    def notes(self) -> list[str]:
        if fanoutqa_normalizer() == "spacy":
            return ["FanOutQA accuracy: official normaliser (spaCy en_core_web_sm lemmas)"]
        return [
            "FanOutQA accuracy: fallback normaliser 'plural-fold' (regular plurals folded, no "
            "spaCy lemmas); install agot[lemma] and en_core_web_sm for the official one"
        ]

    async def score(self, record: EvalRecord, result: Result, ctx: ScoreContext) -> Score:
        # Normalising a long reply takes milliseconds (tens with spaCy): keep it off the loop.
        return await asyncio.to_thread(self.score_result, record, result)

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        prediction = raw_text(result)
        if not prediction:
            return Score(scores={"loose_acc": 0.0, "strict_acc": 0.0})
        acc = answer_in_text(record.gold, prediction)
        return Score(
            prediction=prediction,
            scores={"loose_acc": acc.score, "strict_acc": float(acc.found)},
            details={"missing": list(acc.missing), "normalizer": fanoutqa_normalizer()},
        )
