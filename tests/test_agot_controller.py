"""Control flow of the AGoT controller, on the scripted backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import agot
from agot.backends import LatencyModel, ScriptedBackend
from agot.errors import BackendError, ConfigError
from agot.graph import ThoughtGraph
from agot.limits import Limits
from agot.prompts.agot_context import graph_text
from agot.testing.agot_scripts import agot_script


def run(strategy, backend, **kw):
    return strategy.solve("Why is the sky blue?", model=backend, **kw)


def requests_of(backend, role):
    return [c.request for c in backend.calls if c.request.role == role]


async def test_layers_and_dependencies():
    backend = ScriptedBackend(agot_script(fanout=2))
    result = await run(agot.AGoT(max_depth=0, max_layers=3, max_nodes=2), backend)
    graph = result.thought_graph()
    assert [len(graph.layer(i)) for i in range(3)] == [2, 2, 2]
    for node in graph.layer(1):
        assert {p.id for p in graph.parents(node.id)} == {"1", "2"}
    for node in graph.layer(2):
        assert {p.id for p in graph.parents(node.id)} == {"1", "2", "3", "4"}
    final = graph.node(graph.final_id)
    assert {p.id for p in graph.parents(final.id)} == {str(i) for i in range(1, 7)}
    assert result.answer == "final of final"
    # depth 0 allowed: nothing is assessed, everything answered directly
    assert requests_of(backend, "assess") == []
    assert len(requests_of(backend, "solve")) == 6
    # one call per layer boundary: the next-layer proposal also decides readiness
    assert len(requests_of(backend, "decompose")) == 3
    assert {c.request.role for c in backend.calls} == {"decompose", "solve", "final"}


async def test_solve_prompts_carry_ancestor_answers():
    backend = ScriptedBackend(agot_script(fanout=2))
    await run(agot.AGoT(max_depth=0, max_layers=2, max_nodes=2), backend)
    layer1 = [r for r in requests_of(backend, "solve") if r.node_id in ("3", "4")]
    assert layer1 and all("answer of 1" in r.messages[-1].content for r in layer1)
    layer0 = [r for r in requests_of(backend, "solve") if r.node_id in ("1", "2")]
    assert all("answer of" not in r.messages[-1].content for r in layer0)


async def test_recursion_into_nested_graph_and_back():
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: n == "2"))
    result = await run(agot.AGoT(max_depth=1, max_layers=3, max_nodes=2), backend)
    graph = result.thought_graph()
    assert set(graph.subgraphs) == {"2"}
    sub = graph.subgraphs["2"]
    assert sub.depth == 1 and sub.heritage == [graph.question]
    assert sub.layers == 2  # layer depth reduction: L - depth
    node2 = graph.node("2")
    assert node2.complex is True and node2.answer == sub.answer == "final of 2.final"
    assert all(n.id.startswith("2.") for n in sub.nodes())
    # nested thoughts sit at the depth limit: answered directly, never assessed
    assessed = {r.node_id for r in requests_of(backend, "assess")}
    assert assessed and not any("." in n for n in assessed)
    # the nested graph's first proposal knows its heritage
    nested_first = next(r for r in requests_of(backend, "decompose") if r.node_id == "2.layer0")
    prompt = nested_first.messages[-1].content
    assert "sub-problem within: the task above" in prompt
    assert prompt.count("Why is the sky blue?") == 1  # in the task block only
    # the parent's dependants consumed the nested final answer
    node3 = next(r for r in requests_of(backend, "solve") if r.node_id == "3")
    assert "final of 2.final" in node3.messages[-1].content
    assert result.details["figures"]["depth_reached"] == 1


async def test_next_layer_proposal_can_declare_the_graph_ready():
    backend = ScriptedBackend(agot_script(fanout=2, answer_at_layer=0))
    result = await run(agot.AGoT(max_depth=0, max_layers=3, max_nodes=2), backend)
    graph = result.thought_graph()
    assert graph.layers == 1
    assert len(requests_of(backend, "decompose")) == 2  # layer 0, then "ready"
    assert result.answer == "final of final"
    assert graph.strategies[1] == "the answers settle it"
    # without early stopping the same model grows every layer
    backend = ScriptedBackend(agot_script(fanout=2, answer_at_layer=0))
    result = await run(agot.AGoT(max_depth=0, max_layers=3, max_nodes=2, early_stop=False), backend)
    assert result.thought_graph().layers == 3
    later = [r for r in requests_of(backend, "decompose") if r.node_id != "layer0"]
    assert later and all("set ready" not in r.messages[-1].content for r in later)


async def test_adversarial_model_stays_within_structural_bounds():
    script = agot_script(fanout=10, complex_if=lambda n: True)
    backend = ScriptedBackend(script)
    result = await run(agot.AGoT(max_depth=2, max_layers=3, max_nodes=3), backend)
    graph = result.thought_graph()
    for g, node in graph.walk():
        assert len(g.layer(node.layer)) <= 3 or node.final
        assert g.depth <= 2
        assert g.layers <= 3 - g.depth
    assert result.details["figures"]["depth_reached"] == 2
    assert result.answer is not None


async def test_adversarial_model_stops_within_call_budget_with_partial_answer():
    backend = ScriptedBackend(agot_script(fanout=10, complex_if=lambda n: True))
    budget = agot.Budget(max_calls=25)
    result = await run(agot.AGoT(max_depth=3, max_layers=4, max_nodes=5), backend, budget=budget)
    assert result.usage.calls <= 25
    assert len(backend.calls) <= 25
    assert result.stopped and "call budget" in result.stopped
    assert result.answer is not None  # synthesis from what it has, or the best thought
    statuses = {n.status for _, n in result.thought_graph().walk()}
    assert "skipped" in statuses or result.usage.calls == 25


async def test_total_thought_cap():
    backend = ScriptedBackend(agot_script(fanout=10, complex_if=lambda n: True))
    result = await run(agot.AGoT(max_depth=2, max_layers=3, max_nodes=3, max_thoughts=5), backend)
    thoughts = [n for _, n in result.thought_graph().walk() if not n.final]
    assert len(thoughts) == 5 == result.details["figures"]["thoughts"]
    assert result.stopped and "thought budget" in result.stopped
    assert all(n.status == "answered" for n in thoughts)  # made thoughts still get answered


async def test_token_and_wall_budgets_stop_cleanly():
    backend = ScriptedBackend(agot_script(fanout=3, complex_if=lambda n: True))
    result = await run(agot.AGoT(max_depth=2), backend, budget=agot.Budget(max_tokens=800))
    assert result.stopped and "token budget" in result.stopped
    slow = ScriptedBackend(
        agot_script(fanout=3, complex_if=lambda n: True), latency=LatencyModel(fixed_s=0.05)
    )
    result = await run(agot.AGoT(max_depth=2), slow, budget=agot.Budget(max_wall_s=0.3))
    assert result.stopped and "wall-time" in result.stopped
    assert result.wall_s < 2.0


async def test_failed_node_is_marked_and_dependants_see_it():
    base = agot_script(fanout=2)

    def script(request):
        if request.role == "solve" and request.node_id == "1":
            return BackendError("model crashed", backend="scripted")
        return base(request)

    backend = ScriptedBackend(script)
    result = await run(agot.AGoT(max_depth=0, max_layers=2, max_nodes=2), backend)
    graph = result.thought_graph()
    assert graph.node("1").status == "failed" and "model crashed" in graph.node("1").error
    assert graph.node("2").status == "answered"
    dependant = next(r for r in requests_of(backend, "solve") if r.node_id == "3")
    assert "(failed: no answer available)" in dependant.messages[-1].content
    assert result.answer == "final of final" and result.error is None
    assert any("thought 1" in e for e in result.errors)


async def test_transient_errors_are_retried_not_failed():
    base = agot_script(fanout=2)
    seen: set[str] = set()

    def script(request):
        if request.role == "solve" and request.node_id not in seen:
            seen.add(request.node_id)
            return agot.TransientBackendError("overloaded", status=503, retry_after=0)
        return base(request)

    backend = ScriptedBackend(script)
    result = await run(
        agot.AGoT(max_depth=0, max_layers=1, max_nodes=2), backend, limits=Limits(max_retries=2)
    )
    assert all(n.status == "answered" for n in result.thought_graph().nodes())
    assert sorted(e.attempts for e in result.events if e.role == "solve") == [2, 2]


async def test_malformed_reply_is_reasked():
    base = agot_script(fanout=2)
    state = {"first": True}

    def script(request):
        if request.role == "decompose" and state["first"]:
            state["first"] = False
            return '{"strategy": "oops", "thoughts": '
        return base(request)

    backend = ScriptedBackend(script)
    result = await run(agot.AGoT(max_depth=0, max_layers=1, max_nodes=2), backend)
    propose = next(e for e in result.events if e.role == "decompose")
    assert propose.attempts == 2
    assert len(result.thought_graph().layer(0)) == 2


async def test_unknown_and_same_layer_parents_are_dropped():
    def script(request):
        if request.role == "decompose" and request.node_id == "layer0":
            return {
                "strategy": "s",
                "thoughts": [
                    {"title": "a", "content": "a", "parents": [7]},
                    {"title": "b", "content": "b", "parents": [1]},
                ],
            }
        return agot_script()(request)

    result = await run(agot.AGoT(max_depth=0, max_layers=1), ScriptedBackend(script))
    graph = result.thought_graph()
    assert graph.parents("1") == [] and graph.parents("2") == []


async def test_independent_calls_overlap_in_time():
    backend = ScriptedBackend(
        agot_script(fanout=3, complex_if=lambda n: n in ("1", "2")),
        latency=LatencyModel(fixed_s=0.05),
    )
    result = await run(agot.AGoT(max_depth=1, max_layers=2, max_nodes=3), backend)
    first_layer = [e for e in result.events if e.role == "assess" and e.node_id in "123"]
    assert len(first_layer) == 3
    assert max(e.start for e in first_layer) < min(e.end for e in first_layer)
    # the two nested graphs ran at the same time
    nested = [e for e in result.events if (e.node_id or "").startswith(("1.", "2."))]
    one = [e for e in nested if e.node_id.startswith("1.")]
    two = [e for e in nested if e.node_id.startswith("2.")]
    assert min(e.start for e in two) < max(e.end for e in one)
    # and the simple third thought was solved while they ran, not after them
    (solve3,) = [e for e in result.events if e.role == "solve" and e.node_id == "3"]
    assert solve3.start < max(e.end for e in nested)


async def test_trace_dependencies_and_critical_path():
    backend = ScriptedBackend(agot_script(fanout=2), latency=LatencyModel(fixed_s=0.02))
    result = await run(agot.AGoT(max_depth=0, max_layers=2, max_nodes=2), backend)
    by_id = {e.call_id: e for e in result.events}
    proposals = [e for e in result.events if e.role == "decompose"]
    for event in result.events:
        for dep in event.depends_on:
            assert by_id[dep].end <= event.start  # a consumed output existed already
    solves = [e for e in result.events if e.role == "solve" and e.node_id in ("1", "2")]
    assert all(proposals[0].call_id in e.depends_on for e in solves)
    assert {e.call_id for e in solves} <= set(proposals[1].depends_on)
    figures = result.details["figures"]
    assert figures["critical_path_calls"] == 5  # propose, solve, propose, solve, final
    assert figures["critical_path_s"] <= figures["wall_s"] + 1e-6


async def test_graph_json_round_trip_with_nesting(tmp_path):
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: n == "1"))
    result = await run(agot.AGoT(max_depth=1, max_layers=2, max_nodes=2), backend)
    graph = result.thought_graph()
    again = ThoughtGraph.from_json(json.loads(json.dumps(graph.to_json())))
    assert again.to_json() == graph.to_json()
    assert graph_text(again) == graph_text(graph)
    path = result.save_trace(tmp_path / "run.json")
    loaded = agot.Result.load_trace(path)
    assert loaded.thought_graph().to_json() == graph.to_json()
    assert loaded.thought_graph().subgraphs["1"].node("1.1").answer == "answer of 1.1"
    assert [e.call_id for e in loaded.events] == [e.call_id for e in result.events]


def test_invalid_parameters():
    with pytest.raises(ConfigError, match="max_layers"):
        agot.AGoT(max_layers=0)
    with pytest.raises(ConfigError, match="max_depth"):
        agot.AGoT(max_depth=-1)
    with pytest.raises(ConfigError, match="max_nodes"):
        agot.AGoT(max_nodes="3")


def test_cli_solve_agot_json_trace_and_show(tmp_path):
    trace = tmp_path / "t.json"
    cmd = [sys.executable, "-m", "agot.cli", "solve", "What is 2+2?", "--model", "scripted"]
    out = subprocess.run(
        [*cmd, "--json", "--trace", str(trace), "--max-layers", "2", "--quiet"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["strategy"] == "agot" and data["answer"] == "scripted"
    assert data["usage"]["calls"] >= 2 and data["graph"]["layers"] >= 1
    shown = subprocess.run(
        [sys.executable, "-m", "agot.cli", "show", str(trace), "--format", "mermaid"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.startswith("flowchart TD") and "n_final" in shown.stdout
    bad = subprocess.run(
        [*cmd, "--strategy", "cot", "--max-depth", "2"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "agot: error:" in bad.stderr and "Traceback" not in bad.stderr
