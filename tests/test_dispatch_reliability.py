"""Dispatcher reliability: attempts accounting, exact token budget, adaptive timeout, hedging.

Backends here are scripted; "remote" ones carry ``Capabilities(remote=True)`` (what the litellm
backend declares), so they get the adaptive timeout and hedging that embedded backends never do.
Time bounds are generous upper bounds on things that would otherwise take the full ceiling.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agot.backends.base import Capabilities
from agot.backends.scripted import FaultModel, LatencyModel, ScriptedBackend
from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import BackendError, BudgetExceeded, TransientBackendError
from agot.latency import MIN_SAMPLES, WINDOW, LatencyWindow, adaptive_timeout
from agot.limits import Limits
from agot.percentile import percentile
from agot.trace import RunRecorder, recording
from agot.types import BackendReply, GenerationRequest, SamplingParams

FAST = {"backoff_initial_s": 0.0, "backoff_max_s": 0.0}
REMOTE = Capabilities(remote=True, default_concurrency=16)


def req(text: str = "hello", **kwargs: object) -> GenerationRequest:
    return GenerationRequest.chat(text, **kwargs)  # type: ignore[arg-type]


async def warm(dispatcher: Dispatcher, n: int = MIN_SAMPLES + 5) -> None:
    await asyncio.gather(*(dispatcher.generate(req(f"warm {i}")) for i in range(n)))


def hangs_once_on_stuck(delay: float) -> ScriptedBackend:
    """A remote backend whose first call that mentions "stuck" hangs for 600 s (a dead
    connection); every other call replies "Answer: ok" after ``delay`` seconds."""
    hung = asyncio.Event()

    async def reply(request: GenerationRequest) -> str:
        if "stuck" in request.messages[-1].content and not hung.is_set():
            hung.set()
            await asyncio.sleep(600)
        await asyncio.sleep(delay)
        return "Answer: ok"

    return ScriptedBackend(reply, capabilities=REMOTE)


# -- attempts ---------------------------------------------------------------------------------


async def test_attempts_count_every_retry_beside_calls() -> None:
    failures = [TransientBackendError("503", status=503)] * 2
    backend = ScriptedBackend({"*": [*failures, "Answer: ok"]})
    dispatcher = Dispatcher(backend, limits=Limits(**FAST))
    generation = await dispatcher.generate(req())
    assert generation.usage.calls == 1
    assert generation.usage.attempts == 3 == len(backend.calls)
    assert dispatcher.usage.attempts == 3


async def test_a_failed_call_still_counts_its_attempts() -> None:
    backend = ScriptedBackend({"*": TransientBackendError("500", status=500)})
    dispatcher = Dispatcher(backend, limits=Limits(max_retries=2, **FAST))
    recorder = RunRecorder()
    with recording(recorder), pytest.raises(BackendError, match="after 3 attempts"):
        await dispatcher.generate(req())
    assert recorder.usage.calls == 0
    assert recorder.usage.attempts == 3 == len(backend.calls)


async def test_attempts_cut_by_the_wall_budget_are_counted() -> None:
    async def slow(request: GenerationRequest) -> str:
        await asyncio.sleep(30)
        return "late"

    backend = ScriptedBackend(slow)
    dispatcher = Dispatcher(backend)
    recorder = RunRecorder(Budget(max_wall_s=0.2))
    with recording(recorder), pytest.raises(BudgetExceeded):
        await asyncio.gather(*(dispatcher.generate(req(f"q{i}")) for i in range(3)))
    await asyncio.sleep(0)
    assert recorder.usage.attempts == 3 == len(backend.calls)
    assert recorder.usage.calls == 0


async def test_cached_replies_are_calls_but_no_attempts(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    dispatcher = Dispatcher(backend, cache=str(tmp_path))
    await dispatcher.generate(req())
    again = await dispatcher.generate(req())
    assert again.cached and again.usage.calls == 1 and again.usage.attempts == 0
    assert dispatcher.usage.attempts == 1 == len(backend.calls)


# -- exact token budget -----------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 8, 64])
async def test_token_budget_overshoots_by_at_most_one_call(concurrency: int) -> None:
    per_call = 90  # 40 prompt + 50 completion tokens per reply

    async def reply(request: GenerationRequest) -> BackendReply:
        await asyncio.sleep(0.001)
        return BackendReply(text="Answer: x", prompt_tokens=40, completion_tokens=50)

    backend = ScriptedBackend(reply)
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=concurrency))
    limit = 1000
    recorder = RunRecorder(Budget(max_tokens=limit))
    params = SamplingParams(max_tokens=60)

    async def one(i: int) -> None:
        try:  # a 150-character prompt: its 40 tokens fit the dispatcher's estimate
            await dispatcher.generate(req(f"{i:03d}" + "x" * 147, params=params))
        except BudgetExceeded:
            pass

    with recording(recorder):
        await asyncio.gather(*(one(i) for i in range(100)))
    used = recorder.usage.total_tokens
    assert limit <= used <= limit + per_call
    assert recorder.tracker.tokens_held == 0  # every reservation was returned


async def test_token_budget_reask_of_a_lone_call_does_not_deadlock() -> None:
    from pydantic import BaseModel

    class Out(BaseModel):
        value: int

    backend = ScriptedBackend({"*": ["not json", '{"value": 3}']})
    dispatcher = Dispatcher(backend, limits=Limits(max_concurrency=1))
    recorder = RunRecorder(Budget(max_tokens=600))
    with recording(recorder):
        generation = await asyncio.wait_for(
            dispatcher.generate(req(output_schema=Out, params=SamplingParams(max_tokens=500))),
            timeout=10,
        )
    assert generation.parsed == Out(value=3)
    assert generation.usage.calls == 2


# -- adaptive timeout -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 100, 257])
def test_one_percentile_definition_matches_numpy_and_serves_the_latency_window(n: int) -> None:
    import numpy as np

    values = np.random.default_rng(n).lognormal(size=n).tolist()
    for q in (0, 1, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    window = LatencyWindow()
    for value in values:
        window.add(value)
    if n >= MIN_SAMPLES:
        kept = values[-WINDOW:]  # the window holds the latest samples only
        assert window.quantile(0.99) == pytest.approx(float(np.percentile(kept, 99)))
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile(values, 0.95 * 1000)


def test_adaptive_timeout_rules() -> None:
    window = LatencyWindow()
    assert adaptive_timeout(window, ceiling=300, floor=10, multiple=4) == 300  # no data yet
    for _ in range(MIN_SAMPLES):
        window.add(0.5)
    assert adaptive_timeout(window, ceiling=300, floor=10, multiple=4) == 10  # the floor
    for _ in range(200):
        window.add(20.0)
    assert adaptive_timeout(window, ceiling=300, floor=10, multiple=4) == 80  # 4 x p99
    assert adaptive_timeout(window, ceiling=60, floor=10, multiple=4) == 60  # the ceiling
    # After a cut, the next attempt gets at least twice the cut (still under the ceiling).
    assert adaptive_timeout(window, ceiling=300, floor=10, multiple=4, previous_cut=50) == 100
    assert adaptive_timeout(window, ceiling=None, floor=10, multiple=4) == 80


async def test_a_hung_remote_call_is_cut_at_the_learned_timeout_and_retried() -> None:
    backend = hangs_once_on_stuck(0.005)
    limits = Limits(timeout_s=300, timeout_floor_s=0.3, **FAST)
    dispatcher = Dispatcher(backend, limits=limits)
    await warm(dispatcher)
    started = time.perf_counter()
    generation = await dispatcher.generate(req("stuck"))
    assert generation.text == "Answer: ok" and generation.attempts == 2
    assert time.perf_counter() - started < 30  # cut near 0.3 s, not at the 300 s ceiling
    cut = backend.calls[-2]
    assert cut.end - cut.start < 30


@pytest.mark.parametrize("stream", [False, True])
async def test_a_call_hung_in_the_first_wave_is_cut_once_its_wave_has_replied(
    stream: bool,
) -> None:
    """#25 item 10: before the window is trusted an attempt starts with the 300 s ceiling, but
    is re-timed when enough of its wave has replied, so a hang in the first wave of an eval is
    cut within seconds, streamed or not (``--no-stream``, litellm)."""
    backend = hangs_once_on_stuck(0.05)
    limits = Limits(timeout_s=300, timeout_floor_s=0.3, stream=stream, **FAST)
    dispatcher = Dispatcher(backend, limits=limits)
    started = time.perf_counter()
    wave = [dispatcher.generate(req("stuck"))]
    wave += [dispatcher.generate(req(f"wave {i}")) for i in range(MIN_SAMPLES + 4)]
    stuck, *rest = await asyncio.gather(*wave)
    assert stuck.text == "Answer: ok" and stuck.attempts == 2
    assert all(g.attempts == 1 for g in rest)  # the wave's good calls are never cut
    assert time.perf_counter() - started < 30  # cut near 0.3 s, not at the 300 s ceiling
    window = dispatcher._entry(dispatcher.default_model).latency.window(req("x").role)
    assert not window._waiting  # every cold attempt withdrew its re-timing


async def test_a_hang_in_a_small_unstreamed_run_waits_the_cold_timeout_not_the_ceiling() -> None:
    """#25 item 10: with too few calls for the window ever to be trusted (a small eval, or
    the first calls of any), a whole reply that is not streamed is cut at
    ``cold_timeout_s``, not at the 300 s ceiling, and a legitimately slow reply cut there
    gets twice as long on its retry; a streamed call keeps the ceiling (its first-token
    deadline is what catches a hang)."""
    hung, slow_seen = asyncio.Event(), []

    async def reply(request: GenerationRequest) -> str:
        text = request.messages[-1].content
        if "stuck" in text and not hung.is_set():
            hung.set()
            await asyncio.sleep(600)
        if "slow" in text:
            slow_seen.append(1)
            await asyncio.sleep(0.6)  # longer than the cold timeout, shorter than twice it
        return "Answer: ok"

    backend = ScriptedBackend(reply, capabilities=REMOTE)
    limits = Limits(timeout_s=300, cold_timeout_s=0.4, stream=False, **FAST)
    dispatcher = Dispatcher(backend, limits=limits)
    started = time.perf_counter()
    stuck, slow, quick = await asyncio.gather(
        dispatcher.generate(req("stuck")),
        dispatcher.generate(req("slow")),
        dispatcher.generate(req("quick")),
    )
    assert time.perf_counter() - started < 30  # cut near 0.4 s, not at the 300 s ceiling
    assert stuck.text == "Answer: ok" and stuck.attempts == 2
    assert slow.text == "Answer: ok" and slow.attempts == 2 and len(slow_seen) == 2
    assert quick.attempts == 1
    window = LatencyWindow()
    rules = {"floor": 10, "multiple": 4, "cold": 30}
    assert adaptive_timeout(window, ceiling=300, **rules) == 30
    assert adaptive_timeout(window, ceiling=20, **rules) == 20
    assert adaptive_timeout(window, ceiling=300, previous_cut=30, **rules) == 60
    streamed = Dispatcher(backend, limits=limits.model_copy(update={"stream": True}))
    entry = streamed._entry(streamed.default_model)
    call = type("Call", (), {"streaming": True, "cut": None})()
    assert streamed._timeout(entry, req("x"), call) == 300  # type: ignore[arg-type]


def test_a_trusted_window_calls_back_once_and_withdrawn_callbacks_never() -> None:
    window, calls = LatencyWindow(), []
    withdraw = window.when_trusted(lambda: calls.append("withdrawn"))
    window.when_trusted(lambda: calls.append("kept"))
    withdraw()
    for _ in range(MIN_SAMPLES + 3):
        window.add(0.1)
    assert calls == ["kept"]
    window.when_trusted(lambda: calls.append("late"))  # already trusted: at once
    assert calls == ["kept", "late"]


async def test_hangs_do_not_ratchet_the_timeout_up_to_the_ceiling() -> None:
    """Cut attempts are not latency samples: if they were, with a few percent of calls hung
    each cut would become the p99 and the next hang would wait 4 x as long (0.2 s, 0.8 s,
    3.2 s, ...)."""
    stuck: set[str] = set()

    async def reply(request: GenerationRequest) -> str:
        text = request.messages[-1].content
        if text.startswith("stuck") and text not in stuck:
            stuck.add(text)
            await asyncio.sleep(600)
        await asyncio.sleep(0.005)
        return "Answer: ok"

    backend = ScriptedBackend(reply, capabilities=REMOTE)
    limits = Limits(timeout_floor_s=0.2, stream=False, **FAST)
    dispatcher = Dispatcher(backend, limits=limits)
    await warm(dispatcher, MIN_SAMPLES)
    for i in range(12):  # each cut and its retry: 24 attempts, three re-sorts of the window
        generation = await dispatcher.generate(req(f"stuck {i}"))
        assert generation.attempts == 2
        cut = backend.calls[-2]
        assert cut.end - cut.start < 0.6, (i, cut.end - cut.start)


async def test_a_slow_embedded_model_is_never_cut_by_the_adaptive_timeout() -> None:
    slow = asyncio.Event()

    async def reply(request: GenerationRequest) -> str:
        await asyncio.sleep(0.4 if slow.is_set() else 0.001)
        return "Answer: ok"

    backend = ScriptedBackend(reply)  # embedded: Capabilities(remote=False)
    dispatcher = Dispatcher(backend, limits=Limits(timeout_floor_s=0.05, timeout_multiple=1))
    await warm(dispatcher)
    slow.set()
    generation = await dispatcher.generate(req("long prompt"))
    assert generation.attempts == 1 and generation.text == "Answer: ok"


async def test_a_remote_server_that_slows_down_is_still_reached() -> None:
    slow = asyncio.Event()

    async def reply(request: GenerationRequest) -> str:
        await asyncio.sleep(0.35 if slow.is_set() else 0.001)
        return "Answer: ok"

    backend = ScriptedBackend(reply, capabilities=REMOTE)
    limits = Limits(timeout_floor_s=0.1, timeout_multiple=1, max_retries=3, **FAST)
    dispatcher = Dispatcher(backend, limits=limits)
    await warm(dispatcher)
    slow.set()
    # Cut at 0.1 s, then 0.2 s, then given 0.4 s: the third attempt gets through.
    generation = await dispatcher.generate(req("now slow"))
    assert generation.text == "Answer: ok" and generation.attempts == 3


async def test_the_user_timeout_stays_the_ceiling() -> None:
    async def reply(request: GenerationRequest) -> str:
        await asyncio.sleep(600 if "stuck" in request.messages[-1].content else 0)
        return "Answer: ok"

    backend = ScriptedBackend(reply, capabilities=REMOTE)
    dispatcher = Dispatcher(backend, limits=Limits(timeout_s=0.2, max_retries=0))
    with pytest.raises(BackendError, match=r"no reply within 0\.2 s"):
        await dispatcher.generate(req("stuck"))


# -- hedging ----------------------------------------------------------------------------------


async def test_hedge_sends_one_duplicate_after_p95_and_keeps_the_first_reply() -> None:
    seen: list[str] = []

    async def reply(request: GenerationRequest) -> str:
        text = request.messages[-1].content
        seen.append(text)
        if text == "straggler" and seen.count(text) == 1:
            await asyncio.sleep(600)
        await asyncio.sleep(0.002)
        return "Answer: ok"

    backend = ScriptedBackend(reply, capabilities=REMOTE)
    dispatcher = Dispatcher(backend, limits=Limits(hedge=True, timeout_s=300))
    await warm(dispatcher)
    generation = await asyncio.wait_for(dispatcher.generate(req("straggler")), timeout=30)
    assert generation.text == "Answer: ok"
    assert seen.count("straggler") == 2
    assert generation.usage.calls == 1 and generation.usage.attempts == 2
    await asyncio.sleep(0)
    assert backend.in_flight == 0  # the straggler was cancelled


async def test_hedge_is_off_by_default_and_for_embedded_backends() -> None:
    backend = ScriptedBackend(
        latency=LatencyModel(fixed_s=0.001), faults=FaultModel(hang=0.0, seed=1)
    )
    dispatcher = Dispatcher(backend, limits=Limits(hedge=True))
    await warm(dispatcher)
    assert dispatcher.usage.attempts == dispatcher.usage.calls == len(backend.calls)


# -- the cache never fails a run --------------------------------------------------------------


async def test_a_cache_entry_that_is_a_folder_is_a_miss_and_is_skipped(tmp_path: Path) -> None:
    from agot.cache import ResponseCache

    cache = ResponseCache(tmp_path / "cache")
    backend = ScriptedBackend({"*": "Answer: fresh"})
    dispatcher = Dispatcher(backend, cache=cache)
    request = req("cached question")
    key = ResponseCache.key(backend.name, backend.model, request)
    (tmp_path / "cache" / key[:2] / f"{key}.json").mkdir(parents=True)  # in the entry's place
    first = await dispatcher.generate(request)
    second = await dispatcher.generate(request)
    assert first.text == second.text == "Answer: fresh"
    assert not first.cached and not second.cached  # neither read nor written: both called
    assert len(backend.calls) == 2 and cache.write_errors == 2


async def test_cached_replies_are_sealed_and_reopen_for_the_same_request(tmp_path: Path) -> None:
    marker = "SEALED-MARKER private question text"
    backend = ScriptedBackend({"*": f"Answer: {marker}"})
    request = req(f"question holding {marker}")
    first = await Dispatcher(backend, cache=tmp_path / "cache").generate(request)
    again = await Dispatcher(backend, cache=tmp_path / "cache").generate(request)
    assert again.cached and again.text == first.text and len(backend.calls) == 1
    other = await Dispatcher(backend, cache=tmp_path / "cache").generate(req("another question"))
    assert not other.cached
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert stored and b"SEALED-MARKER" not in stored and b"private question" not in stored
