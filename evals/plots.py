"""The standard pictures of eval runs: accuracy against cost, paired per-item comparison,
Kairanban trajectory and reliability diagram.

Each function takes plain data (the DataFrames of :mod:`agot.evals.frames`, lists of dicts or
of the library's result models) so it works on anything a user has, and returns its matplotlib
``Figure``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agot.errors import ConfigError
from agot.evals.classification_metrics import calibration_bins, expected_calibration_error
from agot.evals.frames import (
    as_dict,
    headline,
    is_stage_frame,
    paired_items,
    stage_frame,
    summary_table,
)
from agot.evals.tradeoff import pareto_front

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_X_COLUMNS = {
    "tokens": ("tokens/item", "mean tokens per item (prompt + completion)"),
    "cost": ("cost/item", "mean cost per item (USD)"),
    "latency": ("latency mean s", "mean latency per item (s)"),
}


def _axes(ax: Axes | None, size: tuple[float, float] = (6.5, 4.2)) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax  # type: ignore[return-value]


def plot_cost_tradeoff(
    frame: pd.DataFrame,
    metric: str | None = None,
    *,
    x: str = "tokens",
    ax: Axes | None = None,
    table: pd.DataFrame | None = None,
    pareto: bool = True,
) -> Figure:
    """Metric (with its CI as an error bar) against tokens, cost or latency per item: one point
    per strategy x model, colour by strategy, marker by model. Up and to the left is better;
    with ``pareto`` a dashed line joins the groups no other group beats on both (the Pareto
    front: the methods worth their cost)."""
    if x not in _X_COLUMNS:
        raise ConfigError(f"x must be one of {', '.join(_X_COLUMNS)}, got {x!r}")
    name = headline(frame, metric)
    table = table if table is not None else summary_table(frame, name)
    column, label = _X_COLUMNS[x]
    fig, ax = _axes(ax)
    strategies = list(dict.fromkeys(table["strategy"]))
    models = list(dict.fromkeys(table["model"]))
    markers = "osD^vP*X"
    colours = [f"C{i % 10}" for i in range(len(strategies))]
    for _, row in table.iterrows():
        if row[name] is None or (isinstance(row[name], float) and math.isnan(row[name])):
            continue
        colour = colours[strategies.index(row["strategy"])]
        marker = markers[models.index(row["model"]) % len(markers)]
        low = row[name] - row["ci_low"] if row["ci_low"] is not None else 0.0
        high = row["ci_high"] - row[name] if row["ci_high"] is not None else 0.0
        ax.errorbar(
            row[column],
            row[name],
            yerr=[[low], [high]],
            fmt=marker,
            color=colour,
            capsize=3,
            markersize=7,
        )
        text = row["strategy"] if len(models) == 1 else f"{row['strategy']} @ {row['model']}"
        ax.annotate(text, (row[column], row[name]), textcoords="offset points", xytext=(6, 4))
    if pareto:
        shown = [
            (float(row[column]), float(row[name]))
            for _, row in table.iterrows()
            if row[name] is not None and not math.isnan(float(row[name]))
        ]
        front = [shown[i] for i in pareto_front(shown)]
        if front:
            ax.plot(
                [p[0] for p in front],
                [p[1] for p in front],
                linestyle="--",
                color="0.5",
                zorder=0,
                label="Pareto front",
            )
            ax.legend(loc="lower right", fontsize="small")
    ax.set_xlabel(label)
    ax.set_ylabel(f"{name} (95% CI)")
    if x != "latency" and len(table) and (table[column] > 0).all():
        lo, hi = table[column].min(), table[column].max()
        if hi > 20 * lo:
            ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.set_title(f"{name} vs {x}")
    fig.tight_layout()
    return fig


def plot_paired(
    frame: pd.DataFrame,
    a: str,
    b: str,
    metric: str | None = None,
    *,
    model: str | None = None,
    ax: Axes | None = None,
    seed: int = 0,
) -> Figure:
    """Per-item paired comparison: each item one point (score under ``a`` on x, ``b`` on y,
    jittered when scores repeat), the diagonal for ties; the title gives the paired bootstrap
    CI of the mean difference, wins/losses/ties and the sign test."""
    import numpy as np

    from agot.evals.stats import paired_comparison

    name = headline(frame, metric)
    pairs = paired_items(frame, a, b, name, model=model)
    if pairs.empty:
        raise ConfigError(f"strategies {a!r} and {b!r} share no scored items")
    cmp = paired_comparison(pairs["a"].tolist(), pairs["b"].tolist(), names=(a, b), metric=name)
    fig, ax = _axes(ax, (5.2, 5.0))
    rng = np.random.default_rng(seed)
    discrete = pairs[["a", "b"]].stack().nunique() <= 3
    jitter = 0.04 if discrete else 0.0
    xs = pairs["a"] + rng.uniform(-jitter, jitter, len(pairs))
    ys = pairs["b"] + rng.uniform(-jitter, jitter, len(pairs))
    colours = np.where(pairs["diff"] > 0, "C2", np.where(pairs["diff"] < 0, "C3", "C7"))
    ax.scatter(xs, ys, c=colours, alpha=0.7, edgecolors="none")
    if discrete:  # few distinct scores (0/1): say how many items sit in each corner
        for (va, vb), count in pairs.groupby(["a", "b"]).size().items():
            ax.annotate(
                f"{count} item{'s' if count != 1 else ''}",
                (va, vb),
                textcoords="offset points",
                xytext=(0, 14),
                ha="center",
                fontsize=8,
            )
    lo = float(min(pairs["a"].min(), pairs["b"].min()))
    hi = float(max(pairs["a"].max(), pairs["b"].max()))
    pad = 0.15 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=0.8, ls="--")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{a}: {name}")
    ax.set_ylabel(f"{b}: {name}")
    diff = cmp.difference
    p = "n/a" if cmp.sign_test_p is None else f"{cmp.sign_test_p:.3g}"
    ax.set_title(
        f"{a} - {b} = {diff.format()}\n{a} better on {cmp.wins}, {b} on {cmp.losses}, "
        f"ties {cmp.ties} (n={cmp.n}); sign test p={p}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_trajectory(data: Any, *, items_shown: int = 30) -> Figure:
    """Kairanban entropy (left) and agent disagreement (right) per stage: the mean over items
    with a ±1 standard deviation band, thin lines for single items (up to ``items_shown``),
    and the stages after the idobata round shaded."""
    import matplotlib.pyplot as plt

    frame = data if is_stage_frame(data) else stage_frame(data)
    if frame.empty:
        raise ConfigError("no Kairanban stages to plot")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    after = frame.loc[frame["after_idobata"], "stage"]
    for ax, column, label in (
        (axes[0], "entropy", "entropy of the board (nats)"),
        (axes[1], "variance", "variance across agents"),
    ):
        if frame["item"].nunique() <= items_shown:
            for _, item in frame.groupby("item", sort=False):
                ax.plot(item["stage"], item[column], color="C7", alpha=0.35, lw=0.8)
        stats = frame.groupby("stage")[column].agg(["mean", "std", "count"]).reset_index()
        stats["std"] = stats["std"].fillna(0.0)
        ax.plot(stats["stage"], stats["mean"], marker="o", color="C0", lw=2, label="mean")
        ax.fill_between(
            stats["stage"],
            stats["mean"] - stats["std"],
            stats["mean"] + stats["std"],
            color="C0",
            alpha=0.15,
            label="±1 sd",
        )
        if len(after):
            ax.axvspan(after.min() - 0.5, frame["stage"].max() + 0.5, color="C1", alpha=0.1)
            ax.axvline(after.min() - 0.5, color="C1", ls="--", lw=1, label="idobata round")
        ax.set_xlabel("stage (agent)")
        ax.set_ylabel(label)
        ax.set_xticks(sorted(frame["stage"].unique()))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Kairanban trajectory over {frame['item'].nunique()} item(s)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_reliability(
    gold: Sequence[str] | None = None,
    probs: Sequence[Mapping[str, float] | Sequence[float]] | None = None,
    labels: Sequence[str] | None = None,
    *,
    bins: Iterable[Any] | None = None,
    n_bins: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Reliability (calibration) diagram of top-label confidence.

    Pass ``gold``, ``probs`` (one distribution per item) and ``labels``, or precomputed
    ``bins`` (CalibrationBin objects or dicts with lower, upper, count, confidence, accuracy).
    Bars: accuracy per confidence bin; the diagonal is perfect calibration; the gap between a
    bar and the diagonal is over- (below) or under-confidence (above). Bar labels give counts.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if bins is None:
        if gold is None or probs is None or labels is None:
            raise ConfigError("plot_reliability needs gold, probs and labels, or bins=")
        bins = calibration_bins(gold, probs, labels, n_bins=n_bins)
    rows = [as_dict(b) for b in bins]
    total = sum(int(r["count"]) for r in rows)
    if not total:
        raise ConfigError("no items in the calibration bins")
    ece = expected_calibration_error(rows)
    fig, ax = _axes(ax, (5.0, 4.6))
    for r in rows:
        width = r["upper"] - r["lower"]
        if not r["count"]:
            continue
        ax.bar(
            r["lower"],
            r["accuracy"],
            width=width,
            align="edge",
            color="C0",
            alpha=0.75,
            edgecolor="white",
        )
        ax.bar(
            r["lower"],
            r["confidence"] - r["accuracy"],
            bottom=r["accuracy"],
            width=width,
            align="edge",
            color="none",
            edgecolor="C3",
            hatch="//",
            lw=0.6,
        )
        ax.text(
            r["lower"] + width / 2,
            min(1.0, max(r["accuracy"], r["confidence"])) + 0.02,
            str(r["count"]),
            ha="center",
            fontsize=7,
        )
    ax.plot([0, 1], [0, 1], color="black", ls="--", lw=0.8)
    handles = [
        Line2D([], [], color="black", ls="--", lw=0.8, label="perfect calibration"),
        Patch(facecolor="C0", alpha=0.75, label="accuracy in bin (count above)"),
        Patch(facecolor="none", edgecolor="C3", hatch="//", label="gap to mean confidence"),
    ]
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("confidence of the top label")
    ax.set_ylabel("accuracy")
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    ax.set_title(title or f"reliability diagram: ECE {ece:.3f}, n={total}", fontsize=10)
    fig.tight_layout()
    return fig
