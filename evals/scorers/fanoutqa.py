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
it: lemmas approximated by folding regular English plurals (``cities`` -> ``city``, ``boxes``
-> ``box``, ``teams`` -> ``team``), the case where missing lemmas cost most (a plural gold
against a singular reply), and spaCy's tokenisation (which splits ``,?!:;`` and a sentence's
``.`` off the words before they are deleted) approximated by turning those marks into spaces;
a decimal point is deleted, as the official normaliser does. Verb forms (``won``/``win``) are
not folded. Without ftfy, text is NFC-normalised instead.

The whole reply is normalised. Without spaCy that takes a few milliseconds on 100,000
characters (every step is one linear regular-expression pass); spaCy's lemmatiser costs far
more (the issue measured 14-1,400 ms of CPU per reply), so :class:`FanOutQAScorer` scores in a
worker thread, never on the event loop, and the run's summary reports scoring time per item.

Deviation: an empty gold list scores 1 (the official code divides by zero).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, ScoreContext, Scorer, raw_text
from agot.result import Result

OFFICIAL = "fanoutqa/eval/string.py + fanoutqa/norm.py (zhudotexe/fanoutqa@989f4c4, 1.3.0)"

# Numbers with thousands separators (the official ``(\d+,)+\d+(\.\d+)?``): the lookbehind,
# placed after the first digit so the engine can skip ahead to digits, starts a match only at
# a digit run's first digit, and the possessive runs keep a long digit run from being
# rescanned.
_THOUSANDS = re.compile(r"\d(?<!\d\d)\d*+(?:,\d++)+(?:\.\d++)?")
_PUNCT = re.compile(r"[,.?!:;]")
_SPACE = re.compile(r"\s+")
# Where a thousands separator can be at all: a cheap test before the official pattern.
_DIGIT_COMMA = re.compile(r",(?<=\d,)(?=\d)")
# The fallback's token split: ,?!:; and a "." that is not a decimal point become spaces
# (the marks by one table lookup per character, the dots by a pattern that starts with one).
_MARKS_TO_SPACES = str.maketrans(",?!:;", "     ")
_SENTENCE_DOT = re.compile(r"\.(?!\d)|\.(?<!\d\.)")
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


# A word of 5+ letters ending in "s"; the lazy run reads a long word once, not back and forth.
_PLURAL_CANDIDATE = re.compile(r"\b[^\W\d_]{4,}?s\b")


def _split_marks(text: str) -> str:
    return _SENTENCE_DOT.sub(" ", text.translate(_MARKS_TO_SPACES))


def _fallback_lemmas(text: str) -> str:
    return _PLURAL_CANDIDATE.sub(lambda m: fold_plural(m[0]), _split_marks(text))


_lemmatize: Callable[[str], str] | None = None
_checked = False


def _lemmatizer() -> Callable[[str], str] | None:
    global _lemmatize, _checked
    if not _checked:
        _lemmatize, _checked = _spacy_lemmatizer(), True
    return _lemmatize


def fanoutqa_normalizer() -> str:
    """``"spacy"`` when the official lemmatising normaliser is available, else
    ``"plural-fold"`` (the documented fallback). Loads spaCy's model on first use."""
    return "spacy" if _lemmatizer() is not None else "plural-fold"


def _expected_normalizer() -> str:
    """What :func:`fanoutqa_normalizer` will say, without loading spaCy's model (a second of
    CPU that the run's description must not spend on the event loop)."""
    if _checked:
        return fanoutqa_normalizer()
    found = all(importlib.util.find_spec(m) is not None for m in ("spacy", "en_core_web_sm"))
    return "spacy" if found else "plural-fold"


@functools.cache
def _ftfy() -> Callable[[str], str] | None:
    """ftfy's fix_text, looked up once (a failed import is not cached by Python)."""
    try:
        import ftfy
    except ImportError:
        return None
    return cast(Callable[[str], str], ftfy.fix_text)


def _fix_text(text: str) -> str:
    fix = _ftfy()
    return unicodedata.normalize("NFC", text) if fix is None else str(fix(text))


def _common_steps(text: Any) -> str:
    text = _fix_text(str(text).lower())
    if _DIGIT_COMMA.search(text):
        text = _THOUSANDS.sub(lambda m: m[0].replace(",", ""), text)
    return text


def fanoutqa_normalize(text: Any) -> str:
    """FanOutQA's normalisation (with the fallback lemmas when spaCy is missing)."""
    text = _common_steps(text)
    lemmatize = _lemmatizer()
    text = lemmatize(text) if lemmatize is not None else _fallback_lemmas(text)
    return _SPACE.sub(" ", _PUNCT.sub("", text))


def _unfolded(text: Any) -> str:
    """The fallback normalisation without its plural folding (see :func:`_gold_pattern`).

    After the split only decimal points are left of ``,.?!:;``, and a reply's white space at
    either end never decides a word-bounded search, so plain string methods finish the job.
    """
    text = _split_marks(_common_steps(text)).replace(".", "")
    return " ".join(text.split())


def _folds_to(word: str) -> str:
    """What the fallback makes of one whole word."""
    return fold_plural(word) if _PLURAL_CANDIDATE.fullmatch(word) else word


def _common_prefix(words: list[str]) -> str:
    shortest = min(words, key=len)
    for i, char in enumerate(shortest):
        if any(w[i] != char for w in words):
            return shortest[:i]
    return shortest


@functools.lru_cache(maxsize=4096)
def _gold_pattern(gold: str) -> re.Pattern[str]:
    """``\bgold\b`` over the unfolded candidate, equal to searching the folded candidate.

    Folding rewrites whole words only, and only by dropping "s", "es" or turning "ies" into
    "y", so the candidate words that fold to a (folded) gold word ``w`` are among ``w``,
    ``ws``, ``wes`` and ``w[:-1]ies``: each gold word becomes the alternation of those that do.
    Folding a 100,000-character candidate word by word costs a Python call per plural; this
    costs one scan. The left ``\b`` is checked just after the first character, so the
    pattern starts with literals and the regex engine can skip ahead to them.
    """
    if not gold:
        return re.compile(r"\b\b")
    pieces: list[list[str]] = []
    for part in re.finditer(r"\w+|\W", gold):
        word = part.group()
        forms = [word, word + "s", word + "es"] + ([word[:-1] + "ies"] if word[-1] == "y" else [])
        pieces.append(sorted({f for f in forms if _folds_to(f) == word}, key=len, reverse=True))
    rest = "".join("(?:" + ("|".join(map(re.escape, p)) or "(?!)") + ")" for p in pieces[1:])
    forms = pieces[0]
    if not forms:
        return re.compile("(?!)")
    starts_with_word = re.match(r"\w", gold) is not None

    def left(width: int) -> str:
        # \b before the gold, checked ``width`` characters in: the character before the gold
        # is not a word character (for a gold starting with one), or is one (for the rest).
        return ("(?<!" if starts_with_word else "(?<=") + r"\w" + "." * width + ")"

    shared = _common_prefix(forms)
    if shared:
        tails = "|".join(re.escape(f[len(shared) :]) for f in forms)
        first = re.escape(shared) + left(len(shared)) + f"(?:{tails})"
    else:
        first = "|".join(re.escape(f[0]) + left(1) + re.escape(f[1:]) for f in forms)
    return re.compile(f"(?s:{first}){rest}\\b")


@dataclass(frozen=True)
class FanOutAccuracy:
    found: bool
    score: float
    missing: tuple[str, ...]


def answer_in_text(reference: Any, candidate: str) -> FanOutAccuracy:
    """How much of ``reference`` (str, number, bool, list or dict) appears in ``candidate``."""
    if _lemmatizer() is not None:
        return _answer_in(reference, fanoutqa_normalize(candidate), folded=True)
    return _answer_in(reference, _unfolded(candidate), folded=False)


def _answer_in(reference: Any, normalized: str, *, folded: bool) -> FanOutAccuracy:
    if isinstance(reference, list | dict):
        parts = (
            [*reference.keys(), *reference.values()] if isinstance(reference, dict) else reference
        )
        if not parts:
            return FanOutAccuracy(True, 1.0, ())
        missing: list[str] = []
        for part in parts:
            missing.extend(_answer_in(part, normalized, folded=folded).missing)
        found = len(parts) - len(missing)
        return FanOutAccuracy(found == len(parts), found / len(parts), tuple(missing))
    if isinstance(reference, bool):
        reference = "yes" if reference else "no"
    gold = fanoutqa_normalize(reference)
    if folded:  # spaCy's lemmas on both sides: the official search, as it is
        # str.find skips to the first occurrence (no match can start earlier); the pattern
        # then checks the word boundaries from there (``\b`` sees the character before it).
        start = normalized.find(gold)
        if start >= 0 and re.compile(rf"\b{re.escape(gold)}\b").search(normalized, start):
            return FanOutAccuracy(True, 1.0, ())
        return FanOutAccuracy(False, 0.0, (gold,))
    if _gold_pattern(gold).search(normalized):
        return FanOutAccuracy(True, 1.0, ())
    return FanOutAccuracy(False, 0.0, (gold,))


class FanOutQAScorer(Scorer):
    """FanOutQA loose and strict string accuracy over the whole reply."""

    name = "fanoutqa"
    metrics = ("loose_acc", "strict_acc")
    matches = OFFICIAL

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "normalizer": _expected_normalizer()}

    def notes(self) -> list[str]:
        if _expected_normalizer() == "spacy":
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
