"""Mini crosswords: loader in ToT's layout, grid parsing, and ToT's letter/word/game scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agot.errors import ConfigError, DatasetError
from agot.evals.tasks.crosswords import (
    CROSSWORDS,
    load_crosswords,
    parse_grid,
    score_grid,
    words_of,
)

FIXTURE = Path(__file__).parent / "fixtures" / "crosswords" / "mini0505.json"
HEART = "HEARTEMBERABUSERESINTREND"
HEART_ROWS = "HEART\nEMBER\nABUSE\nRESIN\nTREND"


def test_loader_reads_tot_layout() -> None:
    records = load_crosswords(FIXTURE)
    assert [r.id for r in records] == ["mini-0", "mini-1"]
    first = records[0]
    assert first.dataset == "crosswords"
    assert first.gold == HEART
    assert first.metadata["words"][:5] == ["HEART", "EMBER", "ABUSE", "RESIN", "TREND"]
    assert len(first.metadata["clues"]) == 10
    assert "h1. Organ that pumps blood" in first.question
    assert "v5. A general direction of change" in first.question
    assert load_crosswords(FIXTURE.parent, split="all") == records  # the folder works too


def test_test_split_takes_every_fifth_of_the_first_hundred(tmp_path: Path) -> None:
    game = json.loads(FIXTURE.read_text())[0]
    path = tmp_path / "mini0505.json"
    path.write_text(json.dumps([game] * 156))
    test = load_crosswords(path)
    assert [r.metadata["index"] for r in test] == list(range(0, 100, 5))
    assert len(load_crosswords(path, split="all")) == 156
    with pytest.raises(ConfigError, match="split"):
        load_crosswords(path, split="dev")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--data"):
        load_crosswords(None)
    with pytest.raises(DatasetError, match="not found"):
        load_crosswords(tmp_path / "nope.json")
    cases = {
        "notjson.json": "{",
        "dict.json": json.dumps({"games": []}),
        "clues.json": json.dumps([[["only one clue"], list(HEART)]]),
        "letters.json": json.dumps([[["c"] * 10, list("HEART")]]),
        "shape.json": json.dumps([["c"] * 10]),
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(DatasetError):
            load_crosswords(path, split="all")


def test_words_are_rows_then_columns() -> None:
    grid = "ABCDEFGHIJKLMNOPQRSTUVWXY"
    words = words_of(grid)
    assert words[:5] == ["ABCDE", "FGHIJ", "KLMNO", "PQRST", "UVWXY"]
    assert words[5:] == ["AFKPU", "BGLQV", "CHMRW", "DINSX", "EJOTY"]


def test_scores_follow_tot() -> None:
    assert score_grid(HEART, HEART) == {"letter_acc": 1.0, "word_acc": 1.0, "solved": 1.0}
    # one wrong cell (row 1, col 1) breaks one across and one down word
    one_off = "X" + HEART[1:]
    assert score_grid(one_off, HEART) == {"letter_acc": 24 / 25, "word_acc": 8 / 10, "solved": 0.0}
    # a whole wrong row: 5 cells, its across word, and all five down words
    row_wrong = HEART[:10] + "ZZZZZ" + HEART[15:]
    scores = score_grid(row_wrong, HEART)
    assert scores == {"letter_acc": 20 / 25, "word_acc": 4 / 10, "solved": 0.0}
    assert score_grid("Z" * 25, HEART) == {"letter_acc": 0.0, "word_acc": 0.0, "solved": 0.0}


@pytest.mark.parametrize(
    "reply",
    [
        HEART_ROWS,
        f"Answer:\n{HEART_ROWS}",
        "Let me think.\nh1 is HEART...\nAnswer:\n" + HEART_ROWS + "\n",
        "Answer:\n" + "\n".join(" ".join(row) for row in HEART_ROWS.splitlines()),
        "Answer:\n" + "\n".join(f"h{i}. {r}" for i, r in enumerate(HEART_ROWS.splitlines(), 1)),
        "Answer:\n" + "\n".join(f"| {' | '.join(r)} |" for r in HEART_ROWS.splitlines()),
        "Answer:\n```\n" + HEART_ROWS.lower() + "\n```",
        f"Answer: {HEART}",
        f"The final answer is: {HEART}",
        "Draft:\nHEARS\nEMBER\nABUSE\nRESIN\nTRENT\nAnswer:\n" + HEART_ROWS,
    ],
)
def test_parser_reads_common_grid_forms(reply: str) -> None:
    grid, _ = parse_grid(reply)
    assert grid == HEART


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("I do not know.", "malformed grid"),
        ("Answer:\nHEART\nEMBER\nABUSE", "found 3 line(s)"),
        ("Answer:\nHEARTS\nEMBERS\nABUSES\nRESINS\nTRENDS", "found 0 line(s)"),
        ("Answer:\nHE4RT\nEMBER\nABUSE\nRESIN\nTREND", "found 4 line(s)"),
    ],
)
def test_malformed_grid_scores_zero_with_reason(reply: str, reason: str) -> None:
    spec = CROSSWORDS
    record = load_crosswords(FIXTURE)[0]
    score = spec.score(reply, record)
    lenient = {k: v for k, v in score.scores.items() if k.endswith("_lenient")}
    assert lenient == {"letter_acc_lenient": 0.0, "word_acc_lenient": 0.0, "solved_lenient": 0.0}
    assert "lenient_grid" not in score.details
    assert reason in str(score.details["lenient_reason"])


def test_task_spec_scores_raw_text() -> None:
    spec = CROSSWORDS
    record = load_crosswords(FIXTURE)[1]  # SATOR square
    assert "Answer:" in record.to_task(spec.answer_format).render()
    score = spec.score("Answer:\nSATOR\nAREPO\nTENET\nOPERA\nROTAS", record)
    assert score.scores == dict.fromkeys(spec.metrics, 1.0)
    assert score.prediction == "SATOR\nAREPO\nTENET\nOPERA\nROTAS"
    partial = spec.score("Answer:\nSATOR\nAREPO\nTENET\nOPERA\nROTAX", record)
    assert partial.scores["letter_acc"] == 24 / 25
    assert partial.scores["word_acc"] == 8 / 10
    assert partial.scores["solved"] == 0.0
