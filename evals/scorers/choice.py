"""Multiple-choice letters: simple-evals' extraction (the default) and a lenient reader.

``simple-evals`` mode is OpenAI simple-evals' GPQA/MMLU rule, as of commit 90e3e821
(``common.py`` ``ANSWER_PATTERN_MULTICHOICE``, used by ``gpqa_eval.py``): the *first* match
of ``(?i)Answer[ \\t]*:[ \\t]*\\$?([A-D])\\$?`` in the whole reply, found with ``re.search``;
the captured letter scores 1 only when it equals the gold letter as captured (a lower-case
``answer: b`` is captured as ``b`` and scores 0, exactly as there); no match is unparsed and
scores 0. Numbers in this mode are comparable with published simple-evals GPQA numbers. With
more than four options the letter class widens to the options shown (A-E, ...).

``lenient`` mode is agot's reader for replies that do not follow the template: the *last*
``Answer: X``-style statement (case-insensitive keyword, "final answer", "the answer is",
"option/choice", markdown bold and brackets tolerated: ``ANSWER: (B)``, ``**Answer:**
**C**``), else a last line that is a lone, optionally decorated letter (``(B)``, ``**B**``).
It credits forms simple-evals does not (``The answer is (B)``, a bare ``B``, a later
correction), so the summary names the mode and the two can be reported side by side
(``mc`` and ``mc_lenient`` on one run: ``accuracy`` vs ``accuracy_lenient``).

Self-consistency keeps no single reply: its letter is the majority (first seen on ties) of
the letters each sample gives under the same rule.

Both readers are linear in the reply: simple-evals' pattern has no nested quantifier and the
lenient one reads only the reply's last :data:`agot.answers.MAX_PARSE_CHARS` characters with
possessive quantifiers; replies longer than :data:`MAX_REPLY_CHARS` are cut first.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any, Literal

from agot.answers import tail
from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, Scorer, raw_text
from agot.result import Result

#: simple-evals' pattern, byte for byte (``common.py`` at commit 90e3e821).
SIMPLE_EVALS_PATTERN = r"(?i)Answer[ \t]*:[ \t]*\$?([A-D])\$?"
SIMPLE_EVALS_VERSION = "openai/simple-evals@90e3e821 (common.ANSWER_PATTERN_MULTICHOICE)"

#: Longest reply the first-match reader looks at (far beyond any model's output length).
MAX_REPLY_CHARS = 1_000_000

Mode = Literal["simple-evals", "lenient"]


@lru_cache(maxsize=16)
def _simple_evals_regex(letters: str) -> re.Pattern[str]:
    if letters == "ABCD":
        return re.compile(SIMPLE_EVALS_PATTERN)
    return re.compile(r"(?i)Answer[ \t]*:[ \t]*\$?([" + re.escape(letters) + r"])\$?")


def simple_evals_choice(text: str | None, letters: str = "ABCD") -> str | None:
    """The letter simple-evals extracts: the first ``Answer: X`` match, case as written."""
    if not text:
        return None
    match = _simple_evals_regex(letters).search(text[:MAX_REPLY_CHARS])
    return match.group(1) if match else None


_DECOR = r"[\s:：*_`\"'\[\(]"


@lru_cache(maxsize=16)
def _lenient_regexes(letters: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    letter_class = "[" + re.escape(letters) + "]"
    # The keyword is case-insensitive, the letter is not: "the answer is a compound" is no
    # "A". Possessive runs: no stretch of decoration is re-split between two quantifiers.
    keyword = re.compile(
        r"(?i:answer)\s*+(?:(?i:is)|:|：)"
        + _DECOR
        + r"*+(?:(?i:option|choice)\s++"
        + _DECOR
        + r"*+)?("
        + letter_class
        + r")(?![A-Za-z0-9])"
    )
    lone = re.compile(r"[\s*_`\"'\[\(]*+(" + letter_class + r")[\s*_`\"'\]\).:]*+")
    return keyword, lone


def extract_choice(text: str | None, letters: str = "ABCD") -> str | None:
    """The lenient reader: the chosen letter, or None when the reply names none (never a
    guess). See the module docstring for the forms it reads."""
    if not text:
        return None
    text = tail(text)
    keyword, lone = _lenient_regexes(letters)
    last = None
    for last in keyword.finditer(text):  # noqa: B007 - the last statement wins
        pass
    if last is not None:
        return last.group(1).upper()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    match = lone.fullmatch(lines[-1])
    return match.group(1) if match else None


def _letters_for(record: EvalRecord) -> str:
    return "ABCDEFGHIJ"[: len(record.choices or "ABCD")]


class MultipleChoiceScorer(Scorer):
    """Letter accuracy under one extraction ``mode``; ``unparsed`` = 1 when no letter was
    found (an unparsed reply scores 0). The lenient mode suffixes its metric names
    (``accuracy_lenient``) so both modes can score one run side by side."""

    name = "mc"

    def __init__(self, mode: Mode = "simple-evals") -> None:
        if mode not in ("simple-evals", "lenient"):
            raise ValueError(f"unknown multiple-choice mode {mode!r}: simple-evals or lenient")
        self.mode: Mode = mode
        suffix = "" if mode == "simple-evals" else "_lenient"
        self.metrics = (f"accuracy{suffix}", f"unparsed{suffix}")

    def describe(self) -> dict[str, Any]:
        matches = SIMPLE_EVALS_VERSION if self.mode == "simple-evals" else "agot lenient reader"
        return {**super().describe(), "mode": self.mode, "matches": matches}

    def notes(self) -> list[str]:
        if self.mode == "simple-evals":
            return [
                f"{self.metrics[0]}: simple-evals extraction (first 'Answer: X' match, "
                f"{SIMPLE_EVALS_VERSION})"
            ]
        return [
            f"{self.metrics[0]}: lenient extraction (last answer statement or a lone letter); "
            "not comparable with simple-evals numbers"
        ]

    def extract(self, text: str | None, letters: str) -> str | None:
        if self.mode == "simple-evals":
            return simple_evals_choice(text, letters)
        return extract_choice(text, letters)

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        letters = _letters_for(record)
        details: dict[str, Any] = {}
        samples = result.details.get("samples")
        if "raw" not in result.details and isinstance(samples, list) and samples:
            votes = [self.extract(s, letters) for s in samples if isinstance(s, str)]
            counted = Counter(v for v in votes if v is not None)
            choice = max(counted, key=lambda v: (counted[v], -votes.index(v))) if counted else None
            details[f"votes{self.metrics[0][len('accuracy') :]}"] = votes
        elif self.mode == "simple-evals":
            choice = self.extract(raw_text(result), letters)
        else:
            choice = None
            for text in (raw_text(result), result.answer):
                choice = self.extract(text, letters)
                if choice is not None:
                    break
        correct = choice is not None and choice == str(record.gold).strip().upper()
        accuracy, unparsed = self.metrics
        return Score(
            prediction=choice,
            scores={accuracy: float(correct), unparsed: float(choice is None)},
            details=details,
        )


def lenient_choice_scorer() -> MultipleChoiceScorer:
    return MultipleChoiceScorer(mode="lenient")
