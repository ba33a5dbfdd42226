"""Dispatcher behaviour against the scripted backend.

Limits are checked from the outside: the scripted backend records when each call started and
ended, so concurrency and rates are read off those timestamps rather than from wall-clock
assertions. The only time bounds used are lower bounds implied by the limit (a limiter that
works cannot finish sooner), which a slow machine cannot break.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tenacity import RetryCallState

import agot.dispatcher as dispatcher_module
from agot.backends.base import Capabilities
from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import BackendError, BudgetExceeded, SchemaError, TransientBackendError
from agot.limits import Limits
from agot.trace import RunRecorder, recording
from agot.types import BackendReply, GenerationRequest, Message, SamplingParams

#: Retries without backoff sleeps, so retry tests take no time.
FAST = {"backoff_initial_s": 0.0, "backoff_max_s": 0.0}


def req(text: str = "hello", **kwargs: Any) -> GenerationRequest:
    return GenerationRequest.chat(text, **kwargs)


def windows_max(points: list[tuple[float, float]], width: float) -> float:
    """Largest total weight of points (time, weight) inside any half-open window of ``width``."""
    points = sorted(points)
    best = 0.0
    for i, (t0, _) in enumerate(points):
        best = max(best, sum(w for t, w in points[i:] if t < t0 + width))
    return best


class CostBackend:
    """A minimal Backend returning a fixed cost and token counts per call."""

    name = "costly"
    model = "priced-1"
    capabilities = Capabilities(default_concurrency=8)

    def __init__(self, cost: float, tokens: int = 1) -> None:
        self.cost = cost
        self.tokens = tokens
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> BackendReply:
        self.calls += 1
        return BackendReply(
            text="Answer: paid",
            prompt_tokens=self.tokens,
            completion_tokens=self.tokens,
            cost=self.cost,
        )

    async def aclose(self) -> None:
        return None


class Out(BaseModel):
    value: int


# -- concurrency and rates --------------------------------------------------------------------


async def test_concurrency_cap_honoured() -> None:
    backend = ScriptedBackend(latency=LatencyModel(fixed_s=0.02))
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=7))
    generations = await asyncio.gather(*(dispatcher.generate(req(f"q{i}")) for i in range(50)))
    assert len(generations) == len(backend.calls) == 50
    assert backend.max_in_flight == 7
    # The same, read off the recorded intervals: never more than 7 overlap.
    edges = sorted(
        [(c.start, 1) for c in backend.calls] + [(c.end, -1) for c in backend.calls],
        key=lambda e: (e[0], e[1]),
    )
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    assert peak == 7


async def test_default_concurrency_comes_from_backend_capabilities() -> None:
    backend = ScriptedBackend(
        latency=LatencyModel(fixed_s=0.01), capabilities=Capabilities(default_concurrency=3)
    )
    dispatcher = Dispatcher(backend)
    await asyncio.gather(*(dispatcher.generate(req()) for _ in range(12)))
    assert backend.max_in_flight == 3


async def test_request_rate_limit_honoured_over_a_window() -> None:
    # 600/min is 10 per second, with no burst: never more than 1.1 x 10 in any 1 s window,
    # from the very first second (a one-second leaky bucket let 2 x through at the start).
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, limits=Limits(requests_per_minute=600))
    await asyncio.gather(*(dispatcher.generate(req(f"q{i}")) for i in range(25)))
    starts = [c.start for c in backend.calls]
    assert len(starts) == 25
    assert windows_max([(t, 1) for t in starts], 1.0) <= 11
    # 25 requests spaced 0.1 s apart span at least 2.4 s.
    assert max(starts) - min(starts) >= 2.4 - 0.05


async def test_token_rate_limit_honoured_over_a_window() -> None:
    # 12,000 tokens/min: a bucket of 200 tokens leaking 200 per second. Each request is
    # estimated at prompt chars / 4 + max_tokens = 0 + 20 tokens.
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, limits=Limits(tokens_per_minute=12_000))
    params = SamplingParams(max_tokens=20)
    await asyncio.gather(*(dispatcher.generate(req("q", params=params)) for _ in range(25)))
    starts = [c.start for c in backend.calls]
    assert windows_max([(t, 20) for t in starts], 1.0) <= 200 + 200 + 20
    assert max(starts) - min(starts) >= (25 * 20 - 200) / 200 - 0.1


async def test_request_larger_than_token_bucket_still_passes() -> None:
    # 60 tokens/min is a 1-token bucket; a 100-token request must not deadlock or raise.
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, limits=Limits(tokens_per_minute=600))
    generation = await asyncio.wait_for(
        dispatcher.generate(req(params=SamplingParams(max_tokens=100))), timeout=10
    )
    assert generation.text == "Answer: scripted"


# -- retries and timeouts ---------------------------------------------------------------------


async def test_retry_recovers_from_429_and_honours_retry_after() -> None:
    backend = ScriptedBackend(
        {"*": [TransientBackendError("slow down", status=429, retry_after=0.2), "Answer: ok"]}
    )
    dispatcher = Dispatcher(backend, limits=Limits(**FAST))
    generation = await dispatcher.generate(req())
    assert generation.text == "Answer: ok"
    assert generation.attempts == 2
    assert len(backend.calls) == 2
    # Backoff is zero here, so the gap between attempts is the server's Retry-After.
    assert backend.calls[1].start - backend.calls[0].start >= 0.2
    assert dispatcher.events[-1].attempts == 2
    assert dispatcher.events[-1].error is None
    assert dispatcher.usage.calls == 1


async def test_retry_after_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatcher_module, "MAX_RETRY_AFTER_S", 0.01)
    backend = ScriptedBackend(
        {"*": [TransientBackendError("come back tomorrow", status=429, retry_after=86_400), "ok"]}
    )
    dispatcher = Dispatcher(backend, limits=Limits(**FAST))
    generation = await asyncio.wait_for(dispatcher.generate(req()), timeout=10)
    assert generation.text == "ok"


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    backoff = dispatcher_module._Backoff(Limits(backoff_initial_s=0.5, backoff_max_s=3.0))
    for failed, low, high in [(1, 0.5, 1.0), (2, 1.0, 1.5), (3, 2.0, 2.5), (4, 3.0, 3.0)]:
        for _ in range(20):
            assert low <= backoff.delay(TransientBackendError("x"), failed) <= high
    # A server's Retry-After replaces the exponential wait.
    assert backoff.delay(TransientBackendError("x", retry_after=7.5), 3) == 7.5
    # As tenacity's wait, its attempt n follows overall attempt n + 1 (the first runs directly).
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = 1
    state.set_exception((TransientBackendError, TransientBackendError("x"), None))
    assert 1.0 <= backoff(state) <= 1.5


async def test_backoff_waits_between_attempts() -> None:
    backend = ScriptedBackend(
        {"*": [TransientBackendError("a"), TransientBackendError("b"), "Answer: ok"]}
    )
    limits = Limits(backoff_initial_s=0.05, backoff_max_s=1.0)
    generation = await Dispatcher(backend, limits=limits).generate(req())
    assert generation.attempts == 3
    starts = [c.start for c in backend.calls]
    # At least 0.05 s before the second attempt and 0.1 s before the third.
    assert starts[1] - starts[0] >= 0.05
    assert starts[2] - starts[1] >= 0.1


async def test_retry_recovers_from_5xx() -> None:
    backend = ScriptedBackend(
        {
            "*": [
                TransientBackendError("internal error", status=500),
                TransientBackendError("bad gateway", status=502),
                "Answer: ok",
            ]
        }
    )
    dispatcher = Dispatcher(backend, limits=Limits(max_retries=2, **FAST))
    generation = await dispatcher.generate(req())
    assert (generation.text, generation.attempts) == ("Answer: ok", 3)
    assert len(backend.calls) == 3


async def test_retry_recovers_from_a_timeout() -> None:
    slow_once = {"done": False}

    async def script(request: GenerationRequest) -> str:
        if not slow_once["done"]:
            slow_once["done"] = True
            await asyncio.sleep(30)
        return "Answer: fast"

    backend = ScriptedBackend(script)
    dispatcher = Dispatcher(backend, limits=Limits(timeout_s=0.1, **FAST))
    generation = await asyncio.wait_for(dispatcher.generate(req()), timeout=10)
    assert (generation.text, generation.attempts) == ("Answer: fast", 2)
    # The slow attempt was cut off at the timeout, not left running.
    assert backend.calls[0].end - backend.calls[0].start < 30
    assert backend.in_flight == 0


async def test_exhausted_retries_raise_backend_error() -> None:
    backend = ScriptedBackend({"*": TransientBackendError("overloaded", status=503)})
    dispatcher = Dispatcher(backend, limits=Limits(max_retries=2, **FAST))
    with pytest.raises(BackendError) as err:
        await dispatcher.generate(req())
    # Not transient any more: an outer layer must not retry it again.
    assert type(err.value) is BackendError
    assert err.value.status == 503
    assert "3 attempts" in str(err.value)
    assert "\n" not in str(err.value)
    assert len(backend.calls) == 3
    event = dispatcher.events[-1]
    assert event.attempts == 3
    assert event.error is not None and event.error.startswith("BackendError")
    assert dispatcher.usage.calls == 0


async def test_exhausted_timeouts_raise_backend_error() -> None:
    async def never(request: GenerationRequest) -> str:
        await asyncio.sleep(30)
        return "late"

    backend = ScriptedBackend(never)
    dispatcher = Dispatcher(backend, limits=Limits(timeout_s=0.05, max_retries=1, **FAST))
    with pytest.raises(BackendError, match="no reply within"):
        await asyncio.wait_for(dispatcher.generate(req()), timeout=10)
    assert len(backend.calls) == 2


async def test_no_retries_configured() -> None:
    backend = ScriptedBackend({"*": [TransientBackendError("busy", status=429), "Answer: ok"]})
    dispatcher = Dispatcher(backend, limits=Limits(max_retries=0, **FAST))
    with pytest.raises(BackendError, match="1 attempts") as err:
        await dispatcher.generate(req())
    assert type(err.value) is BackendError and err.value.status == 429
    assert len(backend.calls) == 1


async def test_non_transient_error_is_not_retried() -> None:
    backend = ScriptedBackend({"*": [BackendError("invalid request", status=400), "Answer: no"]})
    dispatcher = Dispatcher(backend, limits=Limits(max_retries=4, **FAST))
    with pytest.raises(BackendError, match="invalid request"):
        await dispatcher.generate(req())
    assert len(backend.calls) == 1
    assert dispatcher.events[-1].attempts == 1


# -- structured output ------------------------------------------------------------------------


async def test_schema_reask_recovers() -> None:
    backend = ScriptedBackend({"*": ["this is not json", '{"value": 3}']})
    dispatcher = Dispatcher(backend)
    request = req("give me a value", output_schema=Out)
    generation = await dispatcher.generate(request)
    assert generation.parsed == Out(value=3)
    assert generation.text == '{"value": 3}'
    assert generation.usage.calls == 2
    assert generation.attempts == 2
    first, second = (c.request for c in backend.calls)
    assert first.messages == request.messages
    # The re-ask carries the bad reply and a fix-it message with the schema.
    assert second.messages[: len(request.messages)] == request.messages
    assert second.messages[-2] == Message(role="assistant", content="this is not json")
    fix = second.messages[-1]
    assert fix.role == "user"
    assert "not valid" in fix.content
    assert json.dumps(Out.model_json_schema()) in fix.content
    assert second.output_schema is Out


async def test_schema_reask_names_the_bad_field() -> None:
    backend = ScriptedBackend({"*": ['{"value": "many"}', '{"value": 7}']})
    generation = await Dispatcher(backend).generate(req(output_schema=Out))
    assert generation.parsed == Out(value=7)
    assert "value" in backend.calls[1].request.messages[-1].content


async def test_fenced_json_parses_without_reask() -> None:
    backend = ScriptedBackend({"*": 'Sure:\n```json\n{"value": 5}\n```'})
    generation = await Dispatcher(backend).generate(req(output_schema=Out))
    assert generation.parsed == Out(value=5)
    assert len(backend.calls) == 1


async def test_schema_always_invalid_raises_after_bounded_asks() -> None:
    backend = ScriptedBackend({"*": "still not json"})
    dispatcher = Dispatcher(backend, limits=Limits(schema_retries=2))
    with pytest.raises(SchemaError) as err:
        await dispatcher.generate(req(output_schema=Out))
    assert len(backend.calls) == 3
    assert err.value.raw == "still not json"
    assert "Out" in str(err.value)
    event = dispatcher.events[-1]
    assert event.error is not None and event.error.startswith("SchemaError")
    # The failed asks were real calls and are charged.
    assert dispatcher.usage.calls == 3


async def test_schema_reask_respects_the_call_budget() -> None:
    backend = ScriptedBackend({"*": "not json"})
    dispatcher = Dispatcher(backend, budget=Budget(max_calls=2))
    with pytest.raises(BudgetExceeded, match="call budget"):
        await dispatcher.generate(req(output_schema=Out))
    assert len(backend.calls) == 2


# -- budgets ----------------------------------------------------------------------------------


async def test_dispatcher_call_budget() -> None:
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, budget=Budget(max_calls=2))
    await dispatcher.generate(req("a"))
    await dispatcher.generate(req("b"))
    with pytest.raises(BudgetExceeded, match="call budget") as err:
        await dispatcher.generate(req("c"))
    assert "2/2" in err.value.reason
    assert len(backend.calls) == 2
    assert dispatcher.tracker.exceeded == err.value.reason


async def test_call_budget_counts_calls_in_flight() -> None:
    backend = ScriptedBackend(latency=LatencyModel(fixed_s=0.02))
    dispatcher = Dispatcher(backend, budget=Budget(max_calls=3))
    results = await asyncio.gather(
        *(dispatcher.generate(req(f"q{i}")) for i in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    assert all(isinstance(r, BudgetExceeded) for r in results if isinstance(r, BaseException))
    assert len(backend.calls) == 3
    assert dispatcher.usage.calls == 3
    assert dispatcher.tracker.in_flight == 0


async def test_cancelled_call_returns_its_reservation() -> None:
    async def slow(request: GenerationRequest) -> str:
        await asyncio.sleep(30)
        return "late"

    dispatcher = Dispatcher(ScriptedBackend(slow), budget=Budget(max_calls=1))
    task = asyncio.create_task(dispatcher.generate(req()))
    await asyncio.sleep(0.01)
    assert dispatcher.tracker.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dispatcher.tracker.in_flight == 0
    assert dispatcher.usage.calls == 0
    # The budget's one call is still available.
    dispatcher.tracker.check()


async def test_token_budget() -> None:
    backend = ScriptedBackend(
        {"*": BackendReply(text="Answer: x", prompt_tokens=4, completion_tokens=4)}
    )
    dispatcher = Dispatcher(backend, budget=Budget(max_tokens=10))
    await dispatcher.generate(req("a"))  # 8 tokens: under 10, one more call allowed
    await dispatcher.generate(req("b"))  # 16 tokens
    with pytest.raises(BudgetExceeded, match="token budget"):
        await dispatcher.generate(req("c"))
    assert len(backend.calls) == 2
    assert dispatcher.usage.total_tokens == 16


async def test_cost_budget() -> None:
    backend = CostBackend(cost=0.4)
    dispatcher = Dispatcher(backend, budget=Budget(max_cost=1.0))
    for text in "abc":
        await dispatcher.generate(req(text))
    with pytest.raises(BudgetExceeded, match="cost budget"):
        await dispatcher.generate(req("d"))
    assert backend.calls == 3
    assert dispatcher.usage.cost == pytest.approx(1.2)


async def test_cost_budget_rechecked_after_queueing_for_a_slot() -> None:
    # One slot: the later requests passed the first budget check while queued, but the budget
    # ran out before their turn came, so they must not reach the backend.
    backend = ScriptedBackend(
        {"*": BackendReply(text="x", cost=0.6)}, latency=LatencyModel(fixed_s=0.01)
    )
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=1), budget=Budget(max_cost=1.0))
    results = await asyncio.gather(
        *(dispatcher.generate(req(f"q{i}")) for i in range(5)), return_exceptions=True
    )
    assert len(backend.calls) == 2
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 3


async def test_wall_time_budget_stops_a_call_in_progress() -> None:
    async def slow(request: GenerationRequest) -> str:
        await asyncio.sleep(30)
        return "late"

    backend = ScriptedBackend(slow)
    dispatcher = Dispatcher(backend, budget=Budget(max_wall_s=0.2), limits=Limits(**FAST))
    with pytest.raises(BudgetExceeded, match="wall-time"):
        await asyncio.wait_for(dispatcher.generate(req()), timeout=10)
    # A budget stop is not a timeout to retry.
    assert len(backend.calls) == 1
    with pytest.raises(BudgetExceeded, match="wall-time"):
        await dispatcher.generate(req())
    assert len(backend.calls) == 1


async def test_wall_time_budget_without_a_timeout() -> None:
    async def slow(request: GenerationRequest) -> str:
        await asyncio.sleep(30)
        return "late"

    dispatcher = Dispatcher(
        ScriptedBackend(slow), limits=Limits(timeout_s=None), budget=Budget(max_wall_s=0.1)
    )
    with pytest.raises(BudgetExceeded, match="wall-time"):
        await asyncio.wait_for(dispatcher.generate(req()), timeout=10)


async def test_run_budget_is_separate_from_dispatcher_budget() -> None:
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, budget=Budget(max_calls=3))
    with recording(RunRecorder(Budget(max_calls=1))) as run:
        await dispatcher.generate(req("a"))
        with pytest.raises(BudgetExceeded):
            await dispatcher.generate(req("b"))
    assert run.usage.calls == 1
    assert run.tracker.exceeded is not None
    # The dispatcher still has budget for work outside that run.
    await dispatcher.generate(req("c"))
    await dispatcher.generate(req("d"))
    with pytest.raises(BudgetExceeded):
        await dispatcher.generate(req("e"))
    assert dispatcher.usage.calls == 3


# -- cache ------------------------------------------------------------------------------------


async def test_cache_hit(tmp_path: Path) -> None:
    backend = ScriptedBackend({"*": "Answer: cached?"})
    dispatcher = Dispatcher(backend, cache=tmp_path)
    first = await dispatcher.generate(req("same"))
    second = await dispatcher.generate(req("same"))
    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text
    assert len(backend.calls) == 1
    assert dispatcher.usage.calls == 2
    assert dispatcher.usage.cached_calls == 1
    assert second.usage.prompt_tokens == second.usage.completion_tokens == 0
    assert [e.cached for e in dispatcher.events] == [False, True]
    # A different prompt is a miss.
    await dispatcher.generate(req("other"))
    assert len(backend.calls) == 2


async def test_cache_survives_a_new_dispatcher(tmp_path: Path) -> None:
    await Dispatcher(ScriptedBackend({"*": "Answer: stored"}), cache=tmp_path).generate(req())
    fresh = ScriptedBackend({"*": "Answer: different"})
    generation = await Dispatcher(fresh, cache=str(tmp_path)).generate(req())
    assert generation.cached
    assert generation.text == "Answer: stored"
    assert fresh.calls == []


async def test_cache_is_keyed_by_model(tmp_path: Path) -> None:
    await Dispatcher(ScriptedBackend(model="m1"), cache=tmp_path).generate(req())
    other = ScriptedBackend(model="m2")
    generation = await Dispatcher(other, cache=tmp_path).generate(req())
    assert not generation.cached
    assert len(other.calls) == 1


async def test_sampled_requests_not_cached_by_default(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, cache=tmp_path)
    hot = SamplingParams(temperature=0.7)
    # Said where it matters: the first sampled call passed by warns (once), and is counted.
    with pytest.warns(UserWarning, match="cache_sampled=True"):
        a = await dispatcher.generate(req(params=hot))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = await dispatcher.generate(req(params=hot))
    assert not a.cached and not b.cached
    assert len(backend.calls) == 2
    assert dispatcher.cache is not None and len(dispatcher.cache) == 0
    assert dispatcher.cache_counts.skipped == 2
    assert dispatcher.cache_counts.text() == "cache 0 hits, 0 misses, 2 sampled calls not cached"


async def test_sampled_requests_cached_with_seed_or_opt_in(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    seeded = SamplingParams(temperature=0.7, seed=1)
    dispatcher = Dispatcher(backend, cache=tmp_path / "seeded")
    await dispatcher.generate(req(params=seeded))
    assert (await dispatcher.generate(req(params=seeded))).cached

    opted = Dispatcher(backend, cache=tmp_path / "opt", cache_sampled=True)
    hot = SamplingParams(temperature=0.7)
    await opted.generate(req(params=hot, sample_index=0))
    assert (await opted.generate(req(params=hot, sample_index=0))).cached
    # Another sample index is another sample, not a repeat.
    assert not (await opted.generate(req(params=hot, sample_index=1))).cached
    assert (opted.cache_counts.hits, opted.cache_counts.misses) == (1, 2)
    assert opted.cache_counts.skipped == 0


async def test_cache_restores_parsed_structured_replies(tmp_path: Path) -> None:
    backend = ScriptedBackend({"*": '{"value": 9}'})
    await Dispatcher(backend, cache=tmp_path).generate(req(output_schema=Out))
    hit = await Dispatcher(backend, cache=tmp_path).generate(req(output_schema=Out))
    assert hit.cached and hit.parsed == Out(value=9)
    assert len(backend.calls) == 1


async def test_failures_are_not_cached(tmp_path: Path) -> None:
    backend = ScriptedBackend({"*": [BackendError("nope", status=400), "Answer: later"]})
    dispatcher = Dispatcher(backend, cache=tmp_path)
    with pytest.raises(BackendError):
        await dispatcher.generate(req())
    assert dispatcher.cache is not None and len(dispatcher.cache) == 0
    assert not (await dispatcher.generate(req())).cached


async def test_cache_and_trace_hold_no_api_key(tmp_path: Path) -> None:
    secret = "sk-test-SECRET-0123456789"
    dispatcher = Dispatcher("scripted", cache=tmp_path / "cache", api_key=secret)
    await dispatcher.generate(req("question"))
    assert (await dispatcher.generate(req("question"))).cached
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert secret not in path.read_text()
    dumped = json.dumps([e.model_dump(mode="json") for e in dispatcher.events])
    assert secret not in dumped
    assert secret not in repr(dispatcher.backend_options)
    assert secret not in dispatcher.backend_options.model_dump_json()


# -- trace events -----------------------------------------------------------------------------


async def test_trace_events() -> None:
    backend = ScriptedBackend(latency=LatencyModel(fixed_s=0.005))
    dispatcher = Dispatcher(backend)
    first = await dispatcher.generate(req("root", role="decompose", node_id="n0"))
    rest = await asyncio.gather(
        *(
            dispatcher.generate(req(f"child {i}", node_id=f"n{i}", depends_on=(first.call_id,)))
            for i in range(1, 20)
        )
    )
    events = dispatcher.events
    assert len(events) == 20
    assert len({e.call_id for e in events}) == 20
    assert {g.call_id for g in [first, *rest]} == {e.call_id for e in events}
    by_id = {e.call_id: e for e in events}
    assert by_id[first.call_id].depends_on == []
    assert by_id[first.call_id].role == "decompose"
    for generation in rest:
        event = by_id[generation.call_id]
        assert event.depends_on == [first.call_id]
        assert event.role == "solve"
        assert event.node_id is not None and event.node_id.startswith("n")
    for event in events:
        assert event.start <= event.end
        assert (event.backend, event.model) == ("scripted", "scripted")
        assert event.prompt_tokens > 0 and event.completion_tokens > 0
        assert not event.cached and event.error is None and event.attempts == 1
    assert sum(e.prompt_tokens for e in events) == dispatcher.usage.prompt_tokens
    assert sum(e.completion_tokens for e in events) == dispatcher.usage.completion_tokens


async def test_runs_keep_their_events_separate() -> None:
    backend = ScriptedBackend(latency=LatencyModel(fixed_s=0.01))
    dispatcher = Dispatcher(backend)

    async def run(tag: str, n: int) -> RunRecorder:
        with recording(RunRecorder()) as recorder:
            await asyncio.gather(*(dispatcher.generate(req(tag, node_id=tag)) for _ in range(n)))
        return recorder

    a, b = await asyncio.gather(run("a", 3), run("b", 5))
    assert [e.node_id for e in a.events] == ["a"] * 3
    assert [e.node_id for e in b.events] == ["b"] * 5
    assert (a.usage.calls, b.usage.calls) == (3, 5)
    assert dispatcher.events == []
    assert dispatcher.usage.calls == 8


# -- routing ----------------------------------------------------------------------------------


async def test_model_string_and_routing(tmp_path: Path) -> None:
    table = tmp_path / "votes.json"
    table.write_text(json.dumps({"*": "Answer: from table"}))
    routed = f"scripted/{table}"
    dispatcher = Dispatcher("scripted", router=lambda r: routed if r.role == "vote" else None)
    assert isinstance(dispatcher.backend(), ScriptedBackend)
    plain = await dispatcher.generate(req(role="solve"))
    voted = await dispatcher.generate(req(role="vote"))
    override = await dispatcher.generate(req(role="solve", model=routed))
    assert plain.text == "Answer: scripted"
    assert voted.text == override.text == "Answer: from table"
    assert voted.model == "scripted/votes.json"
    await dispatcher.aclose()
