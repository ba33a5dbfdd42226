"""AGoT at its best: one call per layer boundary, speculation, full context, exact bounds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from pydantic import BaseModel

import agot
from agot.backends import LatencyModel, ScriptedBackend
from agot.backends.base import Capabilities
from agot.critical_path import longest_chain
from agot.errors import ConfigError
from agot.testing.agot_scripts import agot_script

QUESTION = "Why is the sky blue?"


def top_complex(node_id: str) -> bool:
    return "." not in node_id


def calls_of(backend, role=None):
    return [c.request for c in backend.calls if role is None or c.request.role == role]


def chain(result) -> int:
    return longest_chain(result.events)


@pytest.mark.parametrize(
    ("complex_if", "plain", "speculative"),
    [(lambda n: False, 10, 7), (top_complex, 22, 19)],
    ids=["no-thought-complex", "every-top-thought-complex"],
)
async def test_longest_chain_at_the_paper_setting(complex_if, plain, speculative):
    # N=3, d=1, L=3 and no early stop: the chain of calls each needing the previous one
    for speculate, expected in ((False, plain), (True, speculative)):
        backend = ScriptedBackend(agot_script(fanout=3, complex_if=complex_if))
        result = await agot.AGoT(speculate=speculate).solve(QUESTION, model=backend)
        assert chain(result) == expected
        assert result.answer == "final of final"


async def test_speculation_makes_the_same_decisions_with_the_same_prompts():
    def solve(speculate):
        backend = ScriptedBackend(
            agot_script(fanout=2, complex_if=lambda n: n == "2"), latency=LatencyModel(0.01)
        )
        return backend, agot.AGoT(max_layers=2, max_nodes=2, speculate=speculate).solve(
            QUESTION, model=backend
        )

    plain_backend, plain = solve(False)
    spec_backend, spec = solve(True)
    plain, spec = await plain, await spec
    assert spec.thought_graph().to_json()["nodes"].__len__() == len(plain.graph["nodes"])
    assert spec.answer == plain.answer

    def answers(result):
        return {n.id: (n.answer, n.complex) for _, n in result.thought_graph().walk()}

    assert answers(spec) == answers(plain)
    used = {e.call_id for e in spec.events if not e.discarded}
    kept = sorted(
        (c.request.role, c.request.node_id, c.request.messages)
        for c, e in zip(spec_backend.calls, _events_by_call(spec, spec_backend), strict=True)
        if e is not None and e.call_id in used
    )
    assert kept == sorted((r.role, r.node_id, r.messages) for r in calls_of(plain_backend))
    # the complex thought's speculative answer was thrown away; the simple ones' proposals too
    wasted = {(e.role, e.node_id) for e in spec.events if e.discarded}
    assert ("solve", "2") in wasted
    assert ("decompose", "1.layer0") in wasted and ("decompose", "3.layer0") in wasted
    assert all(e.speculative for e in spec.events if e.discarded)
    figures = spec.details["figures"]
    assert figures["wasted_calls"] == len(wasted) and figures["speculative_calls"] >= len(wasted)
    assert spec.thought_graph().node("2").answer == "final of 2.final"


def _events_by_call(result, backend):
    """The trace event of each backend call, matched on role, node and order."""
    pending: dict[tuple[str, str | None], list] = {}
    for event in result.events:
        pending.setdefault((event.role, event.node_id), []).append(event)
    out = []
    for call in backend.calls:
        queue = pending.get((call.request.role, call.request.node_id), [])
        out.append(queue.pop(0) if queue else None)
    return out


async def test_losing_speculative_calls_are_cancelled_and_traced():
    slow_solve = agot_script(fanout=2, complex_if=lambda n: True)

    class Slow(ScriptedBackend):
        async def generate(self, request):
            if request.role == "solve" and request.speculative:
                await asyncio.sleep(5)  # far longer than the assessment: must be cancelled
            return await super().generate(request)

    backend = Slow(slow_solve, latency=LatencyModel(0.01))
    result = await agot.AGoT(max_layers=1, max_nodes=2, speculate=True).solve(
        QUESTION, model=backend
    )
    assert result.wall_s < 4
    cancelled = [e for e in result.events if e.error == "cancelled"]
    assert {e.node_id for e in cancelled} == {"1", "2"}
    assert all(e.discarded and e.speculative and e.role == "solve" for e in cancelled)
    assert result.usage.calls == len(result.events) - len(cancelled)


async def test_task_rules_and_inputs_reach_every_step():
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: n == "2"))
    task = agot.Task(
        question="Make 24 from 4 7 8 8.",
        context="PASSAGE-MARKER about numbers",
        answer_format="RULE-MARKER: use each number exactly once.",
    )
    await agot.AGoT(max_layers=2, max_nodes=2).solve(task, model=backend)
    prompts = [r.messages[-1].content for r in calls_of(backend)]
    assert len(prompts) > 8
    for prompt in prompts:
        assert "Make 24 from 4 7 8 8." in prompt
        assert "RULE-MARKER: use each number exactly once." in prompt
        assert "PASSAGE-MARKER" in prompt


async def test_assessment_sees_the_graph_and_ancestor_answers():
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: False))
    await agot.AGoT(max_layers=2, max_nodes=2).solve(QUESTION, model=backend)
    layer1 = [r for r in calls_of(backend, "assess") if r.node_id == "3"]
    prompt = layer1[0].messages[-1].content
    assert "answer of 1" in prompt and "answer of 2" in prompt  # ancestors' answers
    assert prompt.count("answer of 1") == 1  # in the known block, not again in the graph
    # Its layer as written up to it: the sibling written after it is not shown, so a thought
    # read from a proposal still being streamed gets the same prompt.
    assert "step step step 1.0" in prompt and "step step step 1.1" not in prompt
    sibling = next(r for r in calls_of(backend, "assess") if r.node_id == "4")
    assert "step step step 1.0" in sibling.messages[-1].content


async def test_nested_graph_sees_the_parent_graphs_answers():
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: n == "3"))
    await agot.AGoT(max_layers=3, max_nodes=2).solve(QUESTION, model=backend)
    nested = [r for r in calls_of(backend) if (r.node_id or "").startswith("3.")]
    assert nested
    for request in nested:
        prompt = request.messages[-1].content
        assert "sub-problem within: the task above" in prompt
        assert prompt.count("Why is the sky blue?") == 1  # the task block says it
        # Each answer of the top-level graph once: thought 3 builds on 1 and 2, whose answers
        # its nested prompts give under "Known from", so the heritage lists them without.
        assert prompt.count("answer of 1") == 1 and prompt.count("answer of 2") == 1


async def test_prompts_stay_inside_a_small_window_with_long_contexts():
    window = Capabilities(native_schema=True, max_context=8192, default_concurrency=4)
    backend = ScriptedBackend(agot_script(fanout=3, complex_if=top_complex), capabilities=window)
    task = agot.Task(question="Who?", context="lorem ipsum dolor " * 20_000)
    await agot.AGoT().solve(task, model=backend)
    longest = max(sum(len(m.content) for m in r.messages) for r in calls_of(backend))
    assert longest < 8192 * 3  # ~3 characters a token, with room for the reply
    assert any("clipped to fit" in r.messages[-1].content for r in calls_of(backend))


async def test_answer_steps_have_reasoning_and_caps_only_under_a_grammar():
    roomy = ScriptedBackend(agot_script(fanout=1))
    await agot.AGoT(max_layers=1, max_nodes=1).solve(QUESTION, model=roomy)
    compact = ScriptedBackend(
        agot_script(fanout=1),
        capabilities=Capabilities(native_schema=True, max_context=4096, default_concurrency=1),
    )
    await agot.AGoT(max_layers=1, max_nodes=1).solve(QUESTION, model=compact)
    for backend, capped in ((roomy, False), (compact, True)):
        for role in ("solve", "final"):
            schema = calls_of(backend, role)[0].output_schema.model_json_schema()
            assert "reasoning" in schema["properties"]
            assert ("maxLength" in schema["properties"]["reasoning"]) is capped
        tokens = calls_of(backend, "final")[0].params.max_tokens
        assert tokens == (384 if capped else 1024)


class Verdict(BaseModel):
    city: str
    confidence: float


async def test_final_schema_gives_a_validated_instance():
    def script(request):
        if request.role == "final":
            return {"reasoning": "r", "answer": {"city": "Paris", "confidence": 0.9}}
        return agot_script(fanout=1)(request)

    result = await agot.AGoT(max_layers=1, max_nodes=1, final_schema=Verdict).solve(
        "Capital of France?", model=ScriptedBackend(script)
    )
    assert isinstance(result.parsed, Verdict) and result.parsed.city == "Paris"
    assert Verdict.model_validate_json(result.answer) == result.parsed
    with pytest.raises(ConfigError, match="final_schema"):
        agot.AGoT(final_schema=dict)


async def test_thought_cap_holds_under_latency_and_concurrent_proposals():
    # 20 nested graphs propose at once, 50 ms each: the cap is checked as thoughts are added
    backend = ScriptedBackend(
        agot_script(fanout=20, complex_if=top_complex), latency=LatencyModel(fixed_s=0.05)
    )
    strategy = agot.AGoT(max_depth=1, max_layers=3, max_nodes=20, max_thoughts=25)
    result = await strategy.solve(QUESTION, model=backend)
    thoughts = [n for _, n in result.thought_graph().walk() if not n.final]
    assert len(thoughts) == 25 == result.details["figures"]["thoughts"]
    assert sum(1 for r in calls_of(backend, "decompose") if r.node_id.endswith("layer0")) > 5


@pytest.mark.parametrize("max_calls", [5, 20, 40])
async def test_top_synthesis_keeps_its_reserved_call_under_nested_graphs(max_calls):
    backend = ScriptedBackend(
        agot_script(fanout=3, complex_if=lambda n: True), latency=LatencyModel(0.01)
    )
    result = await agot.AGoT(max_depth=2).solve(
        QUESTION, model=backend, budget=agot.Budget(max_calls=max_calls)
    )
    assert result.usage.calls <= max_calls
    top = [e for e in result.events if e.node_id == "final"]
    assert len(top) == 1 and top[0].error is None
    assert result.answer == "final of final"
    assert result.stopped and "call budget" in result.stopped


async def test_wall_budget_still_ends_with_the_top_synthesis():
    backend = ScriptedBackend(
        agot_script(fanout=3, complex_if=lambda n: True), latency=LatencyModel(fixed_s=0.2)
    )
    result = await agot.AGoT().solve(QUESTION, model=backend, budget=agot.Budget(max_wall_s=1))
    assert result.answer == "final of final"
    assert result.stopped and "wall-time" in result.stopped
    assert result.wall_s < 1.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_layers": 1_000_000_000}, "max_layers"),
        ({"max_depth": 99}, "max_depth"),
        ({"max_nodes": 33}, "max_nodes"),
        ({"max_thoughts": 0}, "max_thoughts"),
        ({"max_thoughts": 10**12}, "max_thoughts"),
        ({"step_tokens": {"check": 10}}, "step_tokens"),
    ],
)
def test_numeric_options_have_upper_bounds(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        agot.AGoT(**kwargs)


def test_self_consistency_samples_are_bounded():
    with pytest.raises(ConfigError, match="samples"):
        agot.SelfConsistency(n=1_000_000_000)


@pytest.mark.parametrize(
    "flags",
    [
        ["--max-layers", "1000000000"],
        ["--max-thoughts", "0"],
        ["--strategy", "sc", "--samples", "1000000000"],
    ],
)
def test_cli_rejects_out_of_range_options(flags):
    out = subprocess.run(
        [sys.executable, "-m", "agot.cli", "solve", "q", "--model", "scripted", *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("agot: error:") and "Traceback" not in out.stderr


def test_cli_speculate_flag(tmp_path):
    cmd = [sys.executable, "-m", "agot.cli", "solve", "What is 2+2?", "--model", "scripted"]
    out = subprocess.run(
        [*cmd, "--speculate", "--max-thoughts", "4", "--json", "--quiet"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    figures = json.loads(out.stdout)["graph"]
    assert figures["speculative_calls"] > 0 and figures["thoughts"] <= 4


async def test_a_budget_stop_during_speculation_leaves_no_call_running():
    backend = ScriptedBackend(
        agot_script(fanout=3, complex_if=top_complex), latency=LatencyModel(0.02)
    )
    result = await agot.AGoT(speculate=True).solve(
        QUESTION, model=backend, budget=agot.Budget(max_calls=6)
    )
    assert result.usage.calls <= 6 and result.answer == "final of final"
    await asyncio.sleep(0.1)
    assert len(backend.calls) == len(result.events)  # nothing finished after the run returned


async def test_speculative_holds_are_released_when_the_assessment_is_refused():
    from agot.controller.engine import Engine

    backend = ScriptedBackend(agot_script(fanout=1, complex_if=top_complex))
    engines: list[Engine] = []
    original = Engine._speculative

    async def refused(*args, **kwargs):
        raise agot.BudgetExceeded("refused for the test")  # before any await: tasks not started

    async def spy(self, *args):
        engines.append(self)
        self._assess = refused
        await original(self, *args)

    Engine._speculative = spy
    try:
        await agot.AGoT(max_layers=1, max_nodes=1, speculate=True).solve(QUESTION, model=backend)
    finally:
        Engine._speculative = original
    assert engines and engines[0].spending.reserved == 0
    assert [c.request.role for c in backend.calls] == ["decompose", "final"]


async def test_graph_level_steps_ask_for_queue_priority():
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=top_complex))
    await agot.AGoT(max_layers=2, max_nodes=2, speculate=True).solve(QUESTION, model=backend)
    for request in calls_of(backend):
        graph_step = request.role in ("decompose", "final") and not request.speculative
        assert (request.priority == 1) is graph_step


async def test_a_layer_that_must_grow_is_asked_again_when_every_thought_is_debris():
    """A small model under a grammar sometimes fills each field of its proposal with JSON
    debris; without early stopping that layer must still grow, so the reply is re-asked."""
    junk = {"strategy": "}", "thoughts": [{"title": "},{", "content": "},{", "parents": [1]}]}
    asked = {"layer1": 0}

    def script(request):
        if request.role == "decompose" and request.node_id == "layer1":
            asked["layer1"] += 1
            if asked["layer1"] == 1:
                return junk
        return agot_script(fanout=1)(request)

    backend = ScriptedBackend(script)
    result = await agot.AGoT(max_depth=0, max_layers=2, max_nodes=1, early_stop=False).solve(
        QUESTION, model=backend
    )
    graph = result.thought_graph()
    assert graph.layers == 2 and asked["layer1"] == 2 and result.errors == []
    assert [n.layer for n in graph.nodes() if not n.final] == [0, 1]
    assert len(calls_of(backend, "decompose")) == 3  # layer 0, layer 1 and its re-ask


async def test_json_debris_is_stripped_where_the_graph_stores_model_text():
    def script(request):
        if request.role == "decompose":
            return {
                "strategy": "s",
                "thoughts": [
                    {"title": "} {", "content": "count the sheep }", "parents": []},
                    {"title": "]", "content": ", ]", "parents": []},
                ],
            }
        if request.role == "solve":
            return {"reasoning": "r", "answer": "17 sheep }"}
        return {"reasoning": "r", "answer": '"9"}'}

    result = await agot.AGoT(max_depth=0, max_layers=1).solve(
        QUESTION, model=ScriptedBackend(script)
    )
    graph = result.thought_graph()
    thoughts = [n for n in graph.nodes() if not n.final]
    assert [(n.title, n.question, n.answer) for n in thoughts] == [
        ("count the sheep", "count the sheep", "17 sheep")
    ]
    assert result.answer == "9"


def test_cli_no_early_stop_grows_every_layer(tmp_path):
    """A model that declares the graph ready whenever it may: by default the graph stops after
    its first layer; with --no-early-stop the proposal is not offered the stop and every layer
    grows (solve and eval both take the flag)."""
    table = tmp_path / "ready.json"
    ready = {"strategy": "settled", "ready": True, "thoughts": []}
    table.write_text(json.dumps({"decompose:set ready to true": ready}))
    model = f"scripted/{table}"
    cmd = [sys.executable, "-m", "agot.cli", "solve", "What is 2+2?", "--model", model]
    shape = ["--max-depth", "0", "--max-layers", "3", "--max-nodes", "1", "--json", "--quiet"]

    def layers(*flags):
        out = subprocess.run(
            [*cmd, *shape, *flags], capture_output=True, text=True, check=True, timeout=60
        )
        return json.loads(out.stdout)["graph"]["layers"]

    assert layers() == 1
    assert layers("--no-early-stop") == 3
    refused = subprocess.run(
        [*cmd, "--strategy", "cot", "--no-early-stop"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "--no-early-stop" in refused.stderr

    from agot.cli import build_parser
    from agot.cli.eval import build_config

    args = build_parser().parse_args(
        ["eval", "hotpotqa", "--strategy", "agot", "--no-early-stop", "--model", "scripted"]
    )
    config = build_config(args)
    assert config.per_strategy_params["agot"] == {"early_stop": False}
