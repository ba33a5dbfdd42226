"""The 5x5 mini crossword board Tree of Thoughts searches over, and reading the model's lines.

A state is the 25 cells (``_`` unknown) and a status per word: 0 unfilled, 1 filled, 2 filled
and then changed by a crossing word (a state with a changed word breaks an earlier decision, so
the search does not continue from it), as in the method's environment. Words are h1-h5 (rows)
then v1-v5 (columns).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agot.answers import last_label
from agot.prompts.tot import CONFIDENCE_WEIGHTS

SIZE = 5
_CLUE = re.compile(r"(?im)^\s*([hv])\s*([1-5])\s*[.:)]\s*(.+?)\s*$")
_PROPOSAL = re.compile(
    r"(?i)^\W*([hv][1-5])\s*[.:)]\s*\**([a-z]{5})\**\s*\(\s*(certain|high|medium|low)\s*\)"
)
_STATUS_LABEL = re.compile(r"(?i)\b(sure|maybe|impossible)\b")


def crossword_clues(question: str) -> list[str] | None:
    """The ten clues (h1-h5, v1-v5) of a mini crossword question, or None when it is not one."""
    found: dict[str, str] = {}
    for direction, number, clue in _CLUE.findall(question):
        found.setdefault(f"{direction.lower()}{number}", clue)
    keys = [f"h{i}" for i in range(1, SIZE + 1)] + [f"v{i}" for i in range(1, SIZE + 1)]
    if not all(key in found for key in keys):
        return None
    return [found[key] for key in keys]


def words_of(cells: Sequence[str]) -> list[str]:
    """The ten words of a 5x5 grid, rows then columns (``h1``-``h5``, ``v1``-``v5``), from its
    25 cells as a string or one cell per item. The search's board, the grid scorer and ToT's
    own scoring rule all number words this way, so they read them with this one function."""
    rows = ["".join(cells[i * SIZE : (i + 1) * SIZE]) for i in range(SIZE)]
    cols = ["".join(cells[i::SIZE]) for i in range(SIZE)]
    return rows + cols


def word_name(index: int) -> str:
    return f"h{index + 1}" if index < SIZE else f"v{index - SIZE + 1}"


@dataclass(frozen=True)
class Board:
    """One search state: cells, per-word status, and the words placed so far."""

    cells: tuple[str, ...] = ("_",) * (SIZE * SIZE)
    status: tuple[int, ...] = (0,) * (2 * SIZE)
    actions: tuple[str, ...] = field(default=())

    def words(self) -> list[str]:
        return words_of(self.cells)

    def place(self, action: str) -> Board:
        """The board after writing ``action`` (``"h2. motor"``); statuses as the method's."""
        position, word = action.split(". ")
        index = int(position[1:]) - 1
        cells = list(self.cells)
        letters = list(word.upper())
        if position[0] == "h":
            cells[index * SIZE : (index + 1) * SIZE] = letters
        else:
            cells[index::SIZE] = letters
            index += SIZE
        after = Board(tuple(cells), self.status, self.actions)
        old, new = self.words(), after.words()
        status = [
            2 if any(a != b and a != "_" for a, b in zip(o, n, strict=True)) else s
            for s, o, n in zip(self.status, old, new, strict=True)
        ]
        status[index] = 1
        return Board(tuple(cells), tuple(status), (*self.actions, action))

    @property
    def broken(self) -> bool:
        """A word placed earlier was overwritten: the search does not continue from here."""
        return 2 in self.status

    @property
    def filled(self) -> int:
        return sum(1 for s in self.status if s == 1)

    def render(self, clues: list[str]) -> str:
        """What the propose step sees: the board, then unfilled, filled and changed words."""
        rows = ["".join(self.cells[i * SIZE : (i + 1) * SIZE]) for i in range(SIZE)]
        words = self.words()
        parts = ["Current board:", *rows]
        for title, wanted in (("Unfilled", 0), ("Filled", 1), ("Changed", 2)):
            parts += ["", f"{title}:"]
            parts += [
                f"{word_name(i)}. {clue}: {words[i]}"
                for i, clue in enumerate(clues)
                if self.status[i] == wanted
            ]
        return "\n".join(parts)

    def grid(self, blank: str = "X") -> str:
        """The five rows, unknown cells written as ``blank`` (the grid reader needs letters)."""
        return "\n".join(
            "".join(c if c != "_" else blank for c in self.cells[i * SIZE : (i + 1) * SIZE])
            for i in range(SIZE)
        )


def parse_proposals(text: str) -> list[tuple[str, float]]:
    """``("h1. apple", weight)`` for each well-formed line of a propose reply."""
    out = []
    for line in text.splitlines():
        match = _PROPOSAL.match(line.strip())
        if match:
            position, word, confidence = match.groups()
            out.append(
                (f"{position.lower()}. {word.lower()}", CONFIDENCE_WEIGHTS[confidence.lower()])
            )
    return out


def status_label(text: str) -> str | None:
    """sure / maybe / impossible on a value reply's last non-empty line, or None."""
    return last_label(text, _STATUS_LABEL)


__all__ = ["Board", "crossword_clues", "parse_proposals", "status_label", "word_name", "words_of"]
