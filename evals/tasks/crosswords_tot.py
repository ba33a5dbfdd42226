"""Tree of Thoughts' mini crosswords rule: the default ``letter_acc``, ``word_acc``, ``solved``.

Matches ``MiniCrosswordsTask.test_output`` with ``MiniCrosswordsEnv.step`` in
``src/tot/tasks/crosswords.py`` of princeton-nlp/tree-of-thought-llm at commit
ab400345c5ea39d28ea6d7d3be0e417b11113c87. The rule, step by step:

1. Keep the reply after its last ``"Output:\\n"``, strip it, and take its last five lines
   (``\\n``-separated; fewer when it has fewer).
2. Line *i* (from 1) fills row *i*: its first five space-separated pieces, joined, padded with
   ``_`` to five characters. So ``G A S P S``, ``GASPS`` and ``GAS`` (``GAS__``) all count, a
   ``_____`` row scores its blanks, and the rows count from the first of those lines, not
   from the top of the grid.
3. A row of more than five characters (``Row 1: GASPS``, ``|G|A|S|P|S|``, ``GASPS # ok``) is
   refused and leaves the row empty; when it is the last line, ToT's code raises ``KeyError``
   (its step returned no scores). Such a reply scores 0 on all three metrics here, with that
   reason: a run of ToT's code would have stopped.
4. The row is upper-cased into the board (``str.upper``: ``ß`` becomes ``SS`` and shifts the
   cells after it, as a Python list slice assignment does). Letter accuracy is the cells equal
   to the solution's (compared in order) out of 25, word accuracy the rows and columns equal
   out of 10, and solved whether the board equals the solution.

Every step is a bounded split or a slice, so a reply of any length costs a few string scans.

Checked against the published code itself (run outside this repository): no difference on
the 605 generated replies of ``tests/test_crosswords_tot.py`` (163 of them make it raise),
and 399 of the 400 GPT-4 outputs in ToT's two naive-run logs agree with the scores logged
there; on the 400th the published code gives what agot gives (word accuracy 0.4, reading
the last five of six grid lines) and the log holds another value.
"""

from __future__ import annotations

from dataclasses import dataclass

from agot.strategies.tot_crosswords import words_of

#: The commit of princeton-nlp/tree-of-thought-llm whose ``test_output`` this follows.
TOT_COMMIT = "ab400345c5ea39d28ea6d7d3be0e417b11113c87"
OFFICIAL = (
    "src/tot/tasks/crosswords.py MiniCrosswordsTask.test_output "
    f"(princeton-nlp/tree-of-thought-llm@{TOT_COMMIT[:7]})"
)
SIZE = 5


@dataclass(frozen=True)
class TotCrossword:
    """ToT's three scores for a reply, the rows it read, and whether its code would raise."""

    letter_acc: float
    word_acc: float
    solved: bool
    rows: tuple[str, ...]
    crashed: bool
    reason: str


def tot_lines(text: str) -> list[str]:
    """Step 1: the lines ToT reads (at most five)."""
    output = text[text.rfind("Output:\n") + len("Output:\n") :] if "Output:\n" in text else text
    return output.strip().rsplit("\n", SIZE)[-SIZE:]


def tot_crossword(text: str, solution: str) -> TotCrossword:
    """ToT's ``test_output`` on a whole reply against the 25 ``solution`` letters."""
    gold = list(solution)
    gold_words = words_of(gold)
    board = ["_"] * (SIZE * SIZE)
    last: tuple[float, float, bool] | None = None
    rows: list[str] = []
    lines = tot_lines(text or "")
    for index, line in enumerate(lines):
        word = "".join(line.split(" ", SIZE)[:SIZE])
        word += "_" * (SIZE - len(word))
        rows.append(word)
        if len(word) != SIZE:
            last = None  # ToT's step returns no scores for this row
            continue
        board[index * SIZE : (index + 1) * SIZE] = list(word.upper())
        words = words_of(board)
        last = (
            sum(a == b for a, b in zip(board, gold, strict=False)) / (SIZE * SIZE),
            sum(a == b for a, b in zip(words, gold_words, strict=True)) / (2 * SIZE),
            board == gold,
        )
    if last is None:
        shown = rows[-1][:40] + ("..." if len(rows[-1]) > 40 else "")
        return TotCrossword(
            0.0,
            0.0,
            False,
            tuple(rows),
            True,
            f"ToT rule: its code raises KeyError on this reply (the last line {shown!r} is "
            "longer than 5 letters once spaces are removed); scored 0",
        )
    letters, words_right, solved = last
    return TotCrossword(
        letters,
        words_right,
        solved,
        tuple(rows),
        False,
        f"ToT rule: read {len(lines)} line(s) as rows 1-{len(lines)}",
    )
