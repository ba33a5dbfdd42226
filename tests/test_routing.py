"""Model routing: per-role models, the cascade and its confidence signals (scripted backends).

Two scripted backends stand in for a small local model and a large remote one; every test
checks which model actually served each step, from the trace events.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

import agot
from agot import Dispatcher, GenerationRequest
from agot.backends.registry import split_endpoint
from agot.backends.scripted import ScriptedBackend
from agot.errors import ConfigError
from agot.routing import Router, parse_routes
from agot.testing.agot_scripts import agot_script
from agot.types import BackendReply


def small_and_large(small_script: Any = None) -> tuple[ScriptedBackend, ScriptedBackend]:
    small = ScriptedBackend(small_script or agot_script(fanout=2), model="small")
    large = ScriptedBackend(agot_script(fanout=2), model="large")
    return small, large


def models_by_role(result: agot.Result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for event in result.events:
        out.setdefault(event.role, set()).add(event.model)
    return out


# -- specs --------------------------------------------------------------------------------------
def test_parse_routes_reads_roles_models_and_endpoints():
    routes = parse_routes(
        "decompose=openai/gpt-4o, assess=local,solve=local,final=openai/x@http://127.0.0.1:8/v1"
    )
    assert routes == {
        "decompose": "openai/gpt-4o",
        "assess": "local",
        "solve": "local",
        "final": "openai/x@http://127.0.0.1:8/v1",
    }
    assert parse_routes("") == {} and parse_routes(None) == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("assess", "is not ROLE=MODEL"),
        ("=local", "is not ROLE=MODEL"),
        ("think=local", "unknown role 'think'"),
        ("solve=local,solve=scripted", "given twice"),
        ("solve=", "the model is empty"),
    ],
)
def test_bad_routes_name_the_entry(spec: str, message: str):
    with pytest.raises(ConfigError, match=message):
        parse_routes(spec)


def test_an_at_sign_splits_only_before_an_http_url():
    assert split_endpoint("openai/x@http://h:1/v1") == ("openai/x", "http://h:1/v1")
    assert split_endpoint("vertex_ai/claude-3-sonnet@20240229") == (
        "vertex_ai/claude-3-sonnet@20240229",
        None,
    )


def test_router_options_are_validated():
    with pytest.raises(ConfigError, match="escalate_below"):
        Router(escalate_to="scripted", escalate_below=1.5)
    with pytest.raises(ConfigError, match="keep_local"):
        Router(keep_local="everything")
    with pytest.raises(ConfigError, match="signal"):
        Router(escalate_to="scripted", signal="vibes")
    with pytest.raises(ConfigError, match="need --escalate-to"):
        Router.from_options(None, escalate_below=0.5)
    assert Router.from_options(None) is None
    with pytest.raises(ConfigError, match="models= or router="):
        agot.AGoT(models={"solve": "scripted"}, router=Router())


# -- per-role routing ---------------------------------------------------------------------------
async def test_per_role_routing_sends_each_step_to_its_model_and_splits_usage():
    small, large = small_and_large()
    strategy = agot.AGoT(max_layers=2, max_nodes=2, models={"assess": small, "solve": small})
    result = await strategy.solve("How many legs do 3 spiders have?", model=large)
    assert result.error is None
    by_role = models_by_role(result)
    assert by_role["assess"] == {"small"} and by_role["solve"] == {"small"}
    assert by_role["decompose"] == {"large"} and by_role["final"] == {"large"}
    # both backends really served those calls
    assert {c.request.role for c in small.calls} == {"assess", "solve"}
    assert "solve" not in {c.request.role for c in large.calls}
    # usage per model and per role adds up to the run's usage, and survives the trace file
    per_model = result.usage_by_model
    assert set(per_model) == {"small", "large"}
    assert sum(u.calls for u in per_model.values()) == len(result.events)
    assert sum(u.prompt_tokens for u in per_model.values()) == result.usage.prompt_tokens
    assert sum(u.total_tokens for u in result.usage_by_role.values()) == result.usage.total_tokens
    dumped = json.loads(result.model_dump_json())
    assert dumped["usage_by_model"]["small"]["calls"] == per_model["small"].calls


async def test_a_router_on_the_dispatcher_routes_direct_calls_by_role():
    small, large = ScriptedBackend(model="small"), ScriptedBackend(model="large")
    router = Router({"judge": small})
    async with Dispatcher(large, router=router) as dispatcher:
        judged = await dispatcher.generate(GenerationRequest.chat("fair?", role="judge"))
        other = await dispatcher.generate(GenerationRequest.chat("hi", role="chat"))
        result = await agot.CoT().solve("2+2?", dispatcher=dispatcher)
    assert (judged.model, other.model) == ("small", "large")
    assert result.details["routing"]["routes"] == {"judge": "scripted:small"}


# -- the cascade --------------------------------------------------------------------------------
def confident_small(hard: set[str]) -> Any:
    """A small model that is confident except on ``hard`` thoughts (and says so)."""
    base = agot_script(fanout=2)

    def script(request: GenerationRequest) -> object:
        reply = dict(base(request))  # type: ignore[arg-type]
        if request.role == "solve":
            reply["answer"] = f"small answer of {request.node_id}"
        if "confidence" in (request.output_json_schema() or {}).get("properties", {}):
            unsure = request.role == "solve" and request.node_id in hard
            reply["confidence"] = 0.2 if unsure else 0.95
        return reply

    return script


async def test_cascade_on_self_reported_confidence_escalates_only_unsure_steps():
    small, large = small_and_large(confident_small(hard={"2"}))
    router = Router(
        {"solve": small, "assess": small}, escalate_to=large, escalate_below=0.5, signal="self"
    )
    result = await agot.AGoT(max_layers=1, max_nodes=2, router=router).solve("q", model=large)
    graph = result.thought_graph()
    answers = {n.id: n.answer for n in graph.nodes() if not n.final}
    assert answers == {"1": "small answer of 1", "2": "answer of 2"}  # "2" came from large
    routing = result.details["routing"]
    assert routing["escalated_steps"] == 1 and routing["cascaded_steps"] == 4
    (escalation,) = routing["escalations"]
    assert escalation["node_id"] == "2" and escalation["reason"] == "low confidence"
    assert escalation["confidence"] == pytest.approx(0.2)
    # the strong call depends on the cheap call it replaced
    strong = next(e for e in result.events if e.call_id == escalation["call_id"])
    assert strong.model == "large" and escalation["cheap_calls"][0] in strong.depends_on
    # the cheap model was asked for its confidence in the schema; the large one was not
    asked = [c.request for c in small.calls if c.request.role == "solve"]
    assert all("confidence" in r.output_json_schema()["properties"] for r in asked)
    assert all(
        "confidence" not in (c.request.output_json_schema() or {}).get("properties", {})
        for c in large.calls
    )


async def test_cascade_escalates_a_reply_that_fails_its_schema_after_reasks():
    large = ScriptedBackend(agot_script(fanout=1), model="large")
    small = ScriptedBackend(
        lambda r: "not json" if r.role == "solve" else agot_script(fanout=1)(r), model="small"
    )
    router = Router({"solve": small}, escalate_to=large, signal="schema")
    result = await agot.AGoT(max_depth=0, max_layers=1, max_nodes=1, router=router).solve(
        "q", model=large
    )
    assert result.error is None and not result.errors
    (escalation,) = result.details["routing"]["escalations"]
    assert escalation["reason"] == "schema" and escalation["model"] == "scripted:large"
    failed = [e for e in result.events if e.model == "small"]
    assert failed and failed[0].error and "SchemaError" in failed[0].error
    assert result.thought_graph().node("1").answer == "answer of 1"


async def test_agreement_signal_trusts_consistent_samples_and_escalates_split_ones():
    base = agot_script(fanout=2)

    def sampled(request: GenerationRequest) -> object:
        reply = dict(base(request))  # type: ignore[arg-type]
        if request.role == "solve" and request.node_id == "2":  # hard: samples disagree
            reply["answer"] = f"guess {request.sample_index}"
        return reply

    small, large = small_and_large(sampled)
    router = Router({"solve": small}, escalate_to=large, signal="agree", samples=3)
    result = await agot.AGoT(max_depth=0, max_layers=1, max_nodes=2, router=router).solve(
        "q", model=large
    )
    solves = [c.request for c in small.calls if c.request.role == "solve"]
    assert len(solves) == 6  # three samples per step
    assert {r.sample_index for r in solves} == {0, 1, 2}
    assert all(r.params.temperature >= 0.7 for r in solves)
    (escalation,) = result.details["routing"]["escalations"]
    assert escalation["node_id"] == "2" and escalation["confidence"] == pytest.approx(1 / 3)
    assert len(escalation["cheap_calls"]) == 3


async def test_logprob_signal_uses_the_backend_log_probabilities():
    def small_script(request: GenerationRequest) -> object:
        assert request.logprobs, "the cascade must ask for log-probabilities"
        reply = agot_script(fanout=2)(request)
        mean = math.log(0.9) if request.node_id == "1" else math.log(0.3)
        return BackendReply(text=json.dumps(reply), completion_tokens=5, mean_logprob=mean)

    small, large = small_and_large(small_script)
    router = Router({"solve": small}, escalate_to=large, signal="logprob", escalate_below=0.6)
    result = await agot.AGoT(max_depth=0, max_layers=1, max_nodes=2, router=router).solve(
        "q", model=large
    )
    (escalation,) = result.details["routing"]["escalations"]
    assert escalation["node_id"] == "2" and escalation["confidence"] == pytest.approx(0.3)


async def test_logprob_signal_on_a_backend_without_them_is_a_clear_error():
    small, large = small_and_large()
    router = Router({"solve": small}, escalate_to=large, signal="logprob")
    with pytest.raises(ConfigError, match="no token log-probabilities"):
        await agot.AGoT(max_depth=0, max_layers=1, max_nodes=1, router=router).solve(
            "q", model=large
        )


async def test_self_signal_on_free_text_steps_reads_a_confidence_line():
    small = ScriptedBackend({"answer": "Answer: 4\nConfidence: 0.3"}, model="small")
    large = ScriptedBackend({"answer": "Answer: 5"}, model="large")
    router = Router({"answer": small}, escalate_to=large, escalate_below=0.5)
    result = await agot.CoT(router=router).solve("2+2?", model=large)
    assert result.answer == "5"
    assert "Confidence: P" in small.calls[0].request.messages[-1].content


async def test_logprob_signal_over_http_reads_openai_token_logprobs():
    """litellm asks an OpenAI-compatible server for logprobs and the cascade uses their mean."""
    from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

    def reply(probability: float) -> StubResponse:
        response = StubResponse.chat(json.dumps({"answer": "4"}))
        response.body["choices"][0]["logprobs"] = {
            "content": [
                {"token": t, "logprob": math.log(probability), "bytes": None, "top_logprobs": []}
                for t in ('{"', "answer", '":"', "4", '"}')
            ]
        }
        return response

    with OpenAIStubServer(reply(0.95)) as sure, OpenAIStubServer(reply(0.4)) as unsure:
        large = ScriptedBackend({"answer": "Answer: 5"}, model="large")
        for server, kept in ((sure, "small"), (unsure, "large")):
            router = Router(
                {"solve": f"openai/small@{server.base_url}"},
                escalate_to=large,
                signal="logprob",
                escalate_below=0.6,
            )
            async with Dispatcher(large, router=router) as dispatcher:
                ctx_request = GenerationRequest.chat("2+2?", role="solve")
                gen = await router.generate(dispatcher, ctx_request)
            assert (gen.model == "openai/small") == (kept == "small")
            (body,) = [r.body for r in server.chat_requests[-1:]]
            assert body["logprobs"] is True


def test_llamacpp_token_logprobs_score_each_sampled_token_under_the_raw_logits():
    import numpy as np

    from agot.backends.llamacpp import _TokenLogprobs

    record = _TokenLogprobs()
    first = np.log(np.array([0.7, 0.2, 0.1], dtype=np.single))
    second = np.log(np.array([0.1, 0.1, 0.8], dtype=np.single)) + 5.0  # unnormalised logits
    record(np.array([9, 9], dtype=np.intc), first)  # prompt ends; token 0 gets sampled
    record(np.array([9, 9, 0], dtype=np.intc), second)  # token 2 gets sampled next
    record(np.array([9, 9, 0, 2], dtype=np.intc), first)
    assert record.values == pytest.approx([math.log(0.7), math.log(0.8)], abs=1e-5)
    assert record.mean() == pytest.approx((math.log(0.7) + math.log(0.8)) / 2, abs=1e-5)
    assert _TokenLogprobs().mean() is None


def test_agot_show_names_the_model_of_each_step(tmp_path, capsys):
    from agot.cli import main
    from agot.result import Result

    small, large = small_and_large(confident_small(hard={"2"}))
    router = Router({"solve": small}, escalate_to=large, escalate_below=0.5)
    strategy = agot.AGoT(max_depth=0, max_layers=1, max_nodes=2, router=router)
    result: Result = agot.run_sync(strategy.solve("q", model=large))
    result.save_trace(tmp_path / "trace.json")
    assert main(["show", str(tmp_path / "trace.json")]) == 0
    shown = capsys.readouterr().out
    assert "  small: solve; 2 calls" in shown
    assert "  large: decompose, final, solve; 3 calls" in shown
    assert "cascade: 1 of 2 steps escalated to scripted:large (signal self)" in shown
