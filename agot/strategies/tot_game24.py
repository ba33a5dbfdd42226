"""Reading Game of 24 states for Tree of Thoughts: the puzzle's numbers, a step's numbers left,
and the value labels.

A ToT state is its trajectory: one line per step, ``a op b = c (left: ...)``, then a last line
``Answer: <expression> = 24``. What is left after a step is read from the ``(left: ...)`` of its
line, as the method does; a line without one is a finished answer (or debris, which the value
step judges like any answer).
"""

from __future__ import annotations

import re
from fractions import Fraction

from agot.answers import last_label
from agot.prompts.tot import VALUE_WEIGHTS

TARGET = 24

_INTEGER = re.compile(r"(?<![\d.])\d+(?!\d|\.\d)")
_LEFT = "left: "
_ANSWER_PREFIX = re.compile(r"(?i)^[\s*_`]*answer[\s*_`]*[:：]\s*")
_SUM_ORDER = ("impossible", "likely", "sure")
_LABEL = re.compile(r"(?i)\b(sure|likely|impossible)\b")


def puzzle_numbers(question: str) -> list[int] | None:
    """The four numbers of a Game of 24 question, or None when it is not one.

    A question is one when its integers are four numbers followed by 24 (the harness's
    ``Use the numbers 4 5 6 10 ... to obtain 24.``), or exactly four integers (``4 5 6 10``).
    """
    found = [int(token) for token in _INTEGER.findall(question)]
    if len(found) == 5 and found[-1] == TARGET:
        return found[:4]
    if len(found) == 4 and not re.search(r"[A-Za-z]", question):
        return found
    return None


def numbers_left(line: str) -> str | None:
    """The numbers after a step line (``"6 9 10"``), or None for a line with no ``left:``.

    Read exactly as the method reads them, so a search sees the same states: what follows the
    last ``left: `` (lower case, one space) up to a closing parenthesis (``(rounded, left:
    1.71)`` leaves ``1.71``; ``(left:12)`` is not a step line)."""
    if _LEFT not in line:
        return None
    return " ".join(line.split(_LEFT)[-1].split(")")[0].split())


def left_after(trajectory: str, puzzle: str) -> str:
    """The numbers a trajectory leaves: its last line's (:func:`numbers_left`), else the
    puzzle's own (no step yet, or a last line with no ``left:``). The search and the replay of
    the method's log key states by it, so both must read it alike."""
    lines = trajectory.strip().splitlines()
    return (numbers_left(lines[-1]) if lines else None) or puzzle


def out_of_steps(trajectory: str) -> bool:
    """Four steps written and no answer: the method values such a state 0 (its code asks the
    model, then discards the reply), so the search skips the calls and the replay the value."""
    return len(trajectory.strip().splitlines()) == 4 and "answer" not in trajectory.lower()


def reached_target(left: str) -> bool:
    """Whether ``left`` is the single number 24 (``24``, ``24.0`` and ``48/2`` count)."""
    tokens = left.split()
    if len(tokens) != 1:
        return False
    try:
        return Fraction(tokens[0]) == TARGET
    except (ValueError, ZeroDivisionError):
        return False


def single_number(left: str) -> bool:
    return len(left.split()) == 1


def answer_of(line: str) -> str:
    """A last line without its ``Answer:`` prefix (what the last value step judges)."""
    return _ANSWER_PREFIX.sub("", line.strip()).strip()


def value_label(text: str) -> str | None:
    """The label a value sample ends with: the last of sure / likely / impossible on its last
    non-empty line, or None. (The method compares the whole last line with the label; a small
    model's ``**Sure.**`` is read too.)"""
    return last_label(text, _LABEL)


def value_of(labels: list[str | None]) -> float:
    """The value of a state: its samples' label weights, summed (unlabelled samples add 0).

    Summed per label, impossible first, as the method does: the float sum's order decides
    between values that are equal on paper (1 + 0.001 + 0.001 is not 0.002 + 1), and with it
    which of two such states is kept."""
    return sum(VALUE_WEIGHTS[name] * labels.count(name) for name in _SUM_ORDER)


__all__ = [
    "TARGET",
    "answer_of",
    "numbers_left",
    "puzzle_numbers",
    "reached_target",
    "single_number",
    "value_label",
    "value_of",
]
