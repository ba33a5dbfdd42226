"""Mini crosswords' default metrics are Tree of Thoughts' own ``test_output`` rule.

The reference is written from ToT's published rule (src/tot/tasks/crosswords.py,
``MiniCrosswordsTask.test_output`` and ``MiniCrosswordsEnv.step``), by another route than
agot's code: the reply after the last "Output:\\n", stripped, its last five "\\n" lines; line i
gives row i the concatenation of its first five " "-separated pieces padded with "_"; a row
longer than five is refused (no scores from that step, so a refused last line makes ToT's
code raise KeyError, scored 0 here); an accepted row replaces board cells i*5..i*5+5 with the
row's upper-cased characters (a list slice assignment, so a longer upper case shifts cells).
"""

from __future__ import annotations

import random

import pytest

from agot.evals.records import EvalRecord
from agot.evals.tasks.crosswords import CROSSWORDS
from agot.evals.tasks.crosswords_tot import tot_crossword

HEART = "HEARTEMBERABUSERESINTREND"
ROWS = ["HEART", "EMBER", "ABUSE", "RESIN", "TREND"]


def reference(reply: str, solution: str) -> tuple[float, float, float] | None:
    """(letters, words, solved) as ToT computes them, or None where ToT's code raises."""
    parts = reply.split("Output:\n")
    lines = parts[len(parts) - 1].strip().split("\n")
    lines = lines[max(0, len(lines) - 5) :]
    board = list("_" * 25)
    result = None
    for i in range(len(lines)):
        pieces = lines[i].split(" ")
        word = "".join(pieces[:5])
        while len(word) < 5:
            word = word + "_"
        if len(word) > 5:
            result = None
            continue
        board = board[: i * 5] + list(word.upper()) + board[i * 5 + 5 :]
        words = []
        for r in range(5):
            words.append("".join(board[r * 5 : r * 5 + 5]))
        for c in range(5):
            words.append("".join(board[c::5]))
        gold_words = [solution[r * 5 : r * 5 + 5] for r in range(5)]
        gold_words += [solution[c::5] for c in range(5)]
        same_cells = sum(1 for k in range(min(len(board), 25)) if board[k] == solution[k])
        same_words = sum(1 for k in range(10) if words[k] == gold_words[k])
        result = (same_cells / 25, same_words / 10, float(board == list(solution)))
    return result


def official(reply: str) -> tuple[float, float, float] | None:
    verdict = tot_crossword(reply, HEART)
    if verdict.crashed:
        return None
    return verdict.letter_acc, verdict.word_acc, float(verdict.solved)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("\n".join(ROWS), (1.0, 1.0, 1.0)),
        ("\n".join(" ".join(r) for r in ROWS), (1.0, 1.0, 1.0)),  # ToT's own "H E A R T"
        ("Output:\n" + "\n".join(r.lower() for r in ROWS), (1.0, 1.0, 1.0)),
        ("\n".join(ROWS[:4]), (20 / 25, 4 / 10, 0.0)),  # four rows: partial credit
        ("\n".join([*ROWS[:4], "_____"]), (20 / 25, 4 / 10, 0.0)),  # a blank row
        ("\n".join([*ROWS[:4], "TREN4"]), (24 / 25, 8 / 10, 0.0)),  # a digit
        ("\n".join(ROWS[1:]), (0.0, 0.0, 0.0)),  # rows count from the first line read
    ],
)
def test_tot_gives_partial_credit(reply: str, expected: tuple[float, float, float]) -> None:
    assert official(reply) == pytest.approx(expected)


@pytest.mark.parametrize(
    "last",
    ["TREND # done", "Row 5: TREND", "|T|R|E|N|D|", "TREND.", "**TREND**", "5. TREND"],
)
def test_replies_that_crash_tot_score_zero_with_the_reason(last: str) -> None:
    record = EvalRecord(id="x", dataset="crosswords", question="q", gold=HEART)
    score = CROSSWORDS.score("\n".join([*ROWS[:4], last]), record)
    assert score.scores["word_acc"] == score.scores["letter_acc"] == score.scores["solved"] == 0
    assert "KeyError" in score.reason and score.details["tot_crashed"] is True
    assert official("\n".join([*ROWS[:4], last])) is None
    assert reference("\n".join([*ROWS[:4], last]), HEART) is None


def test_a_longer_upper_case_shifts_the_board_as_a_list_slice_does() -> None:
    reply = "\n".join(["HEARß", *ROWS[1:]])  # "ß".upper() is "SS": six cells for five
    assert official(reply) == pytest.approx(reference(reply, HEART))
    assert official(reply) != (1.0, 1.0, 1.0)


def generated_replies(seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    forms = [
        lambda r: r,
        lambda r: " ".join(r),
        lambda r: r.lower(),
        lambda r: r[:3],
        lambda r: "_____",
        lambda r: r[:4] + "7",
        lambda r: f"h1. {r}",
        lambda r: f"**{r}**",
        lambda r: f"| {' | '.join(r)} |",
        lambda r: r + " (sure)",
        lambda r: " ".join(r) + "  ",
        lambda r: r.replace("E", "É"),
        lambda r: r[:4] + "ß",
        lambda r: "  " + r,
        lambda r: r + "\r",
    ]
    prose = "Thinking about the clues in order. " * 3000
    out = []
    for _ in range(600):
        rows = [rng.choice(forms)(row) for row in ROWS]
        body = "\n".join(rows[rng.randint(0, 2) :])
        size = rng.choice([0, 0, 10_000, 100_000])
        head = prose[:size] + rng.choice(["\nAnswer:\n", "\nOutput:\n", "\n", "\n```\n"])
        tail = rng.choice(["", "", "\n", "\n```", "\nThat is my grid.", "\n\n  "])
        out.append(head + body + tail)
    out += ["", "   ", "Output:\n", "Output:\nOutput:\nHEART", "x" * 100_000]
    return out


def test_tot_rule_matches_the_reference_on_generated_replies() -> None:
    replies = generated_replies()
    crashed = credited = 0
    for reply in replies:
        expected = reference(reply, HEART)
        assert official(reply) == (pytest.approx(expected) if expected else None), reply[-120:]
        crashed += expected is None
        credited += bool(expected and expected[1] > 0)
    assert 50 < crashed < len(replies) - 50 and credited > 50  # every outcome is covered


def test_lenient_reading_is_reported_beside_the_official_one() -> None:
    record = EvalRecord(id="x", dataset="crosswords", question="q", gold=HEART)
    labelled = "Answer:\n" + "\n".join(f"h{i}. {r}" for i, r in enumerate(ROWS, 1))
    score = CROSSWORDS.score(labelled, record)
    assert score.scores["word_acc"] == 0.0 and score.scores["word_acc_lenient"] == 1.0
    four = CROSSWORDS.score("\n".join(ROWS[:4]), record)
    assert four.scores["word_acc"] == pytest.approx(0.4) and four.scores["word_acc_lenient"] == 0
    assert CROSSWORDS.headline == "word_acc"


async def test_eval_run_reports_tot_scores_beside_the_lenient_reading(tmp_path) -> None:
    from pathlib import Path

    from agot.backends.scripted import ScriptedBackend
    from agot.evals.datasets import load_dataset
    from agot.evals.runner import run_eval

    data = Path(__file__).parent / "fixtures" / "crosswords" / "mini0505.json"
    heart, sator = load_dataset("crosswords", data=data, split="all")
    labelled = "Answer:\n" + "\n".join(f"h{i}. {r}" for i, r in enumerate(ROWS, 1))
    square = ["SATOR", "AREPO", "TENET", "OPERA", "ROTAS"]  # written "S A T O R", as in ToT
    replies = {
        f"answer:{heart.question}": labelled,  # ToT's code raises on "h5. TREND": scored 0
        f"answer:{sator.question}": "Answer:\n" + "\n".join(" ".join(w) for w in square),
    }
    summary = await run_eval(
        "crosswords",
        data=str(data),
        split="all",
        strategies=["cot"],
        models=[ScriptedBackend(replies)],
        out=str(tmp_path),
        progress=False,
    )
    group = summary.group("cot")
    assert group.metrics["word_acc"].value == pytest.approx(0.5)
    assert group.metrics["word_acc_lenient"].value == pytest.approx(1.0)
    assert summary.headline == "word_acc"
