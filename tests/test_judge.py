"""The LLM judge on the scripted backend: parsing, caching, resume, failures, agreement stats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agot.backends.scripted import ScriptedBackend
from agot.dispatcher import Dispatcher
from agot.errors import BackendError
from agot.evals.judge import (
    JudgeVerdict,
    agreement,
    judge,
    judge_info,
    render_gold,
)
from agot.evals.records import EvalRecord
from agot.evals.scorers import JudgeScorer, ScoreContext
from agot.limits import Limits
from agot.prompts.judge import JUDGE
from agot.result import Result
from agot.types import GenerationRequest


def _prediction(request: GenerationRequest) -> str:
    match = re.search(r"Predicted answer: (.*)", request.messages[-1].content)
    assert match is not None
    return match.group(1).strip()


def _gold(request: GenerationRequest) -> str:
    match = re.search(r"Gold answer: (.*)", request.messages[-1].content)
    assert match is not None
    return match.group(1).strip()


def lenient_judge(request: GenerationRequest) -> dict[str, object]:
    """A scripted judge: equivalent when the gold text occurs in the prediction (any case)."""
    same = _gold(request).lower() in _prediction(request).lower()
    return {"equivalent": same, "reason": "contains the gold" if same else "different entity"}


async def test_verdicts_are_parsed_from_structured_replies() -> None:
    backend = ScriptedBackend(lenient_judge)
    dispatcher = Dispatcher(backend)
    yes = await judge("Capital of France?", "It is Paris.", "Paris", dispatcher=dispatcher)
    no = await judge("Capital of France?", "Lyon", "Paris", dispatcher=dispatcher)
    assert yes.verdict == JudgeVerdict(equivalent=True, reason="contains the gold")
    assert no.verdict == JudgeVerdict(equivalent=False, reason="different entity")
    assert (yes.score, no.score) == (1.0, 0.0)
    request = backend.calls[0].request
    assert request.role == "judge"
    assert request.output_schema is JudgeVerdict
    assert request.params.temperature == 0.0
    assert "Question: Capital of France?" in request.messages[-1].content
    assert request.messages[0].content == JUDGE.system


async def test_fenced_json_reply_is_accepted() -> None:
    reply = 'Sure.\n```json\n{"equivalent": true, "reason": "same city"}\n```'
    dispatcher = Dispatcher(ScriptedBackend({"judge": reply}))
    verdict = (await judge("Q?", "Paris, France", "Paris", dispatcher=dispatcher)).verdict
    assert verdict.equivalent and verdict.reason == "same city"


async def test_second_identical_call_is_a_cache_hit(tmp_path: Path) -> None:
    backend = ScriptedBackend(lenient_judge)
    dispatcher = Dispatcher(backend, cache=tmp_path / "cache")
    first = await judge("Who wrote Emma?", "Jane Austen", "Austen", dispatcher=dispatcher)
    second = await judge("Who wrote Emma?", "Jane Austen", "Austen", dispatcher=dispatcher)
    assert len(backend.calls) == 1
    assert not first.cached and second.cached
    assert first.verdict == second.verdict
    assert second.score == 1.0
    assert second.usage.cached_calls == 1 and second.usage.prompt_tokens == 0


async def test_resume_with_a_fresh_dispatcher_pays_nothing_twice(tmp_path: Path) -> None:
    items = [("Q1?", "Paris", "Paris"), ("Q2?", "Rome", "Milan"), ("Q3?", "the Nile", "Nile")]
    first_backend = ScriptedBackend(lenient_judge)
    first = Dispatcher(first_backend, cache=tmp_path / "cache")
    before = [(await judge(q, p, g, dispatcher=first)).verdict for q, p, g in items]
    await first.aclose()
    assert len(first_backend.calls) == 3

    # a new process: new backend object, same cache directory
    resumed_backend = ScriptedBackend(lenient_judge)
    resumed = Dispatcher(resumed_backend, cache=tmp_path / "cache")
    after = [await judge(q, p, g, dispatcher=resumed) for q, p, g in items]
    assert resumed_backend.calls == []
    assert all(r.cached for r in after)
    assert [r.verdict for r in after] == before
    # a changed prediction is a new question for the judge
    await judge("Q2?", "Milan", "Milan", dispatcher=resumed)
    assert len(resumed_backend.calls) == 1


async def test_empty_prediction_costs_no_call() -> None:
    backend = ScriptedBackend(lenient_judge)
    dispatcher = Dispatcher(backend)
    for empty in (None, "", "   "):
        judged = await judge("Q?", empty, "Paris", dispatcher=dispatcher)
        assert judged.verdict == JudgeVerdict(equivalent=False, reason="no prediction to judge")
        assert judged.score == 0.0 and judged.usage.calls == 0 and not judged.cached
    assert backend.calls == []


async def test_failures_raise_for_judge_and_leave_the_judge_scorer_without_a_score() -> None:
    failing = ScriptedBackend({"judge": BackendError("boom", backend="scripted")})
    dispatcher = Dispatcher(failing)
    with pytest.raises(BackendError):
        await judge("Q?", "Paris", "Paris", dispatcher=dispatcher)
    record = EvalRecord(id="q1", dataset="demo", question="Q?", gold="Paris")
    result = Result(question="Q?", strategy="cot", model="scripted", answer="Paris")
    score = await JudgeScorer().score(record, result, ScoreContext("scripted", dispatcher))
    assert score.scores == {} and score.prediction == "Paris"
    assert "boom" in score.details["judge_error"] and "judge_reason" not in score.details
    assert score.details["judge_prompt"] == JUDGE.id and score.details["judge_cached"] is False

    garbage = Dispatcher(ScriptedBackend({"judge": "I think yes"}), limits=Limits(schema_retries=1))
    score = await JudgeScorer().score(record, result, ScoreContext("scripted", garbage))
    assert score.scores == {} and score.details["judge_error"].startswith("SchemaError")

    fine = Dispatcher(ScriptedBackend(lenient_judge))
    score = await JudgeScorer().score(record, result, ScoreContext("scripted", fine))
    assert score.scores == {"judge": 1.0} and score.details["judge_reason"] == "contains the gold"
    assert "judge_error" not in score.details and score.details["judge_usage"]["calls"] == 1


async def test_model_override_routes_only_the_judge_request() -> None:
    default = ScriptedBackend(lenient_judge)
    dispatcher = Dispatcher(default)
    verdict = (await judge("Q?", "Paris", "Paris", dispatcher=dispatcher, model="scripted")).verdict
    # the "scripted" model string resolves to a fresh default scripted backend
    assert default.calls == []
    assert isinstance(verdict, JudgeVerdict)
    assert dispatcher.backend("scripted") is not default


def test_gold_rendering_and_info() -> None:
    assert render_gold("Paris") == "Paris"
    assert render_gold(["Paris"]) == "Paris"
    assert render_gold(["NYC", "New York City"]) == "any of: NYC | New York City"
    assert render_gold(3) == "3"
    info = judge_info("openai/gpt-4o-mini")
    assert info["prompt"] == "judge@1" and info["temperature"] == 0.0
    assert info["model"] == "openai/gpt-4o-mini"


def _row(i: int, judge_score: float | None, em: float | None, **extra: object) -> dict:
    scores = {}
    if judge_score is not None:
        scores["judge"] = judge_score
    if em is not None:
        scores["em"] = em
    return {
        "id": f"q{i}",
        "prediction": f"pred {i}",
        "gold": f"gold {i}",
        "scores": scores,
        **extra,
    }


def test_agreement_counts_each_kind() -> None:
    rows = [
        _row(1, 1.0, 1.0),
        _row(2, 1.0, 1.0),
        _row(3, 1.0, 1.0),
        _row(4, 1.0, 1.0),
        _row(5, 0.0, 0.0),
        _row(6, 0.0, 0.0),
        _row(7, 1.0, 0.0, judge={"reason": "paraphrase"}),
        _row(8, 1.0, 0.0, details={"judge_reason": "same person"}),
        _row(9, 0.0, 1.0),
        _row(10, None, 1.0),  # judge failed: skipped
        _row(11, 1.0, None),
    ]
    stats = agreement(rows, examples=2)
    assert (stats.both_true, stats.both_false, stats.judge_only, stats.em_only) == (4, 2, 2, 1)
    assert stats.n == 9 and stats.skipped == 2
    assert stats.agreement == pytest.approx(6 / 9)
    # Cohen's kappa by hand: p_judge = 6/9, p_em = 5/9
    chance = (6 / 9) * (5 / 9) + (3 / 9) * (4 / 9)
    assert stats.kappa == pytest.approx((6 / 9 - chance) / (1 - chance))
    assert [e.id for e in stats.examples["both_true"]] == ["q1", "q2"]  # capped, in row order
    assert [e.id for e in stats.examples["judge_only"]] == ["q7", "q8"]
    assert stats.examples["judge_only"][0].judge_reason == "paraphrase"
    assert stats.examples["judge_only"][1].judge_reason == "same person"  # runner row layout
    assert [e.id for e in stats.examples["em_only"]] == ["q9"]
    assert stats.examples["em_only"][0].prediction == "pred 9"
    assert stats.examples["em_only"][0].gold == "gold 9"


def test_agreement_never_carries_question_text() -> None:
    rows = [{**_row(1, 1.0, 0.0), "question": "SECRET GPQA QUESTION"}]
    dumped = agreement(rows).model_dump_json()
    assert "SECRET" not in dumped


def test_agreement_edge_cases() -> None:
    empty = agreement([])
    assert empty.n == 0 and empty.agreement is None and empty.kappa is None
    constant = agreement([_row(1, 1.0, 1.0), _row(2, 1.0, 1.0)])
    assert constant.agreement == 1.0 and constant.kappa is None  # undefined when constant
    custom = agreement(
        [{"id": "a", "scores": {"llm": 1, "exact": 0}}], judge_key="llm", em_key="exact"
    )
    assert custom.judge_only == 1
