"""Streaming (#27): replies read as they are written, stalls cut at the first token or between
tokens, ``Dispatcher.stream`` and its deltas, ``--no-stream``, and prompt-cache counts.

Everything runs against the stub server on 127.0.0.1 (``agot/testing/openai_stub_server.py``), which
answers a request that asked for ``"stream": true`` with server-sent events, one word a chunk.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agot import Dispatcher, GenerationRequest, Limits
from agot.answer_echo import AnswerEcho
from agot.backends.base import Capabilities
from agot.backends.price_map import ModelPrice
from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.cli import main
from agot.errors import BackendError
from agot.evals.summary import EvalSummary, GroupSummary
from agot.latency import LatencyWindow, first_token_timeout
from agot.streaming import TextDelta
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse
from agot.types import BackendReply, Usage

MODEL = "openai/stub-model"
#: Quick retries; deadlines far below the stub's hangs, far above its normal replies.
LIMITS = Limits(
    backoff_initial_s=0.01,
    backoff_max_s=0.05,
    timeout_s=60,
    first_token_timeout_s=1.0,
    first_token_floor_s=1.0,
    stall_timeout_s=1.0,
)
TEXT = "the answer is forty two"


@pytest.fixture
def stub() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer(StubResponse.chat(TEXT)) as server:
        yield server


def dispatcher(server: OpenAIStubServer, limits: Limits = LIMITS, **options: Any) -> Dispatcher:
    return Dispatcher(MODEL, limits=limits, api_base=server.base_url, **options)


#: The two OpenAI-compatible clients: agot's own HTTP client and litellm (each streams).
clients = pytest.mark.parametrize("client", ["http", "litellm"])


def ask(text: str = "What is six times seven?") -> GenerationRequest:
    return GenerationRequest.chat(text)


def hung(seconds: float = 30.0) -> StubResponse:
    response = StubResponse.chat(TEXT)
    response.delay_s = seconds
    return response


@clients
async def test_streamed_reply_asks_for_usage_and_keeps_it(
    stub: OpenAIStubServer, client: str
) -> None:
    async with dispatcher(stub, extra={"client": client}) as d:
        gen = await d.generate(ask())
    body = stub.chat_requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert gen.text == TEXT
    assert (gen.usage.prompt_tokens, gen.usage.completion_tokens) == (11, 7)
    assert gen.finish_reason == "stop"


@clients
async def test_a_server_hung_before_its_first_token_is_cut_at_the_deadline(
    stub: OpenAIStubServer, client: str
) -> None:
    stub.enqueue(hung())
    started = time.perf_counter()
    async with dispatcher(stub, extra={"client": client}) as d:
        gen = await d.generate(ask())
    elapsed = time.perf_counter() - started
    assert gen.text == TEXT
    assert elapsed < 10  # the hang lasts 30 s; the first-token deadline is 1 s
    assert gen.usage.attempts == 2 and len(stub.chat_requests) == 2
    assert gen.usage.cancelled == 1  # the server has the hung request
    (event,) = d.events
    assert event.attempts == 2 and event.cancelled == 1


@clients
async def test_a_stream_that_stalls_midway_is_cut_and_retried(
    stub: OpenAIStubServer, client: str
) -> None:
    stalled = StubResponse.chat(TEXT)
    stalled.stall_after, stalled.stall_s = 2, 30.0
    stub.enqueue(stalled)
    started = time.perf_counter()
    async with dispatcher(stub, extra={"client": client}) as d:
        stream = d.stream(ask())
        deltas = [delta async for delta in stream]
    assert time.perf_counter() - started < 10
    assert stream.generation is not None and stream.generation.text == TEXT
    assert stream.generation.usage.attempts == 2
    # Two words of the stalled attempt, then the retry starting over.
    assert [d.text for d in deltas[:2]] == ["the", " answer"]
    assert deltas[2] == TextDelta("the", restart=True)
    assert "".join(d.text for d in deltas[2:]) == TEXT
    assert not any(d.restart for d in deltas[3:])


@clients
async def test_a_stream_broken_midway_is_retried_as_one_call(
    stub: OpenAIStubServer, client: str
) -> None:
    broken = StubResponse.chat(TEXT)
    broken.cut_after = 3  # the connection closes after three words
    stub.enqueue(broken)
    async with dispatcher(stub, extra={"client": client}) as d:
        stream = d.stream(ask())
        deltas = [delta async for delta in stream]
    assert stream.generation is not None and stream.generation.text == TEXT
    usage = stream.generation.usage
    assert (usage.calls, usage.attempts, len(stub.chat_requests)) == (1, 2, 2)
    assert usage.prompt_tokens == 11  # the broken attempt reported no usage
    assert [x.text for x in deltas[:3]] == ["the", " answer", " is"]
    assert deltas[3] == TextDelta("the", restart=True)
    (event,) = d.events
    assert event.attempts == 2 and event.completion == TEXT


async def test_the_whole_reply_timeout_stays_the_ceiling(stub: OpenAIStubServer) -> None:
    slow = StubResponse.chat(TEXT)
    slow.token_delay_s = 0.4  # never stalls, but takes ~2 s in all
    stub.enqueue(slow)
    limits = LIMITS.model_copy(update={"timeout_s": 1.0, "max_retries": 0})
    async with dispatcher(stub, limits) as d:
        with pytest.raises(BackendError, match=r"no reply within 1\.0 s"):
            await d.generate(ask())


@clients
async def test_stream_gives_the_text_in_pieces(stub: OpenAIStubServer, client: str) -> None:
    async with dispatcher(stub, extra={"client": client}) as d:
        stream = d.stream(ask())
        deltas = [delta.text async for delta in stream]
    assert deltas == ["the", " answer", " is", " forty", " two"]
    assert stream.generation is not None and stream.generation.usage.calls == 1
    assert d.usage.calls == 1
    (event,) = d.events
    assert event.first_token is not None and event.start <= event.first_token <= event.end


async def test_no_stream_sends_whole_reply_requests_and_gives_one_delta(
    stub: OpenAIStubServer,
) -> None:
    for d in (
        dispatcher(stub, stream=False),
        dispatcher(stub, LIMITS.model_copy(update={"stream": False})),
    ):
        async with d:
            deltas = [delta async for delta in d.stream(ask())]
        assert deltas == [TextDelta(TEXT)]
    assert all("stream" not in r.body for r in stub.chat_requests)


async def test_a_server_that_ignores_stream_is_read_as_a_whole_reply() -> None:
    class Plain(OpenAIStubServer):  # answers with one JSON body whatever was asked
        def _next(self, body: Any) -> StubResponse:
            if isinstance(body, dict):
                body.pop("stream", None)
            return super()._next(body)

    with Plain(StubResponse.chat(TEXT)) as server:
        server_body = server
        async with dispatcher(server_body) as d:
            gen = await d.generate(ask())
    assert gen.text == TEXT and gen.usage.prompt_tokens == 11


@pytest.mark.parametrize(
    ("stream", "client"), [(True, "http"), (False, "http"), (True, "litellm"), (False, "litellm")]
)
async def test_cached_prompt_tokens_are_counted(
    stub: OpenAIStubServer, stream: bool, client: str
) -> None:
    reply = StubResponse.chat(TEXT, prompt_tokens=1600)
    reply.body["usage"]["prompt_tokens_details"] = {"cached_tokens": 1536}
    stub.enqueue(reply, reply)
    async with dispatcher(stub, stream=stream, extra={"client": client}) as d:
        await d.generate(ask("one"))
        await d.generate(ask("two"))
    assert d.usage.prompt_tokens == 3200
    assert d.usage.cached_prompt_tokens == 3072
    assert d.usage.cached_share == pytest.approx(0.96)
    assert Usage(prompt_tokens=10).cached_share is None


def test_the_summary_shows_the_cached_share() -> None:
    usage = Usage(calls=2, prompt_tokens=3200, completion_tokens=14, cached_prompt_tokens=3072)
    group = GroupSummary(strategy="direct", model="m", n=2, metrics={}, usage=usage)
    summary = EvalSummary(dataset="hotpot", items=2, headline="em", metrics=[], groups=[group])
    assert "(96% of prompt cached)" in summary.table()


async def test_first_token_deadline_is_learned_per_role() -> None:
    window = LatencyWindow()
    args: dict[str, Any] = {"cold": 10.0, "floor": 2.0, "multiple": 4.0, "ceiling": 300.0}
    assert first_token_timeout(window, **args) == 10.0  # cold start: seconds, not minutes
    for _ in range(30):
        window.add(0.2)
    assert first_token_timeout(window, **args) == 2.0  # 4 x 0.2 s is below the floor
    for _ in range(30):
        window.add(1.5)
    assert first_token_timeout(window, **args) == pytest.approx(6.0)
    assert first_token_timeout(window, **args, previous_cut=6.0) == 12.0  # a cut call doubles
    assert first_token_timeout(window, **{**args, "ceiling": 5.0}) == 5.0  # --timeout caps it


# -- the scripted backend: simulated token timing, no HTTP ---------------------------------------


class Pick(BaseModel):
    choice: str


async def test_scripted_backend_streams_word_by_word_at_its_latency_model() -> None:
    backend = ScriptedBackend({"*": TEXT}, latency=LatencyModel(fixed_s=0.01, per_token_s=0.002))
    async with Dispatcher(backend) as d:
        stream = d.stream(ask())
        deltas = [delta.text async for delta in stream]
        plain = await Dispatcher(backend, stream=False).generate(ask())
    assert deltas == ["the", " answer", " is", " forty", " two"]
    assert stream.generation is not None and stream.generation.text == plain.text == TEXT
    assert [e.role for e in d.events] == ["solve"]  # one call, one trace event


async def test_a_scripted_remote_hang_is_cut_at_the_first_token() -> None:
    calls = 0

    async def script(request: GenerationRequest) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(30)
        return TEXT

    remote = Capabilities(remote=True, default_concurrency=4)
    backend = ScriptedBackend(script, capabilities=remote)
    started = time.perf_counter()
    async with Dispatcher(backend, limits=LIMITS) as d:
        gen = await d.generate(ask())
    assert time.perf_counter() - started < 10
    assert gen.text == TEXT and gen.usage.attempts == 2 and gen.usage.cancelled == 1


async def test_a_reask_restarts_the_stream_and_ends_on_the_parsed_reply() -> None:
    backend = ScriptedBackend({"*": ["not json at all", '{"choice": "B"}']})
    async with Dispatcher(backend) as d:
        stream = d.stream(GenerationRequest.chat("pick", output_schema=Pick))
        deltas = [delta async for delta in stream]
    assert deltas == [TextDelta("not json at all"), TextDelta('{"choice": "B"}', restart=True)]
    assert stream.generation is not None and stream.generation.parsed == Pick(choice="B")
    assert stream.generation.usage.calls == 2


# -- agot solve on a terminal ----------------------------------------------------------------------


class Terminal(io.StringIO):
    """stdout as a terminal; ``writes`` keeps each write, to see the answer arrive in pieces."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_answer_echo_writes_only_the_answer_field_of_a_growing_synthesis() -> None:
    out = Terminal()
    echo = AnswerEcho(out)
    final = GenerationRequest.chat("q", role="final", node_id="final", output_schema=Pick)
    nested = GenerationRequest.chat("q", role="final", node_id="2.final", output_schema=Pick)
    echo(final, None)
    for piece in ['{"reasoning": "because', ' it is", "answer": "Par', "is, Fr", 'ance"}']:
        echo(final, piece)
        echo(nested, piece)  # a nested graph's synthesis is not the answer
    assert out.getvalue() == "Paris, France"
    assert out.writes == ["Par", "is, Fr", "ance"]
    assert echo.finish("Paris, France") == ""


def test_solve_on_a_terminal_prints_the_answer_as_it_is_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "t.json"
    table.write_text(
        json.dumps({"replies": {"*": "Answer: Corvin City"}, "latency": {"per_token_s": 0.001}})
    )
    argv = ["solve", "Where?", "--strategy", "direct", "--model", f"scripted/{table}", "--quiet"]
    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(argv) == 0
    assert out.writes[:3] == ["Answer:", " Corvin", " City"]
    assert out.getvalue() == "Answer: Corvin City\n"
    # Not a terminal (or --no-stream): the answer once, as before.
    for more, stdout in (([], io.StringIO()), (["--no-stream"], Terminal())):
        monkeypatch.setattr(sys, "stdout", stdout)
        assert main([*argv, *more]) == 0
        assert stdout.getvalue() == "Corvin City\n"


def test_a_few_hangs_do_not_stretch_the_first_token_deadline() -> None:
    window = LatencyWindow()
    for index in range(200):  # 2% of attempts cut at the 10 s cold deadline
        window.add(10.0 if index % 50 == 0 else 0.3)
    deadline = first_token_timeout(window, cold=10.0, floor=2.0, multiple=4.0, ceiling=300.0)
    assert deadline == pytest.approx(2.0)


def test_cached_prompt_tokens_are_priced_at_the_cache_rate() -> None:
    price = ModelPrice(input_per_token=1e-6, output_per_token=4e-6, max_context=None)
    assert price.cost(1000, 10, cached_tokens=800) == pytest.approx(1000e-6 + 40e-6)
    cheap = ModelPrice(1e-6, 4e-6, None, cached_input_per_token=0.5e-6)
    assert cheap.cost(1000, 10, cached_tokens=800) == pytest.approx(200e-6 + 400e-6 + 40e-6)


async def test_a_failed_streamed_call_raises_from_the_loop_and_is_traced(
    stub: OpenAIStubServer,
) -> None:
    stub.enqueue(StubResponse.error(400, "bad request"))
    async with dispatcher(stub) as d:
        with pytest.raises(BackendError, match="HTTP 400"):
            async for _ in d.stream(ask()):
                pass
    (event,) = d.events
    assert event.error is not None and "HTTP 400" in event.error


async def test_leaving_a_stream_early_cancels_its_call(stub: OpenAIStubServer) -> None:
    slow = StubResponse.chat(TEXT)
    slow.token_delay_s = 5.0
    stub.enqueue(slow)
    started = time.perf_counter()
    async with dispatcher(stub) as d:
        async with d.stream(ask()) as stream:
            async for delta in stream:
                assert delta.text == "the"
                break
    assert time.perf_counter() - started < 4
    (event,) = d.events
    assert event.error == "cancelled" and d.usage.cancelled == 1


async def test_a_structured_reply_can_be_read_while_it_is_written() -> None:
    reply = '{"choice": "Corvin City", "extra": 1}'
    backend = ScriptedBackend({"*": reply}, latency=LatencyModel(per_token_s=0.001))
    seen = []
    async with Dispatcher(backend) as d:
        stream = d.stream(GenerationRequest.chat("pick", output_schema=Pick))
        async for _ in stream:
            seen.append(stream.partial())
    # Word by word: '{"choice":', then an unfinished string, read as far as it goes.
    assert seen[:2] == [{}, {"choice": "Corvin"}]
    assert seen[-1] == {"choice": "Corvin City", "extra": 1}
    assert stream.generation is not None and stream.generation.parsed == Pick(choice="Corvin City")


async def test_a_scripted_subclass_overriding_generate_is_still_called() -> None:
    class Echo(ScriptedBackend):
        async def generate(self, request: GenerationRequest) -> BackendReply:
            return BackendReply(text="Answer: " + request.messages[-1].content)

    async with Dispatcher(Echo()) as d:
        deltas = [delta.text async for delta in d.stream(ask("seven"))]
    assert deltas == ["Answer: seven"]


async def test_a_reply_written_in_a_worker_thread_streams_in_order_and_stops_when_left() -> None:
    """The bridge the embedded backends stream through (llama.cpp's worker thread, the
    transformers engine's batching thread): pieces in order, then the reply; leaving early
    cancels the call."""
    import threading

    from agot.backends.stream_bridge import stream_from

    stopped = threading.Event()

    def write(emit, pieces: int) -> BackendReply:
        for i in range(pieces):
            if stopped.is_set():
                raise RuntimeError("cancelled")
            emit(f"w{i} ")
            time.sleep(0.001)
        return BackendReply(text="".join(f"w{i} " for i in range(pieces)))

    async def call(emit, pieces: int = 50) -> BackendReply:
        try:
            return await asyncio.to_thread(write, emit, pieces)
        except asyncio.CancelledError:
            stopped.set()
            raise

    *text, reply = [piece async for piece in stream_from(call)]
    assert len(text) == 50 and "".join(text) == reply.text

    left = stream_from(lambda emit: call(emit, 10_000))
    assert await anext(left) == "w0 "
    await left.aclose()
    assert stopped.is_set()


async def test_a_litellm_stream_costs_what_the_same_whole_reply_costs(
    stub: OpenAIStubServer,
) -> None:
    """litellm prices a streamed reply from the chunks rebuilt into one response: the same
    cost as the whole reply, cached prompt tokens at the cache-read rate in both."""
    reply = StubResponse.chat(TEXT, prompt_tokens=1600, completion_tokens=5)
    reply.body["usage"]["prompt_tokens_details"] = {"cached_tokens": 1536}
    stub.default = reply
    costs = []
    for stream in (True, False):
        options = {"stream": stream, "extra": {"client": "litellm"}, "api_key": "sk-test-0000"}
        async with Dispatcher(
            "openai/gpt-4o-mini", limits=LIMITS, api_base=stub.base_url, **options
        ) as d:
            gen = await d.generate(ask())
        assert gen.usage.cached_prompt_tokens == 1536
        costs.append(gen.usage.cost)
    streamed, whole = costs
    assert streamed == pytest.approx(whole) and whole > 0
    uncached = StubResponse.chat(TEXT, prompt_tokens=1600, completion_tokens=5)
    stub.default = uncached
    async with Dispatcher(
        "openai/gpt-4o-mini", limits=LIMITS, api_base=stub.base_url, **options
    ) as d:
        full_price = (await d.generate(ask())).usage.cost
    assert whole < full_price  # the cached tokens were priced lower
