"""Percentiles of measured values: one definition for every report and every rule.

A run's summary (each group's p50/p95 latency), its per-endpoint table and the dispatcher's
adaptive timeout and hedging threshold all quote percentiles of latencies; they must mean the
same thing by "p95", or a summary's group and endpoint columns disagree on identical samples.
The definition is linear interpolation between the two nearest ranks (numpy's default,
``method="linear"``), written in plain Python so the core needs no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0 to 100) of ``values``; None when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = q / 100 * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (rank - below))
