"""Small inline-SVG charts for the viewer (no plotting library, no scripts).

Each function returns one ``<svg>`` element sized in CSS pixels; every mark carries a
``<title>`` so hovering shows its exact numbers, and a ``data-*`` attribute so tests and tools
can read what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

#: One colour per series, in order (colour-blind-safe Tableau 10).
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)

Scale = Callable[[float], float]

W, H = 520.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 56.0, 16.0, 16.0, 44.0


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(value: float) -> str:
    if not abs(value) < 1e7:  # a corrupt row's -1e300 s: e-notation, not 300 digits
        return f"{value:.2g}"
    if abs(value) >= 10000 or (abs(value) >= 1000 and value % 1000 == 0):
        return f"{value / 1000:.0f}k"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _log_ticks(low: float, high: float) -> list[float]:
    """Decades covering [low, high] (both > 0), with 2 and 5 between them when few."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(first, last) for m in steps] + [10.0**last]
    return ticks


def _frame(
    xs: list[float],
    ys: list[float],
    x_label: str,
    y_label: str,
    kind: str,
    *,
    log_x: bool = False,
) -> tuple[list[str], Scale, Scale]:
    x_ticks = _log_ticks(min(xs), max(xs)) if log_x else _ticks(min(xs), max(xs))
    y_ticks = _ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    if log_x:
        x0, x1 = math.log10(x0), math.log10(x1)

    def sx(x: float) -> float:
        if log_x:
            x = math.log10(max(x, 10.0**x0))
        return LEFT + (x - x0) / ((x1 - x0) or 1.0) * (W - LEFT - RIGHT)

    def sy(y: float) -> float:
        return H - BOTTOM - (y - y0) / ((y1 - y0) or 1.0) * (H - TOP - BOTTOM)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot plot-{kind}" width="{W:.0f}" '
        f'height="{H:.0f}" viewBox="0 0 {W:.0f} {H:.0f}" font-family="sans-serif" font-size="11">',
        f'<rect width="{W:.0f}" height="{H:.0f}" fill="white"/>',
    ]
    for t in x_ticks:
        parts.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{TOP}" y2="{H - BOTTOM}" '
            'stroke="#eee"/>'
            f'<text x="{sx(t):.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">{_fmt(t)}</text>'
        )
    for t in y_ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
            'stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" stroke="#555"/>'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#555"/>'
        f'<text x="{(LEFT + W - RIGHT) / 2:.1f}" y="{H - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text transform="translate(14,{(TOP + H - BOTTOM) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts, sx, sy


def score_vs_tokens(
    points: Sequence[tuple[str, float, float | None, float | None, float | None]], metric: str
) -> str:
    """One point per series: (label, tokens per item, score, CI low, CI high), with its
    interval as a vertical bar and a legend below the plot."""
    drawn = [p for p in points if p[2] is not None]
    if not drawn:
        return '<p class="empty">no scored groups to plot</p>'
    positive = [p[1] for p in drawn if p[1] > 0]
    # Tokens per item span orders of magnitude (direct vs AGoT): a log axis keeps the cheap
    # strategies apart; a linear one from 0 when every point costs nothing.
    log_x = bool(positive)
    xs = [max(p[1], min(positive)) for p in drawn] if log_x else [0.0] + [p[1] for p in drawn]
    ys = [0.0, 1.0] + [v for p in drawn for v in (p[2], p[3], p[4]) if v is not None]
    x_label = "tokens per item (log scale)" if log_x else "tokens per item"
    parts, sx, sy = _frame(xs, ys, x_label, metric, "tradeoff", log_x=log_x)
    for i, (label, x, y, low, high) in enumerate(points):
        if y is None:
            continue
        c = colour(i)
        tip = f"{label}: {metric} {y:.3f}" + (
            f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
        )
        tip += f", {x:.0f} tokens per item"
        if low is not None and high is not None:
            parts.append(
                f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{sy(low):.1f}" y2="{sy(high):.1f}" '
                f'stroke="{c}" stroke-width="2"/>'
            )
        parts.append(
            f'<circle class="point" data-series="{escape(label)}" data-x="{x:.3f}" '
            f'data-y="{y:.4f}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="5" fill="{c}">'
            f"<title>{escape(tip)}</title></circle>"
        )
        # the series' name beside its point (left of it near the right edge), so points
        # that sit close together stay told apart without the legend
        right = sx(x) > W - RIGHT - 120
        dx, anchor = (-8, "end") if right else (8, "start")
        dy = -8 if i % 2 == 0 else 14
        parts.append(
            f'<text class="point-label" x="{sx(x) + dx:.1f}" y="{sy(y) + dy:.1f}" '
            f'text-anchor="{anchor}" fill="{c}">{escape(label.split(" @ ")[0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts) + _legend([p[0] for p in points])


def histogram(series: Sequence[tuple[str, Sequence[float]]], label: str, bins: int = 20) -> str:
    """Overlaid step histograms of each series' values (e.g. latency per item)."""
    values = [v for _, vs in series for v in vs]
    if not values:
        return '<p class="empty">no values to plot</p>'
    low, high = min(values), max(values)
    if high <= low:
        high = low + 1.0
    width = (high - low) / bins
    counts = []
    for _, vs in series:
        row = [0] * bins
        for v in vs:
            row[min(int((v - low) / width), bins - 1)] += 1
        counts.append(row)
    top = max(max(row) for row in counts)
    parts, sx, sy = _frame([low, high], [0.0, float(top)], label, "items", "histogram")
    for i, ((name, _), row) in enumerate(zip(series, counts, strict=True)):
        c = colour(i)
        path = [f"M{sx(low):.1f},{sy(0):.1f}"]
        for b, n in enumerate(row):
            left, right = low + b * width, low + (b + 1) * width
            path.append(f"L{sx(left):.1f},{sy(n):.1f} L{sx(right):.1f},{sy(n):.1f}")
        path.append(f"L{sx(high):.1f},{sy(0):.1f}")
        parts.append(
            f'<path class="series" data-series="{escape(name)}" data-n="{sum(row)}" '
            f'd="{" ".join(path)}" fill="{c}" fill-opacity="0.18" stroke="{c}" '
            f'stroke-width="1.5"><title>{escape(name)}: {sum(row)} items</title></path>'
        )
    parts.append("</svg>")
    return "".join(parts) + _legend([name for name, _ in series])


def _legend(labels: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><i style="background:{colour(i)}"></i>{escape(label)}</span>'
        for i, label in enumerate(labels)
    )
    return f'<div class="legend">{items}</div>'
