"""Providers' prompt caches: AGoT's run-wide prefix stays byte-identical, Anthropic gets its
cache mark, and a server following OpenAI's caching rule serves most of AGoT's prompt tokens."""

from __future__ import annotations

import json

import pytest

import agot
from agot import Dispatcher, GenerationRequest, Limits
from agot.backends import ScriptedBackend
from agot.backends.openai_wire import schema_messages
from agot.testing.agot_scripts import agot_script
from agot.testing.openai_stub_server import OpenAIStubServer
from agot.testing.prompt_cache_server import (
    PrefixCache,
    agot_against_cache,
    hotpot_like_items,
)


def _wire_text(request: GenerationRequest, native: bool) -> str:
    """What an OpenAI-compatible server reads as the prompt, in order."""
    messages, _ = schema_messages(request, native)
    return "".join(f"<{m['role']}>{m['content']}" for m in messages)


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def test_the_cache_serves_prefixes_of_1024_tokens_and_more_in_128_token_steps() -> None:
    cache = PrefixCache()
    words = [f"w{i}" for i in range(1400)]
    cache.store(words[:1000])
    assert cache.lookup(words[:1000]) == 0  # under 1,024 tokens: never cached
    cache.store(words[:1300])
    assert cache.lookup(words[:1300]) == 1280
    assert cache.lookup(words[:1200] + ["other"] * 200) == 1152  # 1,200 shared: 1,024 + 128
    assert cache.lookup(["other", *words[1:1300]]) == 0  # differs at the first token


async def test_every_agot_prompt_opens_with_the_same_byte_identical_prefix() -> None:
    item = hotpot_like_items(1)[0]
    backend = ScriptedBackend(agot_script(fanout=3, complex_if=lambda node: node == "2"))
    result = await agot.AGoT(max_nodes=3, max_depth=1, max_layers=3).solve(item, model=backend)
    assert result.error is None
    requests = [call.request for call in backend.calls]
    roles = {r.role for r in requests}
    assert {"decompose", "assess", "solve", "final"} <= roles and len(requests) > 15
    assert any("." in (r.node_id or "") for r in requests)  # a nested graph's steps too
    # The task block AGoT marks as the run-wide prefix is the same in every prompt ...
    (mark,) = {r.cache_prefix for r in requests}
    (block,) = {r.messages[-1].content[:mark] for r in requests}
    assert item.context is not None and item.context[-200:] in block
    # ... and on the wire, whichever way the schema is sent, every prompt opens with the system
    # text and that block, byte for byte.
    for native in (True, False):
        texts = [_wire_text(r, native) for r in requests]
        prefix = _common_prefix(texts)
        assert prefix.startswith("<system>") and block in prefix


async def test_a_server_with_openais_caching_rule_serves_most_of_agots_prompt_tokens() -> None:
    for native in (True, False):
        server, usage, results = await agot_against_cache(2, native=native)
        assert all(r.error is None for r in results)
        assert server.cached_share >= 0.75, (native, server.cached_share)
        # agot counts what the server reported, apart from the prompt tokens.
        assert usage.cached_prompt_tokens == server.cached_tokens
        assert usage.prompt_tokens == server.prompt_tokens


@pytest.mark.parametrize("stream", [True, False])
async def test_anthropic_requests_carry_the_cache_mark_after_the_task_block(stream: bool) -> None:
    task = "Context:\nlong passages\n\nTask:\nthe question\n\n"
    request = GenerationRequest.chat(
        task + "Break this into thoughts.", system="Be one step.", cache_prefix=len(task)
    )
    with OpenAIStubServer() as stub:  # answers 404 to /v1/messages: we only read the request
        dispatcher = Dispatcher(
            "anthropic/claude-3-5-haiku-latest",
            api_base=stub.base_url.removesuffix("/v1"),
            api_key="sk-ant-test-key-0000",
            limits=Limits(max_retries=0),
            stream=stream,
        )
        async with dispatcher:
            with pytest.raises(agot.BackendError):
                await dispatcher.generate(request)
        (sent,) = stub.requests
    assert sent.path == "/v1/messages"  # Anthropic's own wire, as litellm writes it
    body = sent.body
    assert body["system"][0]["text"] == "Be one step."
    (user,) = body["messages"]
    first, rest = user["content"]
    assert first == {"type": "text", "text": task, "cache_control": {"type": "ephemeral"}}
    assert rest == {"type": "text", "text": "Break this into thoughts."}
    assert "sk-ant" not in json.dumps(body)


async def test_openai_requests_carry_no_cache_mark() -> None:
    request = GenerationRequest.chat("Task:\nq\n\nrest", cache_prefix=9)
    with OpenAIStubServer() as stub:
        dispatcher = Dispatcher(
            "openai/stub-model", api_base=stub.base_url, extra={"client": "litellm"}
        )
        async with dispatcher:
            await dispatcher.generate(request)
        (sent,) = stub.chat_requests
    assert sent.body["messages"] == [{"role": "user", "content": "Task:\nq\n\nrest"}]
