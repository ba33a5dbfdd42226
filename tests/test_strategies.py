"""Baseline strategies (Direct, CoT, SelfConsistency), the Strategy base and ``agot.solve``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import agot
from agot.answers import extract_answer, normalize_answer
from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import BackendError, ConfigError, RunFailedError, TransientBackendError
from agot.limits import Limits
from agot.result import Result
from agot.routing import Router
from agot.strategies import CoT, Direct, SelfConsistency, failures_as_results, get_strategy
from agot.task import Task
from agot.types import BackendReply, GenerationRequest


def by_sample(answers: list[str]) -> Any:
    """A script answering sample ``i`` with ``answers[i]``."""

    def script(request: GenerationRequest) -> str:
        assert request.sample_index is not None
        return f"Let me think.\nAnswer: {answers[request.sample_index]}"

    return script


# -- answer extraction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Reasoning...\nAnswer: Paris", "Paris"),
        ("Answer: 1\nwait, no.\nFinal answer: 2", "2"),
        ("**Answer:** 42", "42"),
        ("The answer is: B", "The answer is: B"),  # no answer line: last line
        ("answer is: C", "C"),
        ("just a line\n\n", "just a line"),
        ("", ""),
    ],
)
def test_extract_answer(text: str, answer: str) -> None:
    assert extract_answer(text) == answer


def test_normalize_answer() -> None:
    assert (
        normalize_answer("The Eiffel Tower.")
        == normalize_answer("eiffel   tower")
        == ("eiffel tower")
    )
    assert normalize_answer("42.") == "42"
    # A lone letter is a multiple-choice answer, not an article.
    assert normalize_answer("A") == normalize_answer("(a)") == normalize_answer("A.") == "a"
    assert normalize_answer("A dog") == "dog"


# -- Direct and CoT ---------------------------------------------------------------------------


async def test_direct_extracts_the_answer_line() -> None:
    backend = ScriptedBackend({"answer": "Paris is the capital.\nAnswer: Paris"})
    result = await Direct().solve("What is the capital of France?", model=backend)
    assert isinstance(result, Result)
    assert result.answer == "Paris"
    assert result.ok and result.error is None and result.stopped is None
    assert result.strategy == "direct"
    assert result.details["raw"] == "Paris is the capital.\nAnswer: Paris"
    assert result.usage.calls == 1
    assert result.prompts == {"direct": "1"}
    (event,) = result.events
    assert (event.role, event.node_id, event.backend) == ("answer", "answer", "scripted")
    (call,) = backend.calls
    prompt = "\n".join(m.content for m in call.request.messages)
    assert "What is the capital of France?" in prompt
    assert "step by step" not in prompt
    assert call.request.params.temperature == 0.0
    # A Result round-trips through JSON unchanged.
    assert Result.model_validate_json(result.model_dump_json()) == result


async def test_cot_asks_for_reasoning_and_extracts_the_answer() -> None:
    backend = ScriptedBackend({"answer": "17 * 23 = 17 * 20 + 17 * 3 = 340 + 51.\nAnswer: 391"})
    result = await CoT(max_tokens=64).solve("What is 17 * 23?", model=backend)
    assert result.answer == "391"
    assert result.strategy == "cot"
    assert result.prompts == {"cot": "1"}
    (call,) = backend.calls
    assert "step by step" in call.request.messages[-1].content
    assert call.request.params.max_tokens == 64


async def test_task_context_and_choices_reach_the_prompt() -> None:
    backend = ScriptedBackend({"answer": "Answer: B"})
    task = Task(
        question="Which is a mammal?",
        context="Whales breathe air.",
        choices=["Shark", "Whale"],
        answer_format="End with 'Answer: X' where X is A or B.",
    )
    result = await Direct().solve(task, model=backend)
    assert result.answer == "B"
    assert result.question == "Which is a mammal?"
    prompt = backend.calls[0].request.messages[-1].content
    for piece in ("Whales breathe air.", "(A) Shark", "(B) Whale", "where X is A or B"):
        assert piece in prompt


async def test_model_string_resolves_the_backend() -> None:
    result = await Direct().solve("Anything?", model="scripted")
    assert result.answer == "scripted"
    assert result.model == "scripted"


# -- SelfConsistency --------------------------------------------------------------------------


async def test_self_consistency_majority_vote_and_shares() -> None:
    backend = ScriptedBackend(by_sample(["42", "41", "42", "42.", "forty"]))
    result = await SelfConsistency(5).solve("How many?", model=backend)
    assert result.answer == "42"
    assert result.details["answers"] == ["42", "41", "42", "42.", "forty"]
    assert result.details["vote_shares"] == {"42": 0.6, "41": 0.2, "forty": 0.2}
    assert result.usage.calls == 5 == len(result.events)
    assert result.strategy == "sc"
    requests = [c.request for c in backend.calls]
    assert sorted(r.sample_index for r in requests) == [0, 1, 2, 3, 4]
    assert all(r.params.temperature == 0.7 and r.role == "vote" for r in requests)


async def test_self_consistency_takes_per_role_models_like_every_strategy() -> None:
    voter, default = ScriptedBackend(by_sample(["7"] * 3), model="voter"), ScriptedBackend()
    result = await SelfConsistency(3, models={"vote": voter}).solve("q", model=default)
    assert result.answer == "7" and len(voter.calls) == 3 and default.calls == []
    assert result.details["routing"]["routes"] == {"vote": "scripted:voter"}
    with pytest.raises(ConfigError, match="models= or router="):
        SelfConsistency(3, models={"vote": voter}, router=Router())


async def test_self_consistency_tie_goes_to_the_first_group() -> None:
    backend = ScriptedBackend(by_sample(["B", "A", "A", "B"]))
    result = await SelfConsistency(4).solve("Pick one", model=backend)
    assert result.answer == "B"
    assert result.details["vote_shares"] == {"B": 0.5, "A": 0.5}


async def test_self_consistency_samples_without_answers_do_not_vote() -> None:
    def script(request: GenerationRequest) -> str:
        return ["", "", "Answer: 7"][request.sample_index or 0]

    result = await SelfConsistency(3).solve("q", model=ScriptedBackend(script))
    assert result.answer == "7"
    assert result.details["vote_shares"] == {"7": 1.0}


async def test_self_consistency_budget_stop_votes_on_the_samples_it_got() -> None:
    """A call budget below n stops sampling: the samples that came back vote, the stop is
    ``stopped`` and not a failed step (an eval row is then a scored answer, not an error)."""
    backend = ScriptedBackend({"*": "Answer: 7"})
    result = await SelfConsistency(5).solve("q", model=backend, budget=Budget(max_calls=3))
    assert result.answer == "7" and len(result.details["samples"]) == 3
    assert result.stopped is not None and "call budget" in result.stopped
    assert result.errors == []


async def test_self_consistency_runs_samples_concurrently() -> None:
    backend = ScriptedBackend(latency=LatencyModel(fixed_s=0.02))
    await SelfConsistency(6).solve("q", model=backend)
    assert backend.max_in_flight == 6


@pytest.mark.parametrize("n", [0, -1, 2.5, "3", True, None, 257])
def test_self_consistency_validates_n(n: Any) -> None:
    with pytest.raises(ConfigError, match=r"samples \(n\) must be between 1 and 256"):
        SelfConsistency(n)


async def test_self_consistency_survives_some_failed_samples() -> None:
    def script(request: GenerationRequest) -> Any:
        if request.sample_index == 1:
            return BackendError("content filter", status=400)
        return "Answer: yes"

    result = await SelfConsistency(3).solve("q", model=ScriptedBackend(script))
    assert result.answer == "yes"
    assert result.ok
    assert len(result.errors) == 1 and "content filter" in result.errors[0]
    assert result.details["vote_shares"] == {"yes": 1.0}


async def test_self_consistency_budget_gives_a_partial_vote() -> None:
    backend = ScriptedBackend(
        by_sample(["7", "7", "8", "9", "9"]), latency=LatencyModel(fixed_s=0.01)
    )
    result = await SelfConsistency(5).solve("q", model=backend, budget=Budget(max_calls=3))
    assert len(backend.calls) == 3
    assert result.usage.calls == 3
    assert len(result.details["answers"]) == 3
    assert result.answer in {"7", "8", "9"}
    assert result.stopped is not None and "call budget" in result.stopped
    assert result.partial and result.error is None


async def test_strategy_budget_from_constructor() -> None:
    backend = ScriptedBackend(by_sample(["a"] * 5))
    result = await SelfConsistency(5, budget=Budget(max_calls=2)).solve("q", model=backend)
    assert len(backend.calls) == 2
    assert result.answer == "a" and result.stopped is not None


async def test_self_consistency_cost_budget() -> None:
    backend = ScriptedBackend(
        {"*": BackendReply(text="Answer: 1", cost=0.5)}, latency=LatencyModel(fixed_s=0.01)
    )
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=1))
    result = await SelfConsistency(5).solve("q", dispatcher=dispatcher, budget=Budget(max_cost=1.0))
    # Two calls reach $1.00; the queued samples are stopped before they are sent.
    assert len(backend.calls) == 2
    assert result.usage.cost == pytest.approx(1.0)
    assert result.answer == "1"
    assert result.stopped is not None and "cost budget" in result.stopped


async def test_self_consistency_wall_budget() -> None:
    async def script(request: GenerationRequest) -> str:
        if request.sample_index != 0:
            await asyncio.sleep(30)
        return "Answer: quick"

    result = await asyncio.wait_for(
        SelfConsistency(4).solve("q", model=ScriptedBackend(script), budget=Budget(max_wall_s=0.5)),
        timeout=10,
    )
    assert result.answer == "quick"
    assert result.stopped is not None and "wall-time" in result.stopped
    assert result.details["vote_shares"] == {"quick": 1.0}


async def test_budget_stop_before_any_answer() -> None:
    async def slow(request: GenerationRequest) -> str:
        await asyncio.sleep(30)
        return "Answer: never"

    result = await asyncio.wait_for(
        CoT().solve("q", model=ScriptedBackend(slow), budget=Budget(max_wall_s=0.1)), timeout=10
    )
    assert result.answer is None
    assert result.error is None
    assert result.stopped is not None and "wall-time" in result.stopped


async def test_dispatcher_budget_stops_strategies() -> None:
    backend = ScriptedBackend(by_sample(["x"] * 5))
    dispatcher = Dispatcher(backend, budget=Budget(max_calls=4))
    first = await SelfConsistency(3).solve("q", dispatcher=dispatcher)
    second = await SelfConsistency(3).solve("q", dispatcher=dispatcher)
    assert first.usage.calls == 3 and first.stopped is None
    assert second.usage.calls == 1 and second.stopped is not None
    assert len(backend.calls) == 4


# -- failures ---------------------------------------------------------------------------------


async def test_backend_failure_raises_with_the_failed_result() -> None:
    backend = ScriptedBackend({"*": BackendError("model not found", status=404)})
    with pytest.raises(RunFailedError, match="every model call of this run failed") as info:
        await Direct().solve("q", model=backend)
    result = info.value.result
    assert result.answer is None
    assert result.error is not None and "model not found" in result.error
    assert result.errors == [result.error]
    assert not result.ok
    (event,) = result.events
    assert event.error is not None


async def test_exhausted_retries_become_result_error() -> None:
    backend = ScriptedBackend({"*": TransientBackendError("overloaded", status=503)})
    dispatcher = Dispatcher(
        backend, limits=Limits(max_retries=1, backoff_initial_s=0, backoff_max_s=0)
    )
    with failures_as_results():  # what an eval runner sees: a Result, not an exception
        result = await SelfConsistency(2).solve("q", dispatcher=dispatcher)
    assert result.answer is None
    assert result.error is not None and "BackendError" in result.error
    assert len(backend.calls) == 4
    with pytest.raises(RunFailedError, match=r"failed \(2\).*overloaded"):
        await SelfConsistency(2).solve("q", dispatcher=dispatcher)


async def test_a_run_with_some_failed_calls_still_answers() -> None:
    calls = {"n": 0}

    def script(request):
        calls["n"] += 1
        return BackendError("flaky") if calls["n"] == 1 else "Answer: 4"

    result = await SelfConsistency(3).solve("q", model=ScriptedBackend(script))
    assert result.answer == "4" and sum(1 for e in result.events if e.error) == 1


@pytest.mark.parametrize("question", ["", "   \n", 42, None, b"bytes", Task(question=" ")])
async def test_bad_question_is_a_config_error(question: Any) -> None:
    backend = ScriptedBackend()
    for strategy in (Direct(), CoT(), SelfConsistency(2)):
        with pytest.raises(ConfigError, match="question"):
            await strategy.solve(question, model=backend)
    assert backend.calls == []


async def test_dispatcher_and_model_together_is_a_config_error() -> None:
    dispatcher = Dispatcher(ScriptedBackend())
    with pytest.raises(ConfigError, match="dispatcher"):
        await Direct().solve("q", dispatcher=dispatcher, model="scripted")


# -- runs sharing a dispatcher ----------------------------------------------------------------


async def test_concurrent_runs_on_one_dispatcher_keep_their_events() -> None:
    backend = ScriptedBackend(
        {"vote": "Answer: sc", "answer": "Answer: cot"}, latency=LatencyModel(fixed_s=0.01)
    )
    dispatcher = Dispatcher(backend)
    sc, cot = await asyncio.gather(
        SelfConsistency(4).solve("first question", dispatcher=dispatcher),
        CoT().solve("second question", dispatcher=dispatcher),
    )
    assert (sc.answer, cot.answer) == ("sc", "cot")
    assert {e.role for e in sc.events} == {"vote"} and len(sc.events) == 4
    assert {e.role for e in cot.events} == {"answer"} and len(cot.events) == 1
    assert not {e.call_id for e in sc.events} & {e.call_id for e in cot.events}
    assert (sc.usage.calls, cot.usage.calls) == (4, 1)
    assert dispatcher.usage.calls == 5
    assert dispatcher.events == []


# -- registry and the sync API ----------------------------------------------------------------


def test_get_strategy() -> None:
    assert isinstance(get_strategy("direct"), Direct)
    assert isinstance(get_strategy(" CoT "), CoT)
    assert isinstance(get_strategy("chain-of-thought"), CoT)
    sc = get_strategy("self-consistency", n=3)
    assert isinstance(sc, SelfConsistency) and sc.n == 3
    with pytest.raises(ConfigError, match="unknown strategy 'beam'") as err:
        get_strategy("beam")
    assert "cot" in str(err.value) and "direct" in str(err.value)


def test_sync_solve_outside_an_event_loop() -> None:
    result = agot.solve("What is 2 + 2?", strategy="cot", model="scripted")
    assert isinstance(result, Result)
    assert result.answer == "scripted"
    assert result.strategy == "cot"


async def test_sync_solve_inside_a_running_event_loop() -> None:
    # As in a Jupyter cell: a loop is running in this thread.
    asyncio.get_running_loop()
    result = agot.solve("What is 2 + 2?", strategy=SelfConsistency(3), model="scripted")
    assert result.answer == "scripted"
    assert result.usage.calls == 3


def test_sync_solve_passes_dispatcher_options(tmp_path: Any) -> None:
    first = agot.solve("q", strategy="direct", model="scripted", cache=tmp_path)
    second = agot.solve("q", strategy="direct", model="scripted", cache=tmp_path)
    assert first.usage.cached_calls == 0
    assert second.usage.cached_calls == 1
    assert second.events[0].cached


def test_sync_solve_bad_question() -> None:
    with pytest.raises(ConfigError):
        agot.solve("", strategy="direct", model="scripted")


def test_sync_solve_takes_every_dispatcher_keyword() -> None:
    """agot.solve's dispatcher options are DispatcherOptions' fields, and those are exactly
    Dispatcher's keywords: an option the dispatcher gains reaches agot.solve too."""
    import inspect

    from agot.backends.registry import BackendOptions
    from agot.dispatcher import Dispatcher, DispatcherOptions

    params = inspect.signature(Dispatcher.__init__).parameters.values()
    keywords = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == set(DispatcherOptions.model_fields)
    assert DispatcherOptions.names() == keywords | set(BackendOptions.model_fields)


def test_sync_solve_serves_a_fleet_given_by_endpoints() -> None:
    from agot.testing.latency_server import LatencyServer

    with LatencyServer(0.0) as a, LatencyServer(0.0) as b:
        result = agot.solve(
            "Which city?",
            strategy="sc",
            n=4,
            model="openai/latency-model",
            endpoints=[a.base_url, b.base_url],
            replica_policy="round-robin",
        )
        assert result.usage.calls == 4
        assert len(a.served) == len(b.served) == 2
    with pytest.raises(ConfigError, match="several endpoints need the model string"):
        urls = ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]
        agot.solve("q", strategy="direct", model="local", endpoints=urls)
