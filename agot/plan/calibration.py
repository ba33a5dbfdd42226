"""Plans that learn: each finished planned run stores how far its plan was off, and the next plan
of the same models and strategies is corrected by it.

After ``agot eval --plan`` the run's actual calls, tokens, cost and wall time are divided by
what was expected, and the ratios are kept (the last :data:`KEPT` per setup) in a small JSON
file: ``AGOT_PLAN_CALIBRATION`` names it, else ``~/.cache/agot/plan-calibration.json``. A later
plan for the same setup (its model keys and strategy names) multiplies each figure, interval
included, by the median of its kept ratios and says so. Setups are stored under a hash of the
names, so the file holds no model string (nor any key or URL a model string may carry).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from agot.plan.predict import Interval, Prediction

#: Ratios kept per setup and figure (the oldest go first).
KEPT = 5
#: Figures a correction applies to.
CORRECTED = ("calls", "prompt_tokens", "completion_tokens", "cost", "wall_s")


def store_path() -> Path:
    given = os.environ.get("AGOT_PLAN_CALIBRATION")
    return Path(given).expanduser() if given else Path.home() / ".cache/agot/plan-calibration.json"


def setup_key(models: Sequence[str], strategies: Sequence[str]) -> str:
    text = json.dumps([sorted(models), sorted(strategies)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(key: str, ratios: Mapping[str, float | None], path: Path | None = None) -> None:
    """Keep ``ratios`` (actual over expected, per figure) for setup ``key``."""
    path = path or store_path()
    data = _read(path)
    held = data.get(key)
    entry: dict[str, Any] = held if isinstance(held, dict) else {}
    for name, ratio in ratios.items():
        if name in CORRECTED and ratio is not None and ratio > 0:
            kept = [r for r in entry.get(name, []) if isinstance(r, int | float)]
            entry[name] = [*kept, float(ratio)][-KEPT:]
    data[key] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1))
    temporary.replace(path)


def correction(key: str, path: Path | None = None) -> dict[str, float]:
    """Per figure, the median ratio of the setup's kept runs (empty when none were kept)."""
    entry = _read(path or store_path()).get(key)
    if not isinstance(entry, dict):
        return {}
    out = {}
    for name in CORRECTED:
        ratios = [r for r in entry.get(name, []) if isinstance(r, int | float) and r > 0]
        if ratios:
            out[name] = float(statistics.median(ratios))
    return out


def corrected(prediction: Prediction, factors: Mapping[str, float]) -> Prediction:
    """``prediction`` with each figure (and the gate's cost percentile) scaled by its factor."""
    if not factors:
        return prediction
    figures = {
        name: Interval(i.expected * f, i.low * f, i.high * f) if (f := factors.get(name)) else i
        for name, i in prediction.figures.items()
    }
    return replace(
        prediction,
        figures=figures,
        cost_p90=prediction.cost_p90 * factors.get("cost", 1.0),
        correction=dict(factors),
    )
