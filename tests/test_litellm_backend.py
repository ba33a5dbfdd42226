"""The clients of OpenAI-compatible endpoints over real HTTP, through the real dispatcher.

Every test talks to an OpenAI-compatible stub server that the test starts on 127.0.0.1 (see
:mod:`agot.testing.openai_stub_server`), so status codes, headers and JSON bodies take the same
path they take against vLLM or a hosted provider. Each test runs twice: over the direct HTTP
client (the default for ``openai/<name>`` with an endpoint) and over litellm with the OpenAI
client underneath (``-M client=litellm``, and every other provider), which must behave alike.
"""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agot import Direct, Dispatcher, GenerationRequest, Limits
from agot.backends import BackendOptions, resolve_backend
from agot.backends.openai_wire import parse_retry_after as _parse_retry_after
from agot.errors import BackendError, ConfigError
from agot.strategies import failures_as_results

# tests/ has no __init__.py, so pytest puts it on sys.path and the helper imports by name.
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

MODEL = "openai/stub-model"
FAST = Limits(backoff_initial_s=0.01, backoff_max_s=0.05, timeout_s=20)
#: The backend name each client records in traces.
CLIENTS = {"http": "openai-http", "litellm": "litellm"}
CLIENT = "http"


@pytest.fixture(autouse=True, params=list(CLIENTS))
def client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The client this run of a test uses (``extra={"client": ...}``, as ``-M client=``)."""
    monkeypatch.setattr(sys.modules[__name__], "CLIENT", request.param)
    return str(request.param)


def extra(**more: Any) -> dict[str, Any]:
    return {"client": CLIENT, **more}


class Verdict(BaseModel):
    answer: str
    confidence: float


@pytest.fixture
def stub() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer() as server:
        yield server


def dispatcher(server_url: str, limits: Limits = FAST, **options: Any) -> Dispatcher:
    options["extra"] = extra(**options.get("extra", {}))
    return Dispatcher(MODEL, limits=limits, api_base=server_url, **options)


def ask(text: str = "What is 2 + 2?", **kwargs: Any) -> GenerationRequest:
    return GenerationRequest.chat(text, **kwargs)


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_plain_text_reply(stub: OpenAIStubServer) -> None:
    stub.enqueue(StubResponse.chat("Answer: 4", prompt_tokens=21, completion_tokens=3))
    async with dispatcher(stub.base_url) as d:
        gen = await d.generate(ask(system="Be brief.", params={"max_tokens": 16, "seed": 3}))
    assert gen.text == "Answer: 4"
    assert (gen.usage.calls, gen.usage.prompt_tokens, gen.usage.completion_tokens) == (1, 21, 3)
    assert gen.usage.cost == 0.0  # no price for a local model: zero, not a crash
    assert gen.backend == CLIENTS[CLIENT] and gen.model == MODEL
    assert gen.attempts == 1 and gen.finish_reason == "stop"
    [sent] = stub.chat_requests
    assert sent.body["model"] == "stub-model"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    assert sent.body["max_tokens"] == 16 and sent.body["seed"] == 3
    assert "response_format" not in sent.body


async def test_json_schema_reply_is_parsed_and_requested_natively(stub: OpenAIStubServer) -> None:
    stub.enqueue(StubResponse.chat('{"answer": "4", "confidence": 0.9}'))
    async with dispatcher(stub.base_url) as d:
        assert d.backend().capabilities.native_schema
        gen = await d.generate(ask(output_schema=Verdict))
    assert isinstance(gen.parsed, Verdict)
    assert gen.parsed == Verdict(answer="4", confidence=0.9)
    [sent] = stub.chat_requests
    fmt = sent.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Verdict"
    assert fmt["json_schema"]["schema"] == Verdict.model_json_schema()


async def test_server_rejecting_json_schema_falls_back_to_prompting(
    stub: OpenAIStubServer,
) -> None:
    stub.enqueue(
        StubResponse.error(400, "response_format json_schema is not supported"),
        StubResponse.chat('{"answer": "4", "confidence": 1}'),
        StubResponse.chat('{"answer": "5", "confidence": 0.5}'),
    )
    async with dispatcher(stub.base_url) as d:
        first = await d.generate(ask(output_schema=Verdict))
        second = await d.generate(ask("And 2 + 3?", output_schema=Verdict))
        assert not d.backend().capabilities.native_schema
    assert first.parsed == Verdict(answer="4", confidence=1)
    assert any("response_format" in w for w in first.warnings)
    assert second.parsed == Verdict(answer="5", confidence=0.5)
    rejected, *plain = stub.chat_requests
    assert "response_format" in rejected.body
    assert len(plain) == 2  # the fallback is remembered: one rejection only
    for request in plain:
        assert "response_format" not in request.body
        assert request.body["messages"][-1]["role"] == "user"
        assert '"confidence"' in request.body["messages"][-1]["content"]  # the schema, prompted
        assert len(request.body["messages"]) == 1  # no system message of its own


async def test_429_with_retry_after_then_success(stub: OpenAIStubServer) -> None:
    stub.enqueue(
        StubResponse.error(429, "slow down", headers={"Retry-After": "0.1"}),
        StubResponse.chat("Answer: 4"),
    )
    async with dispatcher(stub.base_url) as d:
        gen = await d.generate(ask())
    assert gen.text == "Answer: 4" and gen.attempts == 2
    first, second = stub.chat_requests
    # Backoff is capped at 0.05 s here, so a gap of 0.1 s or more can only be Retry-After.
    assert second.received - first.received >= 0.1


async def test_500_then_success(stub: OpenAIStubServer) -> None:
    stub.enqueue(StubResponse.error(500, "boom"), StubResponse.chat("Answer: 4"))
    async with dispatcher(stub.base_url) as d:
        gen = await d.generate(ask())
    assert gen.text == "Answer: 4" and gen.attempts == 2
    assert gen.usage.calls == 1
    assert len(stub.chat_requests) == 2


async def test_always_500_gives_backend_error_after_retries(stub: OpenAIStubServer) -> None:
    stub.default = StubResponse.error(503, "overloaded")
    limits = FAST.model_copy(update={"max_retries": 2})
    async with dispatcher(stub.base_url, limits=limits) as d:
        with pytest.raises(BackendError) as info:
            await d.generate(ask())
    # Exactly 1 + max_retries requests: neither litellm nor the OpenAI client retry on their own.
    assert len(stub.chat_requests) == 3
    assert "3 attempts" in str(info.value) and "overloaded" in str(info.value)
    assert info.value.status == 503


async def test_400_is_not_retried(stub: OpenAIStubServer) -> None:
    stub.default = StubResponse.error(400, "max_tokens is too large")
    async with dispatcher(stub.base_url) as d:
        with pytest.raises(BackendError) as info:
            await d.generate(ask())
    assert len(stub.chat_requests) == 1
    assert info.value.status == 400 and "max_tokens is too large" in str(info.value)


async def test_401_names_the_key_setting_not_the_key(stub: OpenAIStubServer) -> None:
    stub.default = StubResponse.error(401, "invalid key")
    async with dispatcher(stub.base_url, api_key="sk-agot-wrong-key-123") as d:
        with pytest.raises(BackendError) as info:
            await d.generate(ask())
    assert len(stub.chat_requests) == 1
    assert "API key" in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    assert "sk-agot-wrong-key-123" not in str(info.value)


async def test_request_timeout_is_retried_then_reported(stub: OpenAIStubServer) -> None:
    stub.default = StubResponse(200, StubResponse.chat("late").body, delay_s=1.0)
    limits = FAST.model_copy(update={"max_retries": 1})
    extra = {"request_timeout_s": 0.2}
    async with dispatcher(stub.base_url, limits=limits, extra=extra) as d:
        with pytest.raises(BackendError) as info:
            await d.generate(ask())
    assert len(stub.chat_requests) == 2
    assert "2 attempts" in str(info.value) and "timeout" in str(info.value)


def test_retry_after_header_forms() -> None:
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert _parse_retry_after({"retry-after": "2"}) == 2.0
    assert _parse_retry_after({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    assert 0 < (_parse_retry_after({"retry-after": soon}) or 0) <= 30
    assert _parse_retry_after({"retry-after": "soon-ish"}) is None
    assert _parse_retry_after({}) is None


async def test_connection_refused_names_the_api_base() -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    limits = FAST.model_copy(update={"max_retries": 1})
    async with dispatcher(base, limits=limits) as d:
        with pytest.raises(BackendError) as info:
            await d.generate(ask())
    message = str(info.value)
    assert base in message and "--api-base" in message
    assert "\n" not in message


def test_missing_api_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resolve_backend("openai/gpt-4o-mini")


def test_api_base_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = resolve_backend(MODEL, api_base="http://127.0.0.1:9/v1", extra=extra())
    assert backend.name == CLIENTS[CLIENT] and backend.model == MODEL


def test_hosted_vllm_without_api_base_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without an api_base litellm would send these requests to api.openai.com.
    monkeypatch.delenv("HOSTED_VLLM_API_BASE", raising=False)
    with pytest.raises(ConfigError, match="--api-base"):
        resolve_backend("hosted_vllm/my-model")


async def test_hosted_vllm_with_api_base(stub: OpenAIStubServer) -> None:
    stub.enqueue(StubResponse.chat('{"answer": "4", "confidence": 0.5}'))
    async with Dispatcher(
        "hosted_vllm/stub-model", limits=FAST, api_base=stub.base_url, extra=extra()
    ) as d:
        gen = await d.generate(ask(output_schema=Verdict))
    assert gen.parsed == Verdict(answer="4", confidence=0.5)
    [sent] = stub.chat_requests
    assert sent.body["model"] == "stub-model"
    assert sent.body["response_format"]["type"] == "json_schema"


def test_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="provider") as info:
        resolve_backend("no-such-provider/some-model")
    assert "openai/gpt-4o-mini" in str(info.value)  # says how to write a model string


async def test_api_key_never_leaks(
    stub: OpenAIStubServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    key = "sk-agot-leak-canary-5b1e9d7c"
    caplog.set_level(logging.DEBUG)
    stub.enqueue(
        StubResponse.chat("Answer: 4"),
        StubResponse.error(400, f"bad request from key {key}"),  # a server echoing the key
        StubResponse.error(401, f"Incorrect API key provided: {key}"),
    )
    limits = FAST.model_copy(update={"max_retries": 0})
    options: dict[str, Any] = {
        "api_base": stub.base_url,
        "api_key": key,
        "cache": tmp_path / "cache",
        "extra": extra(),
    }
    ok = await Direct().solve("What is 2 + 2?", model=MODEL, limits=limits, **options)
    with failures_as_results():  # failed runs come back as Results to inspect
        echoed = await Direct().solve("What is 3 + 3?", model=MODEL, limits=limits, **options)
        rejected = await Direct().solve("What is 4 + 4?", model=MODEL, limits=limits, **options)

    assert ok.answer == "4"
    assert echoed.error is not None and "bad request from key ***" in echoed.error
    assert rejected.error is not None and "API key" in rejected.error
    # The key did go to the server: the canary is live, so its absence below means something.
    assert all(r.headers.get("authorization") == f"Bearer {key}" for r in stub.chat_requests)

    trace = tmp_path / "trace.json"
    ok.save_trace(trace)
    texts = [r.model_dump_json() for r in (ok, echoed, rejected)] + [trace.read_text()]
    texts += [p.read_text() for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    d = dispatcher(stub.base_url, api_key=key)
    texts += [repr(d.backend()), repr(d.backend_options), str(d.backend_options.model_dump())]
    stub.default = StubResponse.error(403, f"forbidden for {key}")
    with pytest.raises(BackendError) as info:
        await d.generate(ask())
    await d.aclose()
    texts += [str(info.value), repr(info.value), str(info.value.__cause__)]
    out, err = capfd.readouterr()
    texts += [caplog.text, out, err]
    leaks = [t for t in texts if key in t]
    assert not leaks


def test_import_agot_does_not_import_litellm() -> None:
    code = "import sys, agot, agot.backends.litellm_backend; print('litellm' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().lower()) is False


def test_backend_options_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """``extra={"native_schema": False}`` opts an OpenAI-compatible server out of json_schema."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    options = BackendOptions(api_base="http://127.0.0.1:9/v1", extra=extra(native_schema=False))
    backend = resolve_backend(MODEL, options=options)
    assert not backend.capabilities.native_schema
