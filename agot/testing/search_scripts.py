"""Scripted models for the search strategies (ToT, AoT, best-of-N): shared by their tests and
benchmarks/bench_search.py."""

from __future__ import annotations

import re
from typing import Any

from agot.strategies.atom_of_thoughts import Decomposition, Subquestion
from agot.types import GenerationRequest


def prompt(request: GenerationRequest) -> str:
    return request.messages[-1].content


PUZZLE = "Use the numbers 4 5 6 10 and basic arithmetic operations (+ - * /) to obtain 24."
SOLUTION = "(5 * (10 - 4)) - 6 = 24"

#: Moves the scripted model proposes, by the numbers left.
MOVES = {
    "4 5 6 10": [
        "10 - 4 = 6 (left: 5 6 6)",
        "4 + 5 = 9 (left: 6 9 10)",
        "6 * 10 = 60 (left: 4 5 60)",
    ],
    "5 6 6": ["5 * 6 = 30 (left: 6 30)", "6 - 5 = 1 (left: 1 6)"],
    "6 9 10": ["9 - 6 = 3 (left: 3 10)"],
    "4 5 60": ["60 / 5 = 12 (left: 4 12)"],
    "6 30": ["30 - 6 = 24 (left: 24)"],
}
#: The label every value sample gives, by the numbers shown.
LABELS = {"5 6 6": "sure", "6 9 10": "likely", "6 30": "sure", "24": "sure"}


def game24_script(request: GenerationRequest) -> str:
    text = prompt(request)
    if request.role == "propose":
        left = re.search(r"Numbers left: (.*)", text)
        assert left is not None
        return "\n".join(MOVES.get(left.group(1).strip(), []))
    if request.role == "finish":
        return f"Answer: {SOLUTION}"
    assert request.role == "value"
    if "Proposed answer:" in text:
        return "It checks out.\nsure" if SOLUTION.split(" =")[0] in text else "impossible"
    numbers = re.search(r"Numbers: (.*)", text)
    assert numbers is not None
    return f"Let me try.\n{LABELS.get(numbers.group(1).strip(), 'impossible')}"


#: A word square: the rows and the columns read the same words.
SQUARE = ["heart", "ember", "abuse", "resin", "trend"]
CROSSWORD = "Solve this 5x5 mini crossword.\n" + "\n".join(
    [f"h{i + 1}. clue for {w}" for i, w in enumerate(SQUARE)]
    + [f"v{i + 1}. clue for {w}" for i, w in enumerate(SQUARE)]
)


def crossword_script(request: GenerationRequest) -> str:
    text = prompt(request)
    if request.role == "propose":
        unfilled = text.split("Unfilled:")[1].split("Filled:")[0]
        names = re.findall(r"^([hv][1-5])\.", unfilled, re.M)
        if not names:
            return ""
        first = names[0]
        word = SQUARE[int(first[1]) - 1]
        if first == "h1":  # a wrong word, proposed with more confidence than the right one
            return "h1. heard (certain)\nh1. heart (high)"
        return f"{first}. {word} (certain)"
    assert request.role == "value"
    clue = re.search(r"clue for (\w+)", text)
    pattern = re.search(r"Letters so far.*: (.*)", text)
    assert clue and pattern
    letters = pattern.group(1).split()
    fits = all(c in ("_", g) for c, g in zip(letters, clue.group(1), strict=True))
    return "Checking.\nsure" if fits else "impossible"


def chain_decomposition(request: GenerationRequest) -> Decomposition:
    """Three subquestions in a chain: 2 needs 1, 3 needs 2 (depth 3)."""
    return Decomposition(
        subquestions=[
            Subquestion(question="Who directed Film X?"),
            Subquestion(question="Where was that director born?", depends_on=[1]),
            Subquestion(question="What is that city's population?", depends_on=[2]),
        ]
    )


def aot_script(direct: str = "100", chain: str = "100", ensemble: str = "100") -> Any:
    def script(request: GenerationRequest) -> Any:
        text = prompt(request)
        if request.role == "decompose":
            return chain_decomposition(request)
        if request.role == "solve":
            return "Answer: Jane Doe"
        if request.role == "contract":
            return f"Contracted question {text.count('Contracted') + 1}: given Jane Doe, ...?"
        if request.role == "ensemble":
            return f"Answer: {ensemble}"
        assert request.role == "answer"
        return f"Answer: {chain if 'Contracted' in text else direct}"

    return script
