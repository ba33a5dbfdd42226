"""The one endpoint check (:mod:`agot.endpoints`): what it accepts, what it refuses, and that a
refused endpoint opens no connection at all, whichever flag or argument named it.

Issue #25: ``openai/fake@ftp://...``, ``@htp://``, a missing scheme or ``user:key@`` were not
recognised as endpoints, so the whole string reached litellm, which sent the prompt and
``OPENAI_API_KEY`` to api.openai.com. The guard below fails on any non-loopback connect or name
lookup, and a control case shows it does see the client library's connections.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

from agot.endpoints import check_api_base, check_endpoint, looks_like_endpoint, split_model_endpoint
from agot.errors import ConfigError

PLANTED = "sk-PLANTEDKEY0123456789abcdef"

#: Malformed endpoints after ``@`` in a model string, each of which once reached OpenAI.
BAD = {
    "ftp": "ftp://127.0.0.1:8799/v1",
    "no-scheme": "127.0.0.1:8799/v1",
    "no-scheme-host": "api.example.com/v1",
    "htp": "htp://127.0.0.1:8799/v1",
    "userinfo": f"http://u:{PLANTED}@127.0.0.1:8799/v1",
    "query": f"http://127.0.0.1:8799/v1?key={PLANTED}",
    "bad-port": "http://127.0.0.1:99999/v1",
}


def _loopback(host: object) -> bool:
    return str(host).startswith(("127.", "::1", "localhost"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every non-loopback connect or lookup is recorded and refused (the test then fails)."""
    attempts: list[Any] = []
    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family != getattr(socket, "AF_UNIX", None) and not _loopback(host):
            attempts.append(address)
            raise OSError("test guard: no network")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host):
            attempts.append(host)
            raise socket.gaierror("test guard: no network")
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    return attempts


def _ways_to_name(model: str) -> dict[str, Callable[[], Any]]:
    """Every API path that takes a model string with an endpoint."""
    import agot
    from agot.dispatcher import Dispatcher
    from agot.evals.records import EvalRecord
    from agot.evals.runner import run_eval
    from agot.evals.scorers import JudgeScorer
    from agot.routing import Router

    record = EvalRecord(id="a", dataset="hotpotqa", question="private question?", gold="A")
    return {
        "Dispatcher(model)": lambda: Dispatcher(model),
        "agot.solve": lambda: agot.solve("private question", strategy="direct", model=model),
        "route": lambda: Dispatcher("scripted", router=Router({"assess": model})),
        "escalate_to": lambda: Dispatcher(
            "scripted", router=Router({"assess": "scripted"}, escalate_to=model)
        ),
        "judge": lambda: asyncio.run(
            run_eval(
                "hotpotqa",
                records=[record],
                models=["scripted"],
                scorers=[JudgeScorer(model=model)],
                progress=False,
                save_traces=False,
            )
        ),
    }


@pytest.mark.parametrize("endpoint", list(BAD.values()), ids=list(BAD))
def test_a_malformed_endpoint_opens_no_connection(
    endpoint: str, no_network: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    model = f"openai/fake@{endpoint}"
    for way, make in _ways_to_name(model).items():
        with pytest.raises(ConfigError) as info:
            make()
        assert "invalid endpoint" in str(info.value) or "Port" in str(info.value), way
        assert PLANTED not in str(info.value), way
    for way, make in {
        "api_base": lambda: __import__("agot.dispatcher").dispatcher.Dispatcher(
            "openai/fake", api_base=endpoint
        ),
        "endpoints": lambda: __import__("agot.dispatcher").dispatcher.Dispatcher(
            "openai/fake", endpoints=[endpoint, "http://127.0.0.1:8800/v1"]
        ),
    }.items():
        if "@" not in endpoint.partition("://")[2] and "://" not in endpoint:
            continue  # a bare host:port is no endpoint on its own for these two
        with pytest.raises(ConfigError):
            make()
        assert no_network == [], way
    from agot.cli import main

    assert main(["solve", "private question", "--model", model, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agot: error: --model ") and err.count("\n") == 1, err
    assert PLANTED not in err
    assert no_network == []


def test_the_guard_sees_the_client_librarys_connections(no_network: list[Any]) -> None:
    """Control: a well-formed public endpoint is tried (and refused by the guard), so the
    empty attempt lists above mean no connection, not a blind guard."""
    pytest.importorskip("litellm")
    from agot.dispatcher import Dispatcher
    from agot.errors import AgotError
    from agot.limits import Limits
    from agot.types import GenerationRequest

    async def call() -> None:
        dispatcher = Dispatcher("openai/fake@http://api.example.com/v1", limits=Limits(timeout_s=5))
        try:
            await dispatcher.generate(GenerationRequest.chat("private question"))
        finally:
            await dispatcher.aclose()

    with pytest.raises(AgotError):
        asyncio.run(call())
    assert no_network, "the guard saw no connection attempt"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/x@http://h:8000/v1", ("openai/x", "http://h:8000/v1")),
        ("openai/x@HTTPS://h.example.com/v1/", ("openai/x", "HTTPS://h.example.com/v1")),
        ("openai/x@http://[::1]:8000/v1", ("openai/x", "http://[::1]:8000/v1")),
        ("vertex_ai/claude-3-sonnet@20240229", ("vertex_ai/claude-3-sonnet@20240229", None)),
        ("vertex_ai/m@2024@http://h/v1", ("vertex_ai/m@2024", "http://h/v1")),
        ("my-model@v1.2", ("my-model@v1.2", None)),
        ("local", ("local", None)),
    ],
)
def test_split_keeps_model_names_and_takes_endpoints(
    model: str, expected: tuple[str, str | None]
) -> None:
    assert split_model_endpoint(model) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "the URL is empty"),
        ("ftp://h/v1", "must start with http:// or https://"),
        ("htp://h/v1", "must start with http:// or https://"),
        ("h:8000/v1", "has no scheme; write http://h:8000/v1"),
        ("http:/h/v1", "write http://host"),
        ("http:///v1", "names no host"),
        ("http://h:0/v1", "port 0"),
        ("http://h:99999/v1", "Port out of range"),
        ("http://a b/v1", "no spaces"),
        ("http://u:p@h/v1", "user name or password"),
        ("http://h/v1?api-version=1", "query or fragment"),
        ("http://h/v1#x", "query or fragment"),
    ],
)
def test_check_endpoint_refuses_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=f"^invalid --api-base\\b.*{reason}"):
        check_endpoint(url, what="--api-base")


def test_check_endpoint_refuses_non_strings_and_checks_every_listed_url() -> None:
    with pytest.raises(ConfigError, match="an endpoint is a URL string"):
        check_endpoint(5)
    assert check_api_base(" http://a/v1/ , http://b/v1 ") == "http://a/v1,http://b/v1"
    assert check_api_base("fleet.toml") == "fleet.toml"
    with pytest.raises(ConfigError, match="'ftp://b/v1'"):
        check_api_base("http://a/v1,ftp://b/v1")
    with pytest.raises(ConfigError, match="lists no URL"):
        check_api_base(" , ")


def test_what_reads_as_an_address() -> None:
    for text in ("http://h", "ftp://h", "htp:/h", "//h/v1", "localhost", "h:8000", "h/v1",
                 "10.0.0.1", "api.example.com", "u:k@h.example.com/v1"):  # fmt: skip
        assert looks_like_endpoint(text), text
    for text in ("20240229", "v1.2", "latest", "001", "gpt-4o"):
        assert not looks_like_endpoint(text), text
