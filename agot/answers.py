"""Pulling the final answer out of free text, and normalising answers for voting."""

from __future__ import annotations

import re
import string

_ANSWER_LINE = re.compile(r"(?im)^\W*(?:final\s+)?answer\s*(?:is)?\s*[:：]\s*(.+?)\s*$")


def extract_answer(text: str) -> str:
    """The text after the last ``Answer:`` line, else the last non-empty line."""
    matches = _ANSWER_LINE.findall(text)
    if matches:
        return matches[-1].strip().strip("*").strip()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = frozenset({"a", "an", "the"})


def normalize_answer(text: str) -> str:
    """Lowercase, no punctuation, no articles, single spaces: the key answers are voted on.

    Articles go only when other words remain: a bare ``A`` is a multiple-choice letter, and
    dropping it would make every "A" vote an empty answer.
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    words = text.split()
    return " ".join([w for w in words if w not in _ARTICLES] or words)
