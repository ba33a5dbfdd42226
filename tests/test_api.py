"""The Python API's conveniences: ``agot.solve`` options, ``solve_many``, failed runs, the
prompt and completion text kept in traces, and saving graph pictures."""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET

import pytest

import agot
from agot.backends import ScriptedBackend
from agot.errors import BackendError, ConfigError, RunFailedError
from agot.limits import Limits
from agot.testing.agot_scripts import agot_script
from agot.types import GenerationRequest


def test_solve_takes_strategy_and_sampling_options():
    backend = ScriptedBackend(agot_script(fanout=2))
    result = agot.solve("q", model=backend, max_layers=2, max_nodes=2, temperature=0.3)
    graph = result.thought_graph()
    assert graph.layers == 2 and len(graph.layer(0)) == 2
    temperatures = {call.request.params.temperature for call in backend.calls}
    assert temperatures == {0.3}
    sc = agot.solve("q", strategy="sc", n=3, model=ScriptedBackend({"*": "Answer: 7"}))
    assert sc.answer == "7" and sc.usage.calls == 3


def test_solve_names_an_unknown_option_and_refuses_options_with_a_strategy_object():
    with pytest.raises(ConfigError, match=r"unknown option 'max_layerz' for strategy 'agot'.*"):
        agot.solve("q", model=ScriptedBackend(), max_layerz=2)
    with pytest.raises(ConfigError, match="max_layers configure a strategy built by name"):
        agot.solve("q", strategy=agot.CoT(), model=ScriptedBackend(), max_layers=2)


def test_solve_raises_when_every_call_failed_and_keeps_the_result():
    backend = ScriptedBackend({"*": BackendError("connection refused")})
    with pytest.raises(RunFailedError, match="every model call of this run failed") as info:
        agot.solve("q", strategy="cot", model=backend)
    failed = info.value.result
    assert failed.answer is None and "connection refused" in failed.error
    assert failed.events and all(e.error for e in failed.events)


async def test_solve_many_keeps_order_shares_one_dispatcher_and_bounds_calls():
    in_flight = peak = 0

    async def slow(request: GenerationRequest) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return "Answer: " + re.search(r"echo (\d+)", request.messages[-1].content).group(1)

    class Slow(ScriptedBackend):
        async def generate(self, request):  # type: ignore[override]
            text = await slow(request)
            return await ScriptedBackend({"*": text}).generate(request)

    questions = [f"echo {i}" for i in range(12)]
    results = await agot.Direct().solve_many(questions, model=Slow(), concurrency=3)
    assert [r.answer for r in results] == [str(i) for i in range(12)]
    assert peak == 3  # concurrency = model calls in flight


async def test_solve_many_records_a_failed_item_without_losing_the_others():
    def script(request):
        return BackendError("boom") if "bad" in request.messages[-1].content else "Answer: ok"

    results = await agot.CoT().solve_many(
        ["good one", "bad one", "good two"], model=ScriptedBackend(script), items_in_flight=1
    )
    assert [r.answer for r in results] == ["ok", None, "ok"]
    assert "boom" in results[1].error


async def test_solve_many_validates_its_numbers():
    with pytest.raises(ConfigError, match="concurrency must be at least 1"):
        await agot.CoT().solve_many(["q"], model=ScriptedBackend(), concurrency=0)
    dispatcher = agot.Dispatcher(ScriptedBackend(), limits=Limits(max_concurrency=2))
    with pytest.raises(ConfigError, match="max_concurrency"):
        await agot.CoT().solve_many(["q"], dispatcher=dispatcher, concurrency=4)


async def test_trace_events_keep_prompt_and_completion_unless_told_not_to(tmp_path):
    backend = ScriptedBackend({"*": "Answer: 42"})
    result = await agot.CoT().solve("What is six times seven?", model=backend)
    (event,) = result.events
    assert event.messages[-1].role == "user" and "six times seven" in event.messages[-1].content
    assert event.completion == "Answer: 42"
    saved = json.loads(result.save_trace(tmp_path / "t.json").read_text())
    assert saved["events"][0]["completion"] == "Answer: 42"
    quiet = agot.Dispatcher(ScriptedBackend({"*": "Answer: 42"}), store_text=False)
    bare = await agot.CoT().solve("What is six times seven?", dispatcher=quiet)
    assert bare.events[0].messages is None and bare.events[0].completion is None
    assert bare.events[0].completion_tokens == event.completion_tokens


async def test_graph_saves_in_the_format_its_suffix_names(tmp_path):
    result = await agot.AGoT(max_depth=1, max_layers=2, max_nodes=2).solve(
        "q", model=ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: n == "1"))
    )
    graph = result.thought_graph()
    ET.fromstring(graph.save(tmp_path / "g.svg").read_text())
    assert graph.save(tmp_path / "g.dot").read_text().startswith("digraph agot {")
    assert graph.save(tmp_path / "g.mmd").read_text().startswith("flowchart")
    loaded = agot.graph.ThoughtGraph.from_json(
        json.loads(graph.save(tmp_path / "g.json").read_text())
    )
    assert loaded.count_nodes() == graph.count_nodes() and "1" in loaded.subgraphs
    assert graph.to_svg(engine="python").startswith("<svg")
    assert "rankdir=TB" in graph.to_dot(direction="TB")
    with pytest.raises(ConfigError, match=r"cannot save a graph as 'g\.gif'"):
        graph.save(tmp_path / "g.gif")
