"""AGoT on the real embedded model (SmolLM2-135M through llama.cpp)."""

from __future__ import annotations

import pytest

import agot
from agot.controller import schemas

pytestmark = pytest.mark.local_model


async def test_real_run_builds_a_multi_layer_graph_and_answers():
    # Greedy decoding makes the run reproducible: sampled at 0.3, the 135M model now and then
    # fills a proposal with JSON debris, which is re-asked (one more call than counted below).
    strategy = agot.AGoT(
        max_depth=0, max_layers=2, max_nodes=1, early_stop=False, max_tokens=96, temperature=0.0
    )
    result = await strategy.solve(
        "Tom has 3 apples and buys 4 more. How many apples does he have?", model="local"
    )
    assert result.error is None, result.error
    graph = result.thought_graph()
    assert graph.layers == 2
    thoughts = [n for n in graph.nodes() if not n.final]
    assert len(thoughts) == 2 and all(n.status == "answered" and n.answer for n in thoughts)
    # layer 1 builds on layer 0 whenever the model named a valid parent; never on itself
    assert all(p.layer < n.layer for n in thoughts for p in graph.parents(n.id))
    assert result.answer and result.answer.strip()
    roles = [e.role for e in result.events]
    assert roles == ["decompose", "solve", "decompose", "solve", "final"]
    # every step was a schema-valid structured output, enforced by the grammar (no re-asks)
    assert all(e.error is None for e in result.events)
    assert result.usage.calls == 5 and result.usage.completion_tokens > 0
    assert sum(e.prompt_tokens for e in result.events) == result.usage.prompt_tokens
    assert (
        schemas.proposal_schema(True, 1).model_json_schema()["properties"]["thoughts"]["maxItems"]
        == 1
    )
