"""Uncertainty for eval numbers: bootstrap confidence intervals and paired comparisons.

Every headline metric is reported with a percentile bootstrap 95% interval (items resampled
with replacement, a fixed seed so a summary is reproducible). Two strategies run on the same
items are compared *paired*: the bootstrap resamples items and recomputes the difference of
means on each resample (which keeps the per-item correlation that an unpaired comparison would
throw away), and an exact two-sided sign test counts items where one side scored higher.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

DEFAULT_RESAMPLES = 2000
#: Most resamples a run may ask for (50x the default): beyond it the intervals do not get
#: meaningfully tighter, and 10^9 of them held gigabytes after the run was paid for.
MAX_RESAMPLES = 100_000
DEFAULT_SEED = 0


class Estimate(BaseModel):
    """A value with its bootstrap interval (``low``/``high`` None when n == 0)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    confidence: float = 0.95

    def format(self, digits: int = 3) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap_mean(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap interval."""
    import numpy as np  # here: agot eval starts without numpy

    data = np.asarray(values, dtype=float)
    n = int(data.size)
    if n == 0:
        return Estimate(value=None, low=None, high=None, n=0, confidence=confidence)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)  # bound memory: about 16 MB of indices at a time
    means = np.concatenate(
        [
            data[rng.integers(0, n, size=(min(chunk, resamples - start), n))].mean(axis=1)
            for start in range(0, resamples, chunk)
        ]
    )
    low, high = _percentiles(means, confidence)
    return Estimate(value=float(data.mean()), low=low, high=high, n=n, confidence=confidence)


def bootstrap_statistic(
    items: Sequence[T],
    statistic: Callable[[Sequence[T]], float],
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """Any corpus-level statistic (macro-F1, ...) with a percentile bootstrap interval."""
    import numpy as np  # here: agot eval starts without numpy

    n = len(items)
    if n == 0:
        return Estimate(value=None, low=None, high=None, n=0, confidence=confidence)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        picked = rng.integers(0, n, size=n)
        values.append(statistic([items[i] for i in picked]))
    finite = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    low, high = _percentiles(finite, confidence) if finite.size else (None, None)
    return Estimate(value=float(statistic(items)), low=low, high=high, n=n, confidence=confidence)


class PairedComparison(BaseModel):
    """``a`` minus ``b`` on the items both scored, with a paired bootstrap CI and a sign test."""

    a: str
    b: str
    metric: str
    n: int
    mean_a: float | None
    mean_b: float | None
    difference: Estimate
    wins: int
    losses: int
    ties: int
    sign_test_p: float | None

    def format(self) -> str:
        p = "n/a" if self.sign_test_p is None else f"{self.sign_test_p:.3g}"
        return (
            f"{self.a} - {self.b} ({self.metric}, {self.n} paired items): "
            f"{self.difference.format()}; wins {self.wins}, losses {self.losses}, "
            f"ties {self.ties}; sign test p={p}"
        )


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    *,
    names: tuple[str, str] = ("a", "b"),
    metric: str = "score",
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedComparison:
    """Compare two score lists aligned item by item (same length, same item order)."""
    import numpy as np  # here: agot eval starts without numpy

    if len(a) != len(b):
        raise ValueError(f"paired comparison needs aligned scores, got {len(a)} and {len(b)}")
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = bootstrap_mean(xa - xb, confidence=confidence, resamples=resamples, seed=seed)
    wins, losses = int((xa > xb).sum()), int((xa < xb).sum())
    return PairedComparison(
        a=names[0],
        b=names[1],
        metric=metric,
        n=len(a),
        mean_a=float(xa.mean()) if len(a) else None,
        mean_b=float(xb.mean()) if len(b) else None,
        difference=diff,
        wins=wins,
        losses=losses,
        ties=len(a) - wins - losses,
        sign_test_p=sign_test(wins, losses),
    )


def sign_test(wins: int, losses: int) -> float | None:
    """Exact two-sided binomial sign test p-value (ties dropped); None with no untied pair."""
    n = wins + losses
    if n == 0:
        return None
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def _percentiles(samples: Any, confidence: float) -> tuple[float, float]:
    import numpy as np  # here: agot eval starts without numpy

    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(low), float(high)
