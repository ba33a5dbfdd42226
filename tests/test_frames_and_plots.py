"""Eval runs in pandas (agot.evals.frames) and their pictures (agot.evals.plots)."""

from __future__ import annotations

import math

import matplotlib
import pandas as pd
import pytest

from agot.errors import ConfigError
from agot.evals.classification_metrics import (
    calibration_bins,
    classification_metrics,
    expected_calibration_error,
)
from agot.evals.frames import load_runs, paired_items, stage_frame, summary_table
from agot.evals.plots import (
    plot_cost_tradeoff,
    plot_paired,
    plot_reliability,
    plot_trajectory,
)
from agot.evals.run_folder import ResultRow, ResultsWriter
from agot.evals.stats import bootstrap_mean
from agot.types import Usage

matplotlib.use("Agg")

#: em per item for each strategy (item ids i0..i5)
EM = {"direct": [0, 1, 0, 0, 1, 0], "cot": [1, 1, 0, 1, 1, 0], "agot": [1, 1, 1, 1, 1, 0]}
TOKENS = {"direct": 100, "cot": 300, "agot": 3000}


def _row(item, strategy, em, *, model="m1", error=None, dataset="hotpotqa", seed=0):
    scores = {} if em is None else {"em": float(em), "f1": float(em) * 0.5 + 0.25}
    return ResultRow(
        id=item,
        dataset=dataset,
        strategy=strategy,
        model=model,
        seed=seed,
        gold="g",
        prediction="p",
        scores=scores,
        usage=Usage(calls=1, prompt_tokens=TOKENS[strategy] - 10, completion_tokens=10, cost=0.01),
        latency_s=1.0 + em if em is not None else 5.0,
        error=error,
    )


def _write(folder, rows):
    writer = ResultsWriter(folder / "results.jsonl")
    for row in rows:
        writer.append_sync(row)
    writer.close()
    return folder


@pytest.fixture
def run_dir(tmp_path):
    rows = [
        _row(f"i{k}", strategy, value)
        for strategy, values in EM.items()
        for k, value in enumerate(values)
    ]
    # a resumed run appended a newer row for (i0, direct): the last one wins
    rows.append(_row("i0", "direct", 1))
    return _write(tmp_path / "run-a", rows)


def test_load_runs_flattens_scores_and_usage(run_dir):
    frame = load_runs(run_dir)
    assert len(frame) == 18  # the duplicate (i0, direct) collapsed
    for column in (
        "scores.em",
        "scores.f1",
        "usage.calls",
        "usage.prompt_tokens",
        "usage.completion_tokens",
        "usage.cost",
        "usage.total_tokens",
        "run",
    ):
        assert column in frame.columns
    direct_i0 = frame[(frame.strategy == "direct") & (frame.id == "i0")]
    assert direct_i0["scores.em"].tolist() == [1.0]
    assert set(frame["usage.total_tokens"]) == set(TOKENS.values())
    assert set(frame["run"]) == {"run-a"}
    # a results file directly, and a parent folder searched recursively, read the same rows
    assert len(load_runs(run_dir / "results.jsonl")) == 18
    assert len(load_runs(run_dir.parent)) == 18


def test_load_runs_keeps_runs_apart_and_rejects_empty_folders(run_dir, tmp_path):
    other = _write(tmp_path / "run-b", [_row("i0", "cot", 0, model="m2")])
    frame = load_runs(run_dir, other)
    assert len(frame) == 19 and set(frame["model"]) == {"m1", "m2"}
    with pytest.raises(ConfigError, match=r"results\.jsonl"):
        load_runs(tmp_path / "missing")
    with pytest.raises(ConfigError, match="at least one"):
        load_runs()


def test_summary_table_matches_the_bootstrap_and_counts_failures_as_misses(run_dir):
    frame = load_runs(run_dir)
    table = summary_table(frame)
    assert list(table["strategy"]) == ["direct", "cot", "agot"]  # first-seen order
    for _, row in table.iterrows():
        values = [float(v) for v in EM[row["strategy"]]]
        if row["strategy"] == "direct":
            values[0] = 1.0
        expected = bootstrap_mean(values)
        assert row["em"] == pytest.approx(expected.value)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected.low, expected.high))
        assert row["tokens/item"] == TOKENS[row["strategy"]]
        assert row["n"] == 6 and row["errors"] == 0
    assert table.loc[table.strategy == "agot", "em (CI)"].item().startswith("0.833 [")
    # a failed item without a score counts 0; a score-less item without an error is left out
    extra = pd.concat(
        [
            frame,
            load_runs(
                _write(
                    run_dir.parent / "run-c",
                    [_row("i9", "agot", None, error="boom"), _row("i8", "agot", None)],
                )
            ),
        ],
        ignore_index=True,
    )
    agot_row = summary_table(extra).query("strategy == 'agot'").iloc[0]
    assert agot_row["n"] == 7 and agot_row["errors"] == 1
    assert agot_row["em"] == pytest.approx(5 / 7)
    assert summary_table(frame, "f1")["f1"].notna().all()
    with pytest.raises(ConfigError, match="no metric 'judge'"):
        summary_table(frame, "judge")


def test_summary_table_splits_by_dataset_when_there_are_several(run_dir, tmp_path):
    other = _write(tmp_path / "run-d", [_row("x", "cot", 1, dataset="musique")])
    table = summary_table(load_runs(run_dir, other))
    assert list(table.columns[:3]) == ["dataset", "strategy", "model"]
    assert len(table) == 4


def test_cost_tradeoff_plot_has_one_point_per_group(run_dir):
    frame = load_runs(run_dir)
    fig = plot_cost_tradeoff(frame, x="tokens")
    ax = fig.axes[0]
    assert len(ax.containers) == 3  # one errorbar per strategy
    points = sorted((c.lines[0].get_xdata()[0], c.lines[0].get_ydata()[0]) for c in ax.containers)
    assert points == [
        (100, pytest.approx(3 / 6)),
        (300, pytest.approx(4 / 6)),
        (3000, pytest.approx(5 / 6)),
    ]
    assert ax.get_xscale() == "log"  # 100 to 3000 tokens
    with pytest.raises(ConfigError, match="x must be"):
        plot_cost_tradeoff(frame, x="colour")


def test_paired_comparison_aligns_items(run_dir):
    frame = load_runs(run_dir)
    pairs = paired_items(frame, "agot", "cot")
    assert len(pairs) == 6
    assert pairs["diff"].tolist() == [0, 0, 1, 0, 0, 0]
    fig = plot_paired(frame, "agot", "cot")
    assert "agot better on 1, cot on 0, ties 5 (n=6)" in fig.axes[0].get_title()
    with pytest.raises(ConfigError, match="no rows for strategy 'tot'"):
        paired_items(frame, "agot", "tot")


def test_paired_comparison_needs_a_model_when_there_are_several(run_dir, tmp_path):
    other = _write(tmp_path / "run-e", [_row("i0", "cot", 0, model="m2")])
    frame = load_runs(run_dir, other)
    with pytest.raises(ConfigError, match="pass model="):
        paired_items(frame, "agot", "cot")
    assert len(paired_items(frame, "agot", "cot", model="m1")) == 6


# -- Kairanban --------------------------------------------------------------------------------
def _trajectory(entropies, idobata_after=None):
    return {
        "trajectory": [
            {
                "stage": i + 1,
                "agent": i + 1,
                "entropy": h,
                "variance": 0.01 * i,
                "after_idobata": idobata_after is not None and i + 1 > idobata_after,
            }
            for i, h in enumerate(entropies)
        ]
    }


def test_stage_frame_and_trajectory_plot():
    items = [_trajectory([1.0, 0.8, 0.6, 0.4], 2), _trajectory([1.0, 0.6, 0.4, 0.2], 2)]
    frame = stage_frame(items)
    assert len(frame) == 8 and frame["item"].nunique() == 2
    assert frame.groupby("stage")["entropy"].mean().tolist() == pytest.approx([1.0, 0.7, 0.5, 0.3])
    assert frame["after_idobata"].tolist() == [False, False, True, True] * 2
    fig = plot_trajectory(items)
    left = fig.axes[0]
    mean_line = next(line for line in left.lines if line.get_label() == "mean")
    assert list(mean_line.get_ydata()) == pytest.approx([1.0, 0.7, 0.5, 0.3])
    assert any(line.get_label() == "idobata round" for line in left.lines)
    # a bare list of stages is one item
    assert stage_frame([_trajectory([0.5, 0.4])["trajectory"]])["item"].nunique() == 1
    with pytest.raises(ConfigError, match="no Kairanban stages"):
        plot_trajectory([])


def test_stage_frame_reads_real_kairanban_results():
    from agot.kairanban import KairanbanResult, Stage

    result = KairanbanResult(
        text="t",
        labels=["a", "b"],
        mode="kcs",
        aggregate="last",
        agents=2,
        trajectory=[
            Stage(stage=1, agent=1, entropy=0.6, variance=0.0),
            Stage(stage=2, agent=2, entropy=0.3, variance=0.02),
        ],
    )
    frame = stage_frame(result)
    assert frame["entropy"].tolist() == [0.6, 0.3]
    assert frame["variance"].tolist() == [0.0, 0.02]


def test_reliability_diagram_matches_the_ece():
    labels = ["neg", "neu", "pos"]
    gold = ["pos", "neg", "neu", "pos", "neg", "pos"]
    probs = [
        {"neg": 0.1, "neu": 0.1, "pos": 0.8},
        {"neg": 0.6, "neu": 0.3, "pos": 0.1},
        {"neg": 0.5, "neu": 0.4, "pos": 0.1},
        {"neg": 0.05, "neu": 0.05, "pos": 0.9},
        {"neg": 0.4, "neu": 0.35, "pos": 0.25},
        {"neg": 0.3, "neu": 0.2, "pos": 0.5},
    ]
    fig = plot_reliability(gold, probs, labels, n_bins=5)
    bins = calibration_bins(gold, probs, labels, n_bins=5)
    ece = expected_calibration_error(bins)
    assert not math.isnan(ece)
    assert ece == classification_metrics(gold, probs, labels, n_bins=5).ece
    title = fig.axes[0].get_title()
    assert title == f"reliability diagram: ECE {ece:.3f}, n=6"
    again = plot_reliability(bins=[b.model_dump() for b in bins])
    assert again.axes[0].get_title() == title
    with pytest.raises(ConfigError, match="needs gold"):
        plot_reliability(gold, None, labels)
