"""The compare table's per-item columns and the score-vs-cost plot with its Pareto front."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from agot.backends.scripted import ScriptedBackend
from agot.errors import ConfigError
from agot.evals import EvalRecord, run_eval
from agot.evals.run_folder import ResultRow
from agot.evals.scorers import QAScorer
from agot.evals.summary import summarize
from agot.evals.tradeoff import TRADEOFF_FILE, pareto_front, tradeoff_plot
from agot.strategies import BestOfN
from agot.testing.search_scripts import PUZZLE, SOLUTION
from agot.types import Usage

SVG = "{http://www.w3.org/2000/svg}"

#: strategy -> (cost per call in USD, calls per item, em per item over 4 items)
GROUPS = {
    "direct": (0.001, 1, (1, 0, 0, 0)),  # cheapest: on the front
    "cot": (0.001, 2, (1, 1, 0, 0)),  # a little dearer, better: on the front
    "sc": (0.001, 10, (1, 0, 0, 0)),  # dear and no better than direct: beaten
    "tot": (0.002, 30, (1, 1, 1, 1)),  # dearest and best: on the front
}


def _rows() -> list[ResultRow]:
    rows = []
    for strategy, (price, calls, ems) in GROUPS.items():
        for i, em in enumerate(ems):
            rows.append(
                ResultRow(
                    id=f"q{i}",
                    dataset="hotpotqa",
                    strategy=strategy,
                    model="m",
                    seed=0,
                    gold="g",
                    prediction="p",
                    scores={"em": float(em), "f1": float(em)},
                    latency_s=0.5 * calls,
                    usage=Usage(
                        calls=calls,
                        prompt_tokens=100 * calls,
                        completion_tokens=10 * calls,
                        cost=price * calls,
                    ),
                )
            )
    return rows


def test_table_reports_usage_and_latency_per_item_and_pairs_every_strategy() -> None:
    s = summarize(_rows(), [QAScorer()], dataset="hotpotqa", resamples=200)
    lines = s.table().splitlines()
    header = lines[1].split()
    for title in ("calls/item", "tokens/item", "cost/item", "mean", "p50", "p95"):
        assert title in header
    tot = next(line for line in lines if line.startswith("tot")).split()
    # 30 calls an item, 3300 tokens, $0.06, 15 s: per item, not the group's totals
    assert tot[-6:-2] == ["30.0", "3.3k", "$0.0600", "15.00"]
    assert s.group("tot").latency_mean_s == 15.0
    pairs = {frozenset((c.a, c.b)) for c in s.comparisons}
    assert len(pairs) == 6 and all(c.n == 4 for c in s.comparisons)  # every pair, paired


def test_pareto_plot_marks_the_front_on_cost_per_item() -> None:
    s = summarize(_rows(), [QAScorer()], dataset="hotpotqa", resamples=200)
    plot = tradeoff_plot(s)
    assert plot.x_name == "cost per item (USD)"
    assert plot.front == ["direct", "cot", "tot"]
    root = ET.fromstring(plot.svg)
    points = {c.get("data-label"): c for c in root.iter(f"{SVG}circle")}
    assert {k: v.get("data-front") for k, v in points.items()} == {
        "direct": "1",
        "cot": "1",
        "sc": "0",
        "tot": "1",
    }
    assert float(points["sc"].get("data-x")) == pytest.approx(0.01)
    (front,) = root.iter(f"{SVG}polyline")
    assert front.get("data-members") == "direct|cot|tot"
    assert len(list(root.iter(f"{SVG}line"))) >= 4  # an interval bar per point, plus grid
    assert "log scale" in plot.svg and plot._repr_svg_() == plot.svg


def test_pareto_front_keeps_equal_points_and_drops_the_beaten() -> None:
    points = [(300.0, 0.67), (100.0, 0.5), (3000.0, 0.83), (200.0, 0.4), (3000.0, 0.6)]
    assert pareto_front(points) == [1, 0, 2]
    assert pareto_front([(1.0, 0.5), (1.0, 0.5)]) == [0, 1]  # equal points beat neither


async def test_eval_writes_the_plot_beside_summary_json(tmp_path) -> None:
    record = EvalRecord(
        id="p1", dataset="game24", question=PUZZLE, gold=None, metadata={"numbers": [4, 5, 6, 10]}
    )
    answers = ["Answer: 4 * 5 + 6 - 10", f"Answer: {SOLUTION}", "Answer: 24"]
    await run_eval(
        "game24",
        records=[record],
        strategies=["cot", "direct", BestOfN(3)],
        models=[ScriptedBackend(lambda r: answers[r.sample_index or 0])],
        out=str(tmp_path),
        progress=False,
    )
    path = tmp_path / TRADEOFF_FILE
    assert path.is_file() and (tmp_path / "summary.json").is_file()
    plot = tradeoff_plot(tmp_path)  # the notebook helper reads the folder's summary
    assert plot.svg == path.read_text()
    assert plot.x_name == "tokens per item"  # scripted replies have no price
    # bon solves the item at more tokens; of cot and direct (both wrong) the cheaper is kept
    assert plot.front[-1] == "bon" and len(plot.front) == 2
    kept = next(p for p in plot.points if p.label == plot.front[0])
    assert kept.x == min(p.x for p in plot.points if p.label in ("cot", "direct"))
    # the notebook's matplotlib picture joins the same front
    pytest.importorskip("matplotlib")
    from agot.evals.frames import load_runs
    from agot.evals.plots import plot_cost_tradeoff

    fig = plot_cost_tradeoff(load_runs(tmp_path), x="tokens")
    (line,) = [x for x in fig.axes[0].get_lines() if x.get_label() == "Pareto front"]
    assert list(line.get_ydata()) == [0.0, 1.0]


def test_plot_of_an_unfinished_run_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"summary\.json does not exist"):
        tradeoff_plot(tmp_path)


def test_view_run_page_shows_the_pareto_plot_of_the_run_folder(runs_root) -> None:
    from starlette.testclient import TestClient

    from agot.view.app import create_app
    from agot.view.data import Catalog

    client = TestClient(create_app(Catalog([runs_root])), base_url="http://127.0.0.1:7576")
    page = client.get("/run/agot-vs-cot").text
    assert 'id="pareto"' in page and 'class="pareto"' in page
    drawn = set(re.findall(r'<circle class="point" data-label="([^"]+)"', page))
    assert drawn == {"agot", "cot"}
    # the page draws the same plot the run wrote beside its summary.json
    saved = (runs_root / "agot-vs-cot" / TRADEOFF_FILE).read_text()
    assert 'class="pareto"' in saved and set(re.findall(r'data-label="([^"]+)"', saved)) == drawn
