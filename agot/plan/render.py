"""A plan as a printed table (one column per scenario) or as one JSON object.

The JSON object is the run's prediction at the top level (``calls``, ``prompt_tokens``,
``completion_tokens``, ``cost``, ``wall_s``, each ``{"expected", "low", "high"}``, with
``items``, ``pilot_items`` and ``settings``), so a script reads the plan of the run it is about
to start without knowing about scenarios; the what-if columns follow under ``what_if`` and what
the pilot itself measured under ``pilot``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agot.plan.predict import Interval, Prediction
from agot.text import columns

_LABELS = {
    "calls": "calls",
    "prompt_tokens": "prompt tokens",
    "completion_tokens": "completion tokens",
    "cost": "cost (USD)",
    "wall_s": "wall time",
}


def plan_json(predictions: Sequence[Prediction], pilot: dict[str, Any]) -> dict[str, Any]:
    base, *others = predictions
    return {**base.dump(), "what_if": [p.dump() for p in others], "pilot": pilot}


def plan_table(predictions: Sequence[Prediction], pilot: dict[str, Any]) -> str:
    base = predictions[0]
    header = ["", f"this run ({base.scenario.items} items)"]
    header += [p.scenario.label for p in predictions[1:]]
    rows = [header]
    for name, label in _LABELS.items():
        rows.append([label, *(_cell(name, p.figures[name]) for p in predictions)])
    settings = base.scenario.settings
    lines = [
        f"plan from a pilot of {base.pilot_items} items (90% intervals; wall time from "
        f"{base.simulations} simulated runs)",
        *columns(rows),
        f"assumed: {settings.items_in_flight} items in flight, "
        f"{_concurrency(settings.describe()['concurrency'])} calls in flight per model, "
        f"rpm {settings.rpm or 'unlimited'}, tpm {settings.tpm or 'unlimited'}"
        + (f", price {base.scenario.price.label}" if base.scenario.price else ""),
        f"the pilot spent: {pilot['calls']:.0f} calls, {pilot['cost']:.4f} USD, "
        f"{_duration(pilot['wall_s'])}",
    ]
    if base.correction:
        factors = ", ".join(f"{_LABELS[k]} x{v:.2f}" for k, v in base.correction.items())
        lines.append(f"corrected by earlier runs of this setup: {factors}")
    return "\n".join(lines)


def planned_vs_actual(folder: str | Path) -> list[dict[str, Any]]:
    """Per figure, what ``agot eval --plan`` predicted for the run in ``folder`` (expected and
    90% interval) beside what it spent, the ratio actual / expected (what the next plan of
    the same setup is corrected by) and whether the interval held the actual. Empty when the
    folder has no ``plan.json`` or the run has not finished (no actual recorded yet)."""
    try:
        stored = json.loads((Path(folder) / "plan.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(stored, dict):
        return []
    predicted, actual = stored.get("predicted"), stored.get("actual")
    if not isinstance(predicted, dict) or not isinstance(actual, dict):
        return []
    out = []
    for name, label in _LABELS.items():
        interval, value = predicted.get(name), actual.get(name)
        if not isinstance(interval, dict) or not isinstance(value, int | float):
            continue
        expected, low, high = (float(interval.get(k) or 0.0) for k in ("expected", "low", "high"))
        show = _duration if name == "wall_s" else _money if name == "cost" else _count
        out.append(
            {
                "figure": label,
                "predicted": _cell(name, Interval(expected, low, high)),
                "actual": show(float(value)),
                "ratio": round(value / expected, 3) if expected else None,
                "inside": low <= value <= high,
            }
        )
    return out


def planned_vs_actual_markdown(folder: str | Path) -> str:
    """:func:`planned_vs_actual` as a markdown table ("" when there is nothing to show)."""
    rows = planned_vs_actual(folder)
    if not rows:
        return ""
    lines = [
        f"\nPlanned against actual ({folder}):\n",
        "| figure | predicted [90%] | actual | actual / predicted | inside |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
        inside = "yes" if r["inside"] else "no"
        lines.append(f"| {r['figure']} | {r['predicted']} | {r['actual']} | {ratio} | {inside} |")
    return "\n".join(lines) + "\n"


def _concurrency(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{v} ({k.split('|')[0]})" for k, v in value.items())
    return str(value)


def _cell(name: str, interval: Interval) -> str:
    show = _duration if name == "wall_s" else _money if name == "cost" else _count
    return f"{show(interval.expected)} [{show(interval.low)}, {show(interval.high)}]"


def _count(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _money(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.4f}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.1f}s"
