"""Error classification and secret redaction of the clients of OpenAI-compatible endpoints (the
direct HTTP client and litellm, each test run with both), over real HTTP (127.0.0.1).

What must not be retried (the server will answer the same, or nothing left this machine) is
reported at once with its real cause; what may clear (408, 409, 429, 5xx) is retried. Keys a
user can put in a URL (user-info, ``?key=``, ``?api_key=``, ``?token=``, ``?sig=``) or in the
environment never reach stdout, stderr, a trace or a result file, even when the server echoes
them back.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agot import Dispatcher, Generation, GenerationRequest, Limits
from agot.backends import resolve_backend
from agot.cli import main
from agot.errors import BackendError, ConfigError
from agot.latency import MIN_SAMPLES
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse
from agot.trace import RunRecorder, recording
from agot.url_secrets import redact_text, redact_url

MODEL = "openai/stub-model"
FAST = Limits(backoff_initial_s=0.01, backoff_max_s=0.05, timeout_s=20, max_retries=2)
CLIENT = "http"


@pytest.fixture(autouse=True, params=["http", "litellm"])
def client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The client this run of a test uses (``extra={"client": ...}``, as ``-M client=``)."""
    monkeypatch.setattr(sys.modules[__name__], "CLIENT", request.param)
    return str(request.param)


def extra() -> dict[str, Any]:
    return {"client": CLIENT}


@pytest.fixture
def stub() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer() as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def attempts_of(base: str, **options: Any) -> tuple[str, int]:
    """The error message and the attempts counted for one failing call."""
    recorder = RunRecorder()
    async with Dispatcher(MODEL, limits=FAST, api_base=base, extra=extra(), **options) as d:
        with recording(recorder), pytest.raises(BackendError) as info:
            await d.generate(GenerationRequest.chat("hi"))
    return str(info.value), recorder.usage.attempts


async def test_connection_refused_is_reported_at_once() -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    message, attempts = await attempts_of(base)
    assert attempts == 1
    assert "connection refused" in message and base in message and "HTTP 500" not in message


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_client_errors_are_not_retried(stub: OpenAIStubServer, status: int) -> None:
    stub.default = StubResponse.error(status, f"nope {status}")
    message, attempts = await attempts_of(stub.base_url)
    assert attempts == 1 == len(stub.chat_requests)
    assert f"HTTP {status}" in message


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
async def test_transient_statuses_are_retried(stub: OpenAIStubServer, status: int) -> None:
    stub.enqueue(StubResponse.error(status, "busy"))
    stub.default = StubResponse.chat("Answer: 4")
    async with Dispatcher(MODEL, limits=FAST, api_base=stub.base_url, extra=extra()) as d:
        generation = await d.generate(GenerationRequest.chat("hi"))
    assert generation.text == "Answer: 4"
    assert generation.usage.attempts == 2 == len(stub.chat_requests)


@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        ("ftp://127.0.0.1/v1", "http:// or https://"),
        ("127.0.0.1:8000/v1", "no scheme"),
        ("http:///v1", "no host"),
        ("http://exa mple.com/v1", "no spaces"),
        ("http://127.0.0.1:99999/v1", "[Pp]ort out of range"),
    ],
)
def test_invalid_api_base_is_a_config_error(base: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        resolve_backend(MODEL, api_base=base, extra=extra())


def test_a_key_headers_cannot_carry_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="non-ASCII"):
        resolve_backend(MODEL, api_base="http://127.0.0.1:9/v1", api_key="sk-é", extra=extra())


def test_redact_url_masks_userinfo_and_every_query_value() -> None:
    url = "https://me:pw@host:8443/v1?key=K1&api_key=K2&token=K3&sig=K4&model=m&Access_Token=K5"
    shown = redact_url(url)
    assert not any(f"K{i}" in shown for i in range(1, 6)) and "pw" not in shown
    assert "model=***" in shown and "host:8443/v1" in shown  # names stay, values go
    assert redact_text(f"failed: {url} (x)").count("***") == 7
    assert redact_url("http://host/v1") == "http://host/v1"


SECRETS = ("SECRET-USERINFO", "SECRET-QUERY-KEY", "SECRET-API-KEY", "SECRET-TOKEN", "SECRET-SIG")


def echo_everything(stub: OpenAIStubServer) -> Any:
    """A server reply that echoes the request's path and headers (servers do)."""

    def reply(body: Any) -> StubResponse:
        last = stub.requests[-1]
        return StubResponse.error(400, f"bad request {last.path} headers {last.headers}")

    return reply


def test_planted_keys_are_written_nowhere(
    stub: OpenAIStubServer,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``agot solve`` and ``agot eval`` run in this process (``main(argv)``, what the console
    script calls): spawning them would pay ``import litellm`` once per run. A base URL with keys
    in its query or user-info is refused before anything connects, its error line masked; over a
    plain one, the server echoes the request's headers (the environment's key among them)
    into its error, and that echo is masked too."""
    stub.default = echo_everything(stub)
    plain = f"http://127.0.0.1:{stub.port}/v1"
    query = "key=SECRET-QUERY-KEY&api_key=SECRET-API-KEY&token=SECRET-TOKEN&sig=SECRET-SIG"
    with_query = f"{plain}?{query}"
    with_userinfo = f"http://user:SECRET-USERINFO@127.0.0.1:{stub.port}/v1?{query}"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-SECRET-ENV-KEY")
    data = tmp_path / "hotpot_dev_distractor_v1.json"
    data.write_text(
        json.dumps(
            [{"_id": "a1", "question": "Q?", "answer": "A", "supporting_facts": [],
              "context": [["T", ["S."]]], "type": "bridge", "level": "easy"}]
        )
    )  # fmt: skip
    codes, errors, written, files = [], [], [], []
    for i, base in enumerate((plain, with_query, with_userinfo)):
        trace, out = tmp_path / f"trace{i}.json", tmp_path / f"run{i}"
        for argv in (
            ["solve", "What is 2 + 2?", "--strategy", "direct", "--model", MODEL,
             "--api-base", base, "-M", f"client={CLIENT}", "--json", "--trace", str(trace),
             "--quiet"],
            ["eval", "hotpotqa", "--data", str(data), "--strategy", "direct",
             "--model", MODEL, "--api-base", base, "-M", f"client={CLIENT}", "--out", str(out),
             "--quiet"],
        ):  # fmt: skip
            codes.append(main(argv))
            stdout, stderr = capfd.readouterr()
            written += [stdout, stderr]
            errors.append(stderr)
        files += [p for p in [trace, *out.rglob("*")] if p.is_file()]
    # plain: solve's call failed (2), eval's every item failed (1); the others: refused (2)
    assert codes == [2, 1, 2, 2, 2, 2]
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in stub.requests]
    assert sent and all("SECRET-ENV-KEY" in h.get("authorization", "") for h in sent)
    assert all("?" not in r.path for r in stub.requests)  # nothing with keys was sent
    assert all("invalid --api-base" in e and "***" in e for e in errors[2:])
    written += [p.read_text() for p in files]
    assert len(files) >= 2
    for text in written:
        for secret in (*SECRETS, "SECRET-ENV-KEY"):
            assert secret not in text


# -- adaptive timeout and hedging over real HTTP ----------------------------------------------


async def generate_behind_a_straggler(
    stub: OpenAIStubServer, limits: Limits, prompt: str
) -> Generation:
    """Warm a dispatcher's latency estimate with quick replies, then send ``prompt`` while the
    server holds its next reply for a minute: what comes back shows how the straggler was cut."""
    import asyncio

    async with Dispatcher(MODEL, limits=limits, api_base=stub.base_url, extra=extra()) as d:
        await asyncio.gather(
            *(d.generate(GenerationRequest.chat(f"w{i}")) for i in range(MIN_SAMPLES))
        )
        straggler = StubResponse.chat("late")
        straggler.delay_s = 60
        stub.enqueue(straggler)
        return await d.generate(GenerationRequest.chat(prompt))


async def test_a_hung_request_is_cut_at_the_learned_timeout(stub: OpenAIStubServer) -> None:
    limits = Limits(timeout_s=120, timeout_floor_s=0.5, backoff_initial_s=0.01)
    generation = await generate_behind_a_straggler(stub, limits, "stuck")
    assert generation.text == "stub reply" and generation.usage.attempts == 2
    assert generation.usage.cancelled == 1  # the cut attempt reached the server
    assert generation.latency_s < 30  # cut near 0.5 s, not at the 120 s ceiling
    assert len(stub.chat_requests) == MIN_SAMPLES + 2


async def test_hedge_duplicates_a_straggler_and_keeps_the_first_reply(
    stub: OpenAIStubServer,
) -> None:
    limits = Limits(hedge=True, timeout_s=120)
    generation = await generate_behind_a_straggler(stub, limits, "slow one")
    assert generation.text == "stub reply"  # the duplicate's reply
    assert generation.usage.calls == 1 and generation.usage.attempts == 2
    assert generation.usage.cancelled == 1  # the straggler, cancelled once the copy answered
    assert generation.latency_s < 30
    assert len(stub.chat_requests) == MIN_SAMPLES + 2
