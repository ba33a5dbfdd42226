"""ToT, AoT and best-of-N end to end on the embedded model: one Game of 24 eval item each, under
a small call budget (the 135M model cannot solve the puzzle; what is checked is that every
strategy runs through the real backend, stays in its budget and answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agot.budget import Budget
from agot.graph import ThoughtGraph
from agot.result import Result
from agot.strategies import AoT, BestOfN, ToT

pytestmark = pytest.mark.local_model

CALLS = 6
#: Calls per item in the compare run (self-consistency's five samples fit).
COMPARE_CALLS = 5


async def test_one_game24_item_per_search_strategy_on_the_embedded_model(tmp_path) -> None:
    from agot.evals import run_eval

    summary = await run_eval(
        "game24",
        limit=1,
        strategies=[
            ToT(max_tokens=64),
            AoT(max_tokens=256, max_subquestions=3),
            BestOfN(2, max_tokens=96),
        ],
        models=["local"],
        item_budget=Budget(max_calls=CALLS),
        out=str(tmp_path),
        progress=False,
    )
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["strategy"] for r in rows) == ["aot", "bon", "tot"]
    for row in rows:
        assert row["error"] is None, row["error"]
        assert 1 <= row["usage"]["calls"] <= CALLS
        assert row["raw"], row["strategy"]
        assert "success" in row["scores"]
    bon = next(r for r in rows if r["strategy"] == "bon")
    assert bon["usage"]["calls"] == 2  # the exact verifier costs no call
    assert "verifier_agrees" in bon["details"]
    for strategy in ("tot", "aot", "bon"):
        (trace,) = (tmp_path / "traces" / strategy).rglob("*.json")
        result = Result.load_trace(trace)
        assert result.graph is not None
        assert ThoughtGraph.from_json(result.graph).final_id is not None
    assert summary.group("tot").n == 1


def test_compare_preset_end_to_end_on_the_embedded_model(tmp_path, monkeypatch, capsys) -> None:
    """``agot eval --preset compare`` on one HotpotQA item: all seven strategies (direct, cot,
    sc, tot, aot, bon, agot) through the embedded model under one per-item call cap, the
    per-item table and the Pareto plot written beside summary.json."""
    import agot.cli
    from agot.evals.run_folder import read_results
    from agot.evals.tradeoff import TRADEOFF_FILE, tradeoff_plot

    data = Path(__file__).parent / "fixtures" / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    out = tmp_path / "run"
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    code = agot.cli.main(
        [
            "eval",
            "hotpotqa",
            "--data",
            str(data),
            "--preset",
            "compare",
            "--limit",
            "1",
            "--max-calls",
            str(COMPARE_CALLS),
            "--max-tokens",
            "32",
            "--model",
            "local",
            "--out",
            str(out),
            "--no-traces",
            "--quiet",
        ]
    )
    assert code == 0
    rows = read_results(out / "results.jsonl")
    assert [r.strategy for r in rows].count("agot") == 1 and len(rows) == 7
    for row in rows:
        assert row.error is None, (row.strategy, row.error)
        assert 1 <= row.usage.calls <= COMPARE_CALLS and row.usage.completion_tokens > 0
    assert "calls/item" in capsys.readouterr().out
    plot = tradeoff_plot(out)
    assert (out / TRADEOFF_FILE).read_text() == plot.svg
    assert {p.label for p in plot.points} == {r.strategy for r in rows} and plot.front
