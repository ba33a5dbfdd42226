"""Privacy mode over real HTTP: context passages never reach a remote model.

Two OpenAI-compatible stub servers on 127.0.0.1 stand in for remote models (each route names
its own endpoint, ``MODEL@URL``); an in-process scripted backend is the local model. A marker
planted in the task's context must show up in local prompts and in no remote request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import agot
from agot import Dispatcher, Limits, Task
from agot.backends.scripted import ScriptedBackend
from agot.routing import WITHHELD, Redactor, Router
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

MARKER = "ZEBRA-CANARY-7731"
CONTEXT = (
    "Passage 1: The Lumen Bridge spans the river Ast in the town of Korvell.\n\n"
    f"Passage 2: Its secret maintenance code is {MARKER}, known only to the town council. "
    "The bridge was finished in 1921."
)
QUESTION = "In which year was the bridge in Korvell finished?"
#: One JSON object that satisfies every AGoT step schema (extra keys are ignored).
UNIVERSAL = {
    "strategy": "look up the bridge",
    "thoughts": [{"title": "find the year", "content": "When was the bridge finished?"}],
    "reasoning": "from the local answers",
    "answer": "1921",
    "justification": "simple",
    "is_complex": False,
    "reason": "enough",
    "can_answer": True,
}


def local_model() -> ScriptedBackend:
    def script(request: agot.GenerationRequest) -> object:
        if request.role == "assess":
            return {"justification": "one lookup", "is_complex": False}
        return {"answer": f"local answer for {request.node_id}: 1921", "reasoning": "read it"}

    return ScriptedBackend(script, model="local-stand-in")


@pytest.fixture
def remotes() -> Iterator[tuple[OpenAIStubServer, OpenAIStubServer]]:
    reply = StubResponse.chat(json.dumps(UNIVERSAL))
    with OpenAIStubServer(reply) as planner, OpenAIStubServer(reply) as writer:
        yield planner, writer


async def run(remotes, keep_local: str | None) -> tuple[agot.Result, ScriptedBackend]:
    planner, writer = remotes
    local = local_model()
    router = Router(
        {
            "decompose": f"openai/planner@{planner.base_url}",
            "final": f"openai/writer@{writer.base_url}",
        },
        keep_local=keep_local,
    )
    strategy = agot.AGoT(max_depth=1, max_layers=1, max_nodes=1)
    async with Dispatcher(local, router=router, limits=Limits(timeout_s=20)) as dispatcher:
        result = await strategy.solve(
            Task(question=QUESTION, context=CONTEXT), dispatcher=dispatcher
        )
    assert result.error is None, result.error
    return result, local


def bodies(server: OpenAIStubServer) -> list[str]:
    return [json.dumps(r.body) for r in server.chat_requests]


async def test_keep_local_context_sends_no_passage_to_a_remote_model(remotes):
    planner, writer = remotes
    result, local = await run(remotes, keep_local="context")
    remote = bodies(planner) + bodies(writer)
    assert len(bodies(planner)) == 1 and len(bodies(writer)) == 1  # each route hit its server
    assert all(MARKER not in body for body in remote)
    assert all("Lumen Bridge" not in body for body in remote)  # nor any other passage text
    # remote steps still get the question, and the final step the local steps' answers
    assert all("bridge in Korvell" in body for body in remote)
    assert "local answer for 1: 1921" in bodies(writer)[0]
    assert all(WITHHELD in body for body in remote)
    # the local model did see the passages
    local_prompts = ["\n".join(m.content for m in c.request.messages) for c in local.calls]
    assert local_prompts and all(MARKER in p for p in local_prompts)
    routing = result.details["routing"]
    assert routing["keep_local"] == "context" and routing["remote_calls"] == 2
    assert routing["withheld_passages"] >= 2
    # the trace shows which model served each step
    assert {e.role: e.model for e in result.events} == {
        "decompose": "openai/planner",
        "assess": "local-stand-in",
        "solve": "local-stand-in",
        "final": "openai/writer",
    }
    # the trace keeps what each remote model was sent: the scrubbed prompt
    remote_events = [e for e in result.events if e.model.startswith("openai/")]
    for event in remote_events:
        sent = json.dumps(event.model_dump(mode="json"))
        assert event.messages and MARKER not in sent and WITHHELD in sent
    local_events = [e for e in result.events if e.model == "local-stand-in"]
    assert all(MARKER in json.dumps(e.model_dump(mode="json")) for e in local_events)


async def test_without_keep_local_the_marker_does_reach_the_remote_models(remotes):
    planner, writer = remotes
    await run(remotes, keep_local=None)
    assert all(MARKER in body for body in bodies(planner) + bodies(writer))


async def test_an_escalated_step_is_scrubbed_too(remotes):
    planner, _ = remotes
    local = ScriptedBackend(
        {"solve": "not json", "decompose": UNIVERSAL, "final": UNIVERSAL},
        model="local-stand-in",
    )
    router = Router(
        escalate_to=f"openai/planner@{planner.base_url}",
        signal="schema",
        escalate_roles=["solve"],
        keep_local="context",
    )
    strategy = agot.AGoT(max_depth=0, max_layers=1, max_nodes=1)
    async with Dispatcher(local, router=router, limits=Limits(timeout_s=20)) as dispatcher:
        result = await strategy.solve(
            Task(question=QUESTION, context=CONTEXT), dispatcher=dispatcher
        )
    assert result.error is None
    (escalation,) = result.details["routing"]["escalations"]
    assert escalation["role"] == "solve" and escalation["reason"] == "schema"
    (body,) = bodies(planner)  # only the escalated step went out
    assert MARKER not in body and "bridge in Korvell" in body


# -- the redactor on its own ----------------------------------------------------------------------
def redactor() -> Redactor:
    return Redactor([CONTEXT], public=[QUESTION])


def test_a_passage_clipped_mid_word_leaves_nothing_behind():
    cut = CONTEXT.index(MARKER) + 5  # inside the marker
    text = f"Context:\n{CONTEXT[:cut]}\n[... clipped to fit the context window]\n\nTask: q"
    out, count = redactor().text(text)
    assert count >= 1 and MARKER[:5] not in out and "Lumen" not in out
    assert out.startswith("Context:\n" + WITHHELD) and out.endswith(
        "[... clipped to fit the context window]\n\nTask: q"
    )


def test_passage_text_quoted_in_an_answer_is_withheld_but_the_question_is_not():
    answer = f"The   SECRET maintenance code is {MARKER}; so the bridge in Korvell dates from 1921."
    out, count = redactor().text(f"{QUESTION}\nknown: {answer}")
    assert MARKER not in out and count == 1
    assert out.startswith(QUESTION)  # words the question shares with a passage stay
    assert "1921" in out  # a short answer is not a copy of the passage


def test_text_that_shares_no_run_of_words_with_a_passage_is_untouched():
    text = "Layer 0: find the year. Answer: 1921, since the bridge opened then."
    assert redactor().text(text) == (text, 0)


def _eval_routed_to_a_stub(tmp_path, monkeypatch, *extra: str):
    """``agot eval hotpotqa --route answer=REMOTE --keep-local context EXTRA`` on a multi-hop
    QA fixture, REMOTE a stub server: the records, their long context sentences, and the
    bodies the server received."""
    import agot.cli
    from agot.evals.datasets import load_dataset

    data = Path(__file__).parent / "fixtures" / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    records = load_dataset("hotpotqa", data=str(data))
    sentences = [
        s.strip()
        for r in records
        for s in (r.context or "").replace("\n", ". ").split(". ")
        if len(s.strip()) > 30
    ]
    assert sentences
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    with OpenAIStubServer(StubResponse.chat("Answer: Amsel River")) as remote:
        args = ["eval", "hotpotqa", "--data", str(data), "--strategy", "cot"]
        args += ["--model", "scripted", "--route", f"answer=openai/remote@{remote.base_url}"]
        args += ["--keep-local", "context", "--out", str(tmp_path / "run"), "--quiet", *extra]
        code = agot.cli.main([a.replace("URL", remote.base_url) for a in args])
        sent = bodies(remote)
    assert code == 0 and len(sent) == len(records)
    return records, sentences, sent


def test_a_server_named_with_local_model_counts_as_local(tmp_path, monkeypatch):
    """#31 item 7: ``--local-model MODEL@URL`` (a llama-server or vLLM on loopback) may see
    the passages that --keep-local keeps from remote models."""
    _, sentences, sent = _eval_routed_to_a_stub(
        tmp_path, monkeypatch, "--local-model", "openai/remote@URL"
    )
    assert all(WITHHELD not in body for body in sent)
    assert any(s in body for body in sent for s in sentences)


def test_local_model_without_keep_local_is_a_clear_error(capsys):
    import agot.cli

    code = agot.cli.main(["solve", "q", "--model", "scripted", "--local-model", "x"])
    err = capsys.readouterr().err
    assert code != 0 and "--local-model" in err and "--keep-local" in err
    assert "Traceback" not in err


def test_eval_keep_local_context_keeps_every_passage_off_the_remote_model(tmp_path, monkeypatch):
    """``agot eval --route answer=REMOTE --keep-local context`` on a multi-hop QA fixture."""
    records, sentences, sent = _eval_routed_to_a_stub(tmp_path, monkeypatch)
    assert all(s not in body for body in sent for s in sentences)
    assert all(WITHHELD in body for body in sent)
    assert any(r.question in body for r in records for body in sent)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["routing"]["keep_local"] == "context"
