"""Game of 24: solver, puzzle generation, loader and the exact verifier."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from agot.errors import ConfigError, DatasetError
from agot.evals.tasks.game24 import GAME24, load_game24, read_csv
from agot.evals.tasks.game24_solver import count_derivations, solvable_puzzles, solve
from agot.evals.tasks.game24_verify import extract_expression, verify_answer, verify_expression

FIXTURE = Path(__file__).parent / "fixtures" / "game24" / "24.csv"


# -- solver and generated puzzles ------------------------------------------------------------
def test_generated_set_has_exactly_the_1362_solvable_puzzles() -> None:
    puzzles = solvable_puzzles()
    assert len(puzzles) == 1362
    assert len(set(puzzles)) == 1362
    assert all(len(p) == 4 and list(p) == sorted(p) for p in puzzles)
    assert all(1 <= n <= 13 for p in puzzles for n in p)
    # ToT's set contains these; none of the unsolvable ones may slip in.
    for known in [(1, 1, 4, 6), (6, 6, 6, 6), (1, 5, 5, 5), (3, 3, 8, 8), (4, 9, 10, 13)]:
        assert known in puzzles
    assert (1, 1, 1, 1) not in puzzles


def test_generated_order_is_deterministic_and_hard_puzzles_come_last() -> None:
    puzzles = solvable_puzzles()
    assert puzzles == solvable_puzzles()
    counts = [count_derivations(p) for p in puzzles]
    assert counts == sorted(counts, reverse=True)
    # ties are broken by the numbers ascending
    for i in range(len(puzzles) - 1):
        if counts[i] == counts[i + 1]:
            assert puzzles[i] < puzzles[i + 1]
    # famously hard puzzles (fractional intermediates, one way to 24) sit in the back half
    assert puzzles.index((1, 5, 5, 5)) > 681
    assert puzzles.index((3, 3, 8, 8)) > 681


def test_every_solver_solution_passes_the_independent_verifier() -> None:
    for puzzle in solvable_puzzles():
        expression = solve(puzzle)
        assert expression is not None
        verdict = verify_expression(expression, puzzle)
        assert verdict.ok, (puzzle, expression, verdict.reason)


@pytest.mark.parametrize(
    "numbers", [(4, 9, 10, 13), (1, 5, 5, 5), (3, 3, 8, 8), (1, 6, 11, 13), (6, 6, 6, 6)]
)
def test_solver_finds_a_solution_for_known_puzzles(numbers: tuple[int, ...]) -> None:
    expression = solve(numbers)
    assert expression is not None
    assert verify_expression(expression, numbers).ok
    assert count_derivations(numbers) >= 1


@pytest.mark.parametrize("numbers", [(1, 1, 1, 1), (1, 1, 1, 2), (13, 13, 13, 13), (1, 1, 2, 2)])
def test_solver_finds_nothing_for_unsolvable_puzzles(numbers: tuple[int, ...]) -> None:
    assert solve(numbers) is None
    assert count_derivations(numbers) == 0


def test_solver_accepts_unsorted_input_and_other_targets() -> None:
    assert solve([13, 4, 10, 9]) is not None
    assert solve([2, 3], target=6) is not None
    assert solve([2, 3], target=7) is None


# -- loader ----------------------------------------------------------------------------------
def test_csv_loader_reads_tot_layout() -> None:
    records = read_csv(FIXTURE)
    assert len(records) == 11
    first = records[0]
    assert first.dataset == "game24"
    assert first.id == "r1_2-3-4-4"
    assert first.metadata["numbers"] == [2, 3, 4, 4]
    assert first.metadata["rank"] == 1
    assert first.metadata["source"] == "file"
    assert first.metadata["human_time_s"] == pytest.approx(3.91)
    assert first.metadata["human_solved_rate"] == pytest.approx(0.995)
    assert "2 3 4 4" in first.question
    assert verify_expression(first.gold, [2, 3, 4, 4]).ok


def test_default_split_is_ranks_901_to_1000() -> None:
    records = load_game24(FIXTURE)
    assert [r.metadata["rank"] for r in records] == [901, 902, 950, 999, 1000]
    assert len(load_game24(FIXTURE, split="all")) == 11
    assert [r.metadata["rank"] for r in load_game24(FIXTURE, split="1-3")] == [1, 2, 3]
    assert len(load_game24(FIXTURE.parent, split="all")) == 11  # a folder holding 24.csv


def test_generated_records_without_a_file() -> None:
    records = load_game24(None)
    assert [r.metadata["rank"] for r in records] == list(range(901, 1001))
    assert all(r.metadata["source"] == "generated" for r in records)
    assert all(verify_expression(r.gold, r.metadata["numbers"]).ok for r in records)
    assert len(load_game24(None, split="all")) == 1362


@pytest.mark.parametrize("split", ["train", "5-2", "0-10", "abc"])
def test_bad_split_is_a_config_error(split: str) -> None:
    with pytest.raises(ConfigError, match="split"):
        load_game24(FIXTURE, split=split)


@pytest.mark.parametrize(
    ("content", "split", "message"),
    [
        pytest.param(None, None, "not found", id="missing"),
        pytest.param("id,question\n1,what\n", "all", "Rank", id="no-rank-column"),
        pytest.param("Rank,Puzzles\n1,1 2 3\n", "all", "four numbers", id="three-numbers"),
        pytest.param("Rank,Puzzles\none,1 2 3 4\n", "all", "line 2", id="word-rank"),
        # default split: ranks 901-1000, none in this file
        pytest.param("Rank,Puzzles\n1,4 6 1 1\n", None, "901-1000", id="none-in-split"),
    ],
)
def test_bad_files_are_dataset_errors(
    tmp_path: Path, content: str | None, split: str | None, message: str
) -> None:
    path = tmp_path / "puzzles.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_game24(path, **({} if split is None else {"split": split}))


# -- verifier: accepted surface forms --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("4 * (9 + 10 - 13)", (4, 9, 10, 13)),
        ("(10 − 4) × (13 − 9)", (4, 9, 10, 13)),  # unicode minus and times
        ("(13 – 9) x (10 – 4)", (4, 9, 10, 13)),  # en dash and x
        ("(13-9)X(10-4)", (4, 9, 10, 13)),
        ("(13-9)*(10-4) = 24", (4, 9, 10, 13)),
        ("(13-9)*(10-4)=24.", (4, 9, 10, 13)),
        ("(13 - 9) * (10 - 4) = 4 * 6 = 24", (4, 9, 10, 13)),
        ("Answer: (13 - 9) * (10 - 4)", (4, 9, 10, 13)),
        ("**(13 - 9) * (10 - 4)**", (4, 9, 10, 13)),
        ("`(13-9)*(10-4)`.", (4, 9, 10, 13)),
        (r"$(13 - 9) \times (10 - 4)$", (4, 9, 10, 13)),
        ("  ( ( 13 - 9 ) ) * ( 10 - 4 )  ", (4, 9, 10, 13)),
        ("8 ÷ (3 − 8 ÷ 3)", (3, 3, 8, 8)),  # fractional intermediate, exact arithmetic
        ("8/(3-8/3)", (8, 3, 8, 3)),
        ("5 × (5 − 1 ÷ 5)", (1, 5, 5, 5)),
        ("6*6-6-6", (6, 6, 6, 6)),
    ],
)
def test_verifier_accepts_correct_expressions(text: str, numbers: tuple[int, ...]) -> None:
    verdict = verify_expression(text, numbers)
    assert verdict.ok, verdict.reason
    assert verdict.expression is not None
    assert "×" not in verdict.expression and "−" not in verdict.expression


# -- verifier: rejected (wrong or hostile) ---------------------------------------------------
N = (4, 9, 10, 13)


@pytest.mark.parametrize(
    ("text", "numbers", "reason"),
    [
        ("4 * 6", N, "6, not among the puzzle numbers"),
        ("4 * (9 + 10 - 13) * 1", N, "1, not among"),
        ("4 * 4 + 9 - 10 + 13", N, "4 more often than given"),
        ("4 * (10 - 13 + 9 + 9)", N, "9 more often"),
        ("4 * (9 + 10) - 13", N, "evaluates to 63, not 24"),
        ("4 + 9 + 10 + 13", N, "evaluates to 36"),
        ("13 + 10 + 9 / 4", N, "evaluates to 101/4"),
        ("4 * (9 + 10 - 13) = 25", N, "states a result of 25"),
        ("4 * (9 + 10 - 13) = " + "9" * 5000, N, "too long"),
        ("9 + 10 + 4", N, "does not use 13"),
        ("6 / (4 - 4) * 6", (4, 4, 6, 6), "divides by zero"),
        ("__import__('os')", N, "calls a function"),
        ("__import__('os').system('echo hi')", N, "calls a function"),
        ("(1).__class__", N, "accesses an attribute"),
        ("().__class__.__bases__[0]", N, "subscripting"),
        ("9**9**9", N, "exponent"),
        ("(13 - 9) ** 2 + 10 - 4 + 2", N, "exponent"),
        ("lambda: 24", N, "lambda"),
        ("f'{4*(9+10-13)}'", N, "f-string"),
        ("'24'", N, "str constant"),
        ("x * 4", N, "uses a name"),
        ("4 * (9 + 10 - 13) + (y := 0)", N, "assignment"),
        ("4.0 * (9 + 10 - 13)", N, "non-integer number 4.0"),
        ("-(-4) * (10 - 13 + 9)", N, "unary minus"),
        ("(13 - 9) * (10 - 4) // 1", N, "floor division"),
        ("(13 - 9) * (10 - 4) % 25", N, "modulo"),
        ("4 * (9 + 10 - 13) if 1 else 0", N, "conditional"),
        ("[4, 9, 10, 13]", N, "disallowed syntax (List)"),
        ("4 * (9 + 10 - 13) + 99999999999999", N, "huge number"),
        ("9" * 500, N, "too long"),
        ("(" * 150 + "4" + ")" * 150, N, "too long"),
        ("True * 24", N, "bool constant"),
        ("I think the answer is twenty-four", N, "cannot read"),
        ("4 9 10 13", N, "cannot read"),
        ("", N, "empty"),
        ("  **  ", N, "empty"),
    ],
)
def test_verifier_rejects_with_reason(text: str, numbers: tuple[int, ...], reason: str) -> None:
    verdict = verify_expression(text, numbers)
    assert not verdict.ok
    assert reason in verdict.reason


def test_verifier_never_evaluates_model_text(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    verdict = verify_answer(f"Answer: {payload}", N)
    assert not verdict.ok
    assert not marker.exists()


# -- extraction from raw model text ----------------------------------------------------------
def test_extraction_prefers_the_last_answer_line() -> None:
    raw = (
        "First try: 4 * 9 = 36, too big.\nAnswer: 4 + 9 + 10 + 13\n"
        "Wait, that is 36.\n13 - 9 = 4\n10 - 4 = 6\nAnswer: (13 - 9) * (10 - 4)\n"
    )
    assert extract_expression(raw) == "(13 - 9) * (10 - 4)"
    assert verify_answer(raw, N).ok


def test_extraction_falls_back_to_last_arithmetic_line() -> None:
    raw = "Steps:\n13 - 9 = 4 (left: 4 4 10)\n10 - 4 = 6\n(13 - 9) * (10 - 4) = 24\nDone!"
    assert extract_expression(raw) == "(13 - 9) * (10 - 4) = 24"
    assert verify_answer(raw, N).ok


def test_extraction_handles_markdown_and_next_line_answers() -> None:
    assert verify_answer("**Answer:** (13 - 9) × (10 - 4)", N).ok
    assert verify_answer("### Final answer:\n\n`(13-9)*(10-4)`", N).ok
    assert verify_answer("ANSWER: (13-9)*(10-4) = 24.", N).ok
    assert verify_answer("So the final answer is: (13 - 9) * (10 - 4)", N).ok
    assert verify_answer("1. Answer: (13-9)*(10-4)", N).ok


def test_extraction_failures_have_reasons() -> None:
    assert "no expression found" in verify_answer("I give up.", N).reason
    assert "empty" in verify_answer("", N).reason
    assert "empty" in verify_answer("   \n ", N).reason


def test_the_exact_tasks_are_datasets_of_the_one_registry() -> None:
    from agot.evals.datasets import dataset_names, get_dataset
    from agot.evals.tasks.crosswords import CROSSWORDS

    for task in (GAME24, CROSSWORDS):
        spec = get_dataset(task.name)
        assert spec.answer_format == task.answer_format and task.name in dataset_names()
        assert spec.scorers[0].headline_metric == task.headline
    with pytest.raises(DatasetError, match=r"unknown dataset 'chess'.*game24"):
        get_dataset("chess")


# -- the task as the runner sees it ----------------------------------------------------------
def test_task_spec_scores_raw_text() -> None:
    spec = GAME24
    record = load_game24(FIXTURE)[0]  # rank 901: 4 9 10 13
    task = record.to_task(spec.answer_format)
    assert "Answer:" in task.render() and "4 9 10 13" in task.render()
    good = spec.score("13 - 9 = 4\nAnswer: (13 - 9) * (10 - 4)", record)
    assert good.scores == {"success": 1.0, "success_lenient": 1.0}
    assert good.prediction == "(13 - 9) * (10 - 4)"
    bad = spec.score("Answer: 4 * 6", record)
    assert bad.scores == {"success": 0.0, "success_lenient": 0.0}
    assert "not the puzzle's" in bad.reason
    assert "not among the puzzle numbers" in bad.details["lenient_reason"]
    assert Counter(spec.metrics) == Counter(good.scores)


def test_answer_format_shows_no_copyable_expression() -> None:
    # A small model copies an example like "(1 + 2 + 3) * 4" verbatim: the format describes
    # the answer line instead, so the only number in it is the target and no puzzle is solved
    # by echoing the instruction back.
    from agot.evals.tasks.game24 import ANSWER_FORMAT

    assert re.findall(r"\d+", ANSWER_FORMAT) == ["24"]
    assert "Answer: <expression" in ANSWER_FORMAT
    for numbers in [(1, 2, 3, 4), (4, 6, 1, 1), (2, 3, 4, 1)]:
        assert not verify_answer(ANSWER_FORMAT, numbers).ok
