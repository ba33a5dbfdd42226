"""The run summary with an LLM judge: judge accuracy with its CI, and judge-vs-EM agreement
per strategy x model."""

from __future__ import annotations

import json
import re

import pytest

from agot.evals.presets import resolve_preset
from agot.evals.run_folder import ResultRow
from agot.evals.scorers import JudgeScorer, QAScorer
from agot.evals.summary import EvalSummary, summarize
from agot.text import number
from agot.types import Usage


def row(
    id: str,
    strategy: str,
    model: str,
    em: float,
    judge: float | None,
    prediction: str = "p",
    *,
    judge_cached: bool = False,
) -> ResultRow:
    scores = {"em": em, "f1": em}
    details: dict = {}
    if judge is not None:
        scores["judge"] = judge
        details = {
            "judge_reason": f"reason {id}",
            "judge_cached": judge_cached,
            "judge_usage": Usage(
                calls=1, prompt_tokens=0 if judge_cached else 50, cached_calls=int(judge_cached)
            ).model_dump(),
        }
    else:
        details = {"judge_error": "BackendError: down"}
    return ResultRow(
        id=id,
        dataset="hotpotqa",
        strategy=strategy,
        model=model,
        seed=0,
        gold=f"gold {id}",
        prediction=f"{prediction} {id}",
        scores=scores,
        details=details,
    )


# (em, judge) per item: cot on m1 has every kind once plus a failed judge call
COT_M1 = [
    row("a", "cot", "m1", 1, 1),
    row("b", "cot", "m1", 0, 1),
    row("c", "cot", "m1", 1, 0),
    row("d", "cot", "m1", 0, 0),
    row("e", "cot", "m1", 0, None),
]
DIRECT_M1 = [row(i, "direct", "m1", 0, 1, judge_cached=True) for i in "abcde"]
COT_M2 = [row(i, "cot", "m2", 1, 1) for i in "abcde"]


def summary(rows: list[ResultRow]) -> EvalSummary:
    return summarize(rows, [QAScorer(), JudgeScorer()], dataset="hotpotqa", resamples=200)


def test_agreement_is_computed_per_strategy_and_model() -> None:
    s = summary([*COT_M1, *DIRECT_M1, *COT_M2])
    assert s.metrics == ["em", "f1", "judge"]
    cot = s.group("cot", "m1").agreement
    assert cot is not None
    assert (cot.both_true, cot.judge_only, cot.em_only, cot.both_false) == (1, 1, 1, 1)
    assert cot.n == 4 and cot.skipped == 1 and cot.agreement == 0.5
    assert [e.id for e in cot.examples["judge_only"]] == ["b"]
    example = cot.examples["em_only"][0]
    assert (example.id, example.prediction, example.gold) == ("c", "p c", "gold c")
    direct = s.group("direct", "m1").agreement
    assert direct is not None and direct.judge_only == 5 and direct.agreement == 0.0
    assert direct.kappa == 0.0  # no better than chance
    other = s.group("cot", "m2").agreement
    assert other is not None and other.both_true == 5 and other.agreement == 1.0
    assert other.kappa is None  # both always say yes: chance agreement is 1, kappa undefined


def test_judge_accuracy_has_a_ci_over_the_judged_items_only() -> None:
    s = summary(COT_M1)
    judged = s.group("cot").metrics["judge"]
    assert judged.n == 4 and judged.value == 0.5  # the failed judge call is left out
    assert judged.low is not None and judged.low <= 0.5 <= judged.high
    assert s.group("cot").metrics["em"].n == 5
    usage = s.group("cot").judge_usage
    assert usage is not None and usage.calls == 4 and usage.prompt_tokens == 200


def test_printed_table_shows_judge_column_agreement_and_examples() -> None:
    text = summary([*COT_M1, *DIRECT_M1]).table()
    header = text.splitlines()[1].split()
    assert header[:6] == ["strategy", "model", "n", "em", "f1", "judge"]
    assert "judge vs em · cot @ m1: agree on 2/4 (0.500" in text
    assert "differ on 2: judge yes/em no 1, em yes/judge no 1; 1 without both scores" in text
    assert "judge yes, em no: b: prediction 'p b', gold 'gold b'" in text
    assert "em yes, judge no: c: prediction 'p c', gold 'gold c'" in text
    assert "judge vs em · direct @ m1" in text and "judge calls 5 (5 cached)" in text
    lines = text.splitlines()[1:4]  # header, cot, direct: each column starts where its title does
    starts = [lines[0].index(title) for title in ("model", "n ", "errors", "p95 s")]
    for line in lines[1:]:
        assert all(line[at - 1] == " " and line[at] != " " for at in starts)
    assert all(re.fullmatch(r"\d+\.\d\d", cell) for cell in lines[1].split()[-2:])  # p50, p95
    assert number(None) == "n/a" and number(0.12345, 2) == "0.12"


def test_at_80_columns_no_row_of_the_table_wraps() -> None:
    """#31 item 8: the ~105-character table becomes two narrower ones (scores, then cost and
    latency, each with its strategy and model), or one wrapped block per group."""
    s = summary([*COT_M1, *DIRECT_M1])
    wide = s.table()
    assert max(map(len, wide.splitlines()[1:4])) > 100
    for width in (100, 80, 40):
        text = s.table(width=width)
        lines = text.splitlines()
        table = lines[1 : next(i for i, x in enumerate(lines) if x.startswith("cot - direct"))]
        assert all(len(line) <= width for line in table), (width, text)
        for group in ("cot", "direct"):
            assert any(line.startswith(group) for line in table), text
        assert "p95" in "\n".join(table) and "judge" in "\n".join(table)
    two = s.table(width=100).split("\n\n")
    assert two[0].splitlines()[1].split()[:4] == ["strategy", "model", "n", "em"]
    assert two[1].splitlines()[0].split()[:3] == ["strategy", "model", "errors"]


def test_no_judge_no_judge_section() -> None:
    plain = [r.model_copy(update={"scores": {"em": 1.0, "f1": 1.0}, "details": {}}) for r in COT_M2]
    s = summarize(plain, [QAScorer()], dataset="hotpotqa", resamples=200)
    assert s.group("cot").agreement is None and s.group("cot").judge_usage is None
    assert "judge" not in s.table()


def test_preset_and_sample_seed_are_recorded_and_printed() -> None:
    _, _, applied = resolve_preset("agot-paper", {"limit": 5}, {}, {})
    s = summarize(
        COT_M2,
        [QAScorer()],
        dataset="hotpotqa",
        resamples=200,
        sample_seed=2502,
        preset=applied,
    )
    lines = s.table().splitlines()
    assert "5 items (sampled, seed 2502)" in lines[0]
    assert lines[1].startswith("preset agot-paper: limit=100") and "limit=5" in lines[1]
    again = EvalSummary.model_validate(json.loads(s.model_dump_json()))
    assert again.preset == applied and again.sample_seed == 2502


def test_summary_reports_scoring_time_per_item():
    from agot.evals.summary import group_summary

    def row(i: int, score_s: float | None) -> ResultRow:
        details = {} if score_s is None else {"score_s": score_s}
        return ResultRow(
            id=f"q{i}", dataset="d", strategy="cot", model="m", seed=0, details=details
        )

    timed = group_summary("cot", "m", [row(0, 0.002), row(1, 0.004), row(2, None)], {})
    assert timed.score_ms_per_item == pytest.approx(3.0)
    assert timed.score_ms_max == pytest.approx(4.0)
    assert group_summary("cot", "m", [row(0, None)], {}).score_ms_per_item is None


def test_the_table_counts_cache_hits_against_calls() -> None:
    """#31 item 5: a cached re-run shows how many of its calls the cache answered."""
    rows = [
        r.model_copy(update={"usage": Usage(calls=2, cached_calls=1, prompt_tokens=10)})
        for r in COT_M1
    ]
    text = summary(rows).table()
    assert f"({len(rows)}/{2 * len(rows)} cache hits)" in text
    assert "cache hits" not in summary(COT_M1).table()
