"""Usage counts every request a server received, with the prompt tokens it carried.

AGoT with ``speculate`` starts a thought's answer and its nested graph's first proposal beside
its assessment and cancels the loser; on a real server the cancelled request still arrived and
its prompt was still read. These tests run AGoT over HTTP against a stub that replies to the
assessment fast and to everything else slowly (so every loser is cancelled in flight), count
prompt tokens on the server by one fixed rule, and compare with what ``Result.usage`` says.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

import agot
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

QUESTION = "Which two steps does this plan need, and what do they give together?"


def server_prompt_tokens(body: dict[str, Any]) -> int:
    """The stub's tokenizer: a token per four characters of message text (rounded up)."""
    return math.ceil(sum(len(m["content"]) for m in body["messages"]) / 4)


def agot_reply(body: dict[str, Any]) -> StubResponse:
    """AGoT's steps answered by their prompts: two first thoughts, the first of them complex,
    nested graphs of one thought; assessments come back at once, every other step slowly."""
    prompt = body["messages"][-1]["content"]
    delay = 0.5
    if "Break this into at most" in prompt:
        nested = "Current sub-problem" in prompt
        count = 1 if nested else 2
        reply: dict[str, Any] = {
            "strategy": "split it",
            "thoughts": [
                {"title": f"step {i}", "content": f"work out part {i}", "parents": []}
                for i in range(1, count + 1)
            ],
        }
    elif "Propose at most" in prompt:
        reply = {"strategy": "the answers settle it", "ready": True, "thoughts": []}
    elif "Is this thought complex" in prompt:
        nested = "Current sub-problem" in prompt
        reply = {"justification": "j", "is_complex": "Thought 1:" in prompt and not nested}
        delay = 0.02
    elif "Work out this thought" in prompt:
        reply = {"reasoning": "r", "answer": "a part"}
    else:
        reply = {"reasoning": "r", "answer": "both parts"}
    response = StubResponse.chat(
        json.dumps(reply), prompt_tokens=server_prompt_tokens(body), completion_tokens=5
    )
    response.delay_s = delay
    return response


@pytest.mark.parametrize("client", ["http", "litellm"])
@pytest.mark.parametrize("speculate", [False, True], ids=["plain", "speculate"])
async def test_usage_matches_what_the_server_received(speculate, client):
    with OpenAIStubServer() as server:
        server.default = agot_reply
        strategy = agot.AGoT(max_depth=1, max_layers=2, max_nodes=2, speculate=speculate)
        result = await strategy.solve(
            QUESTION,
            model="openai/stub-model",
            api_base=server.base_url,
            extra={"client": client},
        )
        received = server.chat_requests
    assert result.answer == "both parts" and not result.errors
    assert {e.backend for e in result.events} == {"openai-http" if client == "http" else "litellm"}
    usage = result.usage
    served_tokens = sum(server_prompt_tokens(r.body) for r in received)
    # Every request the server got is an attempt, and either a call or a cancelled one.
    assert usage.attempts == len(received)
    assert usage.calls + usage.cancelled == len(received)
    cancelled_events = [e for e in result.events if e.error == "cancelled"]
    assert usage.cancelled == sum(e.cancelled for e in cancelled_events)
    if speculate:
        # Each of the two thoughts had one loser: the complex one its answer, the simple one its
        # nested proposal (the nested graph's own thought is a leaf). A loser still in flight
        # is cancelled (slow replies make that the rule); one that finished first is a call.
        losers = [e for e in result.events if e.discarded]
        assert len(losers) == 2 and all(e.speculative for e in losers)
        assert usage.cancelled >= 1 and cancelled_events == [e for e in losers if e.error]
    else:
        assert usage.cancelled == 0
    # Cancelled requests' tokens are counted locally at the rate the replies showed: off by at
    # most a token each from the server's own count; replies are counted exactly.
    assert abs(usage.prompt_tokens - served_tokens) <= usage.cancelled
    by_role = result.usage_by_role
    assert sum(u.cancelled for u in by_role.values()) == usage.cancelled
    assert sum(u.calls for u in by_role.values()) == usage.calls


async def test_cancelled_requests_show_in_the_summary_report_and_viewer(tmp_path, capsys):
    """An eval of speculative AGoT: its rows' usage sums to what the server received, and the
    summary table, ``agot report`` and ``agot view`` say how many requests were cancelled."""
    from starlette.testclient import TestClient

    from agot.cli import main
    from agot.evals import EvalRecord, run_eval
    from agot.view.app import create_app
    from agot.view.data import Catalog

    records = [EvalRecord(id=f"q{i}", dataset="hotpotqa", question=QUESTION, gold="both parts")
               for i in range(2)]  # fmt: skip
    out = tmp_path / "run"
    with OpenAIStubServer() as server:
        server.default = agot_reply
        strategy = agot.AGoT(max_depth=1, max_layers=2, max_nodes=2, speculate=True)
        summary = await run_eval(
            "hotpotqa",
            records=records,
            strategies=[strategy],
            models=["openai/stub-model"],
            api_base=server.base_url,
            out=str(out),
            progress=False,
        )
        received = len(server.chat_requests)
    usage = summary.groups[0].usage
    n = usage.cancelled  # 4 losers, nearly always all in flight (see agot_reply)
    assert n >= 1 and usage.attempts == received == usage.calls + n
    assert f"+{n} cancelled" in summary.table()
    assert main(["report", str(out)]) == 0
    assert f"+{n} requests cancelled in flight" in capsys.readouterr().out
    client = TestClient(create_app(Catalog([tmp_path])), base_url="http://127.0.0.1:7576")
    assert f"(+{n} cancelled)" in client.get(f"/run/{out.name}").text
