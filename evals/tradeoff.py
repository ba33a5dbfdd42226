"""Score against cost per item, with the Pareto front: the one picture of a comparison run.

Every run writes it as ``tradeoff.svg`` beside ``summary.json`` (:func:`write_tradeoff`), so
the answer to "which method is worth its calls" is in the run folder without a notebook; the
viewer's run page shows that file and a notebook gets it from :func:`tradeoff_plot` (it shows
itself inline). :func:`agot.evals.plots.plot_cost_tradeoff` draws the same front with
matplotlib for a user who wants to restyle it.

The x axis is the mean cost per item in USD when every group has one (a priced API), else the
mean tokens per item (the embedded model and scripted backends report no price, and tokens are
what a price would be charged on). It is logarithmic: direct prompting and a tree search differ
by one to two orders of magnitude, and on a linear axis the cheap methods pile up at zero. Each
point carries its bootstrap interval as a vertical bar and its strategy's name; the front joins
the groups no other group beats on both cost and score (:func:`pareto_front`).

The SVG is written by hand (no plotting library is imported on the eval's path), every point
carries ``data-*`` attributes with its numbers and whether it is on the front, so tests and
tools read what was drawn.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from agot.evals.run_folder import RunFolder, write_text_atomic
from agot.evals.summary import EvalSummary, GroupSummary, load_summary

#: File name of the plot in a run folder.
TRADEOFF_FILE = "tradeoff.svg"

_W, _H = 560.0, 340.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 60.0, 24.0, 30.0, 46.0
_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b07aa1", "#9c755f")


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (cost, score) no other point beats: none is at most as costly and
    at least as good with one of the two strictly. In order of cost."""
    front = []
    for i, (cost, score) in enumerate(points):
        dominated = any(
            c <= cost and s >= score and (c < cost or s > score)
            for j, (c, s) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i])


@dataclass(frozen=True)
class TradeoffPoint:
    """One strategy x model: its cost per item, its score and interval, and whether it is on
    the Pareto front."""

    label: str
    x: float
    score: float
    low: float | None
    high: float | None
    on_front: bool


@dataclass(frozen=True)
class TradeoffPlot:
    """The points, what the x axis measures, and the SVG; shows itself in a notebook."""

    metric: str
    x_name: str
    points: tuple[TradeoffPoint, ...]
    svg: str

    @property
    def front(self) -> list[str]:
        """Labels of the groups on the Pareto front, cheapest first."""
        return [p.label for p in sorted(self.points, key=lambda p: p.x) if p.on_front]

    def _repr_svg_(self) -> str:
        return self.svg


def _scored(groups: Sequence[GroupSummary], metric: str) -> list[tuple[GroupSummary, float]]:
    out = []
    for g in groups:
        est = g.metrics.get(metric)
        if est is not None and est.value is not None and not math.isnan(est.value):
            out.append((g, est.value))
    return out


def tradeoff_plot(source: EvalSummary | str | os.PathLike[str]) -> TradeoffPlot:
    """The plot of a summary, or of the run folder at ``source`` (its ``summary.json``)."""
    summary = source if isinstance(source, EvalSummary) else _summary_of(source)
    return plot_groups(
        summary.groups,
        summary.headline,
        title=f"{summary.dataset}: {summary.headline} ({summary.items} items)",
    )


def plot_groups(groups: Sequence[GroupSummary], metric: str, *, title: str = "") -> TradeoffPlot:
    """The plot of some group summaries (the viewer draws a running run's groups with it)."""
    scored = _scored(groups, metric)
    priced = bool(scored) and all(g.cost_per_item > 0 for g, _ in scored)
    x_name = "cost per item (USD)" if priced else "tokens per item"
    xs = [g.cost_per_item if priced else g.tokens_per_item for g, _ in scored]
    front = set(pareto_front([(x, v) for x, (_, v) in zip(xs, scored, strict=True)]))
    single_model = len({g.model for g, _ in scored}) <= 1
    points = tuple(
        TradeoffPoint(
            label=g.strategy if single_model else g.label,
            x=x,
            score=value,
            low=g.metrics[metric].low,
            high=g.metrics[metric].high,
            on_front=i in front,
        )
        for i, (x, (g, value)) in enumerate(zip(xs, scored, strict=True))
    )
    return TradeoffPlot(metric, x_name, points, _svg(points, metric, x_name, title))


def write_tradeoff(folder: RunFolder, summary: EvalSummary) -> Path:
    """Write ``tradeoff.svg`` beside the folder's ``summary.json``."""
    path = folder.path / TRADEOFF_FILE
    write_text_atomic(path, tradeoff_plot(summary).svg)
    return path


def _summary_of(path: str | os.PathLike[str]) -> EvalSummary:
    from agot.errors import ConfigError

    folder = RunFolder(Path(path))
    summary = load_summary(folder)
    if summary is None:
        raise ConfigError(f"{folder.summary_path} does not exist: the run has not finished")
    return summary


def _decades(low: float, high: float) -> list[float]:
    first = math.floor(math.log10(low))
    last = max(math.ceil(math.log10(high)), first + 1)
    return [10.0**e for e in range(first, last + 1)]


def _tick(value: float) -> str:
    return f"{value:g}" if value < 1e4 else f"{value:.0e}"


def _svg(points: Sequence[TradeoffPoint], metric: str, x_name: str, title: str) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot plot-pareto" width="{_W:.0f}" '
        f'height="{_H:.0f}" viewBox="0 0 {_W:.0f} {_H:.0f}" font-family="sans-serif" '
        f'font-size="11"><rect width="{_W:.0f}" height="{_H:.0f}" fill="white"/>'
        f'<text x="{_W / 2:.0f}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>'
    )
    if not points:
        return head + '<text x="40" y="80">no scored groups</text></svg>'
    positive = [p.x for p in points if p.x > 0] or [1.0]
    floor = min(positive)
    decades = _decades(floor, max(positive))
    lo, hi = math.log10(decades[0]), math.log10(decades[-1])
    scores = [v for p in points for v in (p.score, p.low, p.high) if v is not None]
    y_lo, y_hi = min(0.0, *scores), max(1.0, *scores)
    width, height = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + (math.log10(max(x, floor)) - lo) / (hi - lo) * width

    def py(y: float) -> float:
        return _TOP + height - (y - y_lo) / ((y_hi - y_lo) or 1.0) * height

    body = [head]
    for d in decades:
        body.append(
            f'<line x1="{px(d):.1f}" x2="{px(d):.1f}" y1="{_TOP}" y2="{_TOP + height}" '
            f'stroke="#e6e6e6"/><text x="{px(d):.1f}" y="{_TOP + height + 14}" '
            f'text-anchor="middle">{_tick(d)}</text>'
        )
    for k in range(6):
        y = y_lo + (y_hi - y_lo) * k / 5
        body.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + width}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            f'stroke="#e6e6e6"/><text x="{_LEFT - 6}" y="{py(y) + 4:.1f}" '
            f'text-anchor="end">{y:.2f}</text>'
        )
    body.append(
        f'<text x="{_LEFT + width / 2:.0f}" y="{_H - 10}" text-anchor="middle">'
        f"{escape(x_name)} (log scale)</text>"
        f'<text transform="translate(16,{_TOP + height / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(metric)} (95% CI)</text>'
    )
    front = sorted((p for p in points if p.on_front), key=lambda p: p.x)
    if front:
        path = " ".join(f"{px(p.x):.1f},{py(p.score):.1f}" for p in front)
        members = escape("|".join(p.label for p in front))
        body.append(
            f'<polyline class="pareto" data-members="{members}" points="{path}" fill="none" '
            'stroke="#777" stroke-dasharray="5,4"><title>Pareto front</title></polyline>'
        )
    for i, p in enumerate(points):
        c = _COLOURS[i % len(_COLOURS)]
        x, y = px(p.x), py(p.score)
        if p.low is not None and p.high is not None:
            body.append(
                f'<line class="interval" x1="{x:.1f}" x2="{x:.1f}" y1="{py(p.low):.1f}" '
                f'y2="{py(p.high):.1f}" stroke="{c}" stroke-width="2"/>'
            )
        tip = f"{p.label}: {metric} {p.score:.3f}, {p.x:.4g} {x_name}"
        body.append(
            f'<circle class="point" data-label="{escape(p.label)}" data-x="{p.x:.6g}" '
            f'data-score="{p.score:.4f}" data-front="{int(p.on_front)}" cx="{x:.1f}" '
            f'cy="{y:.1f}" r="{6 if p.on_front else 4}" fill="{c}" '
            f'stroke="{"#222" if p.on_front else "none"}"><title>{escape(tip)}</title></circle>'
            f'<text x="{x + 8:.1f}" y="{y - 6 + 14 * (i % 2):.1f}" fill="{c}">'
            f"{escape(p.label)}</text>"
        )
    return "".join(body) + "</svg>"
