"""Predict a whole run from its pilot: counts by bootstrap, wall time by simulation.

The pilot's items are items of the run, so their figures are known exactly; what is unknown is
the rest. Each bootstrap draw first resamples the pilot's items (how far the pilot's mean may
be from the data set's: with 20 items, the larger part of the uncertainty), then draws the
run's remaining items from that resample (how far the rest's total may be from its mean). An
item brings all its units (every strategy and model), so paired figures stay paired. The 90%
interval is the 5th to 95th percentile of the draws' totals; ``expected`` is the total's
expectation: the pilot's figures plus the remaining items times the pilot's mean.

Wall time is a total of nothing: each of a smaller number of draws lays its sampled units out
in a random run order and :func:`~agot.plan.simulate.simulate` replays them under the
scenario's limits. A price per hour charges that simulated time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agot.errors import ConfigError
from agot.percentile import percentile
from agot.plan.pilot import FIGURES, Pilot, UnitSample
from agot.plan.simulate import simulate
from agot.plan.whatif import Scenario, within_budget

#: Bootstrap draws for the additive figures.
RESAMPLES = 1000
#: Simulated calls a plan may spend on one scenario's wall time (bounds its CPU time).
SIMULATED_CALLS = 60_000
MIN_SIMULATIONS, MAX_SIMULATIONS = 16, 200


@dataclass(frozen=True)
class Interval:
    """An expected value with its 90% interval (5th and 95th percentiles)."""

    expected: float
    low: float
    high: float

    def dump(self, digits: int = 6) -> dict[str, float]:
        return {
            "expected": round(self.expected, digits),
            "low": round(self.low, digits),
            "high": round(self.high, digits),
        }

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Prediction:
    """One scenario's predicted figures (``calls``, ``prompt_tokens``, ``completion_tokens``,
    ``cost``, ``wall_s``) and what it assumed."""

    scenario: Scenario
    figures: dict[str, Interval]
    pilot_items: int
    simulations: int
    #: The 90th percentile of the cost draws (what ``--max-run-cost`` gates on).
    cost_p90: float
    #: Per figure, the factor past runs of this setup corrected it by (see ``calibration``).
    correction: dict[str, float] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        return {
            **{name: interval.dump() for name, interval in self.figures.items()},
            "cost_p90": round(self.cost_p90, 6),
            "items": self.scenario.items,
            "pilot_items": self.pilot_items,
            "simulations": self.simulations,
            "settings": self.scenario.describe(),
            "correction": {k: round(v, 4) for k, v in self.correction.items()},
        }


def predict(pilot: Pilot, scenario: Scenario, *, seed: int = 0, reuse: bool = False) -> Prediction:
    """The run of ``scenario.items`` items under ``scenario``, predicted from ``pilot``.

    ``reuse``: the run keeps the pilot's rows and runs only the other items, so its wall time is
    simulated for those (the counts still describe the whole run, the pilot's included)."""
    groups = [
        [_priced(within_budget(u, scenario.budget), scenario) for u in g] for g in pilot.by_item()
    ]
    groups = [g for g in groups if g]
    if not groups:
        raise ConfigError("the pilot recorded no units: nothing to predict from")
    rng = random.Random(seed)
    k, n = len(groups), scenario.items
    known, rest = (groups, n - k) if n >= k else ([], n)
    figures = [_figures(g) for g in groups]
    known_sum = [sum(f[j] for f in figures[: len(known)]) for j in range(len(FIGURES))]
    means = [sum(f[j] for f in figures) / k for j in range(len(FIGURES))]
    draws: list[list[float]] = [[] for _ in FIGURES]
    for _ in range(RESAMPLES):
        pilot_draw = [figures[rng.randrange(k)] for _ in range(k)]
        chosen = rng.choices(pilot_draw, k=rest)
        for j in range(len(FIGURES)):
            draws[j].append(known_sum[j] + sum(f[j] for f in chosen))
    out = {
        name: _interval(known_sum[j] + rest * means[j], draws[j]) for j, name in enumerate(FIGURES)
    }
    cost_draws = draws[FIGURES.index("cost")]
    walls, per_hour_costs = _simulate(groups, [] if reuse else known, rest, scenario, rng)
    out["wall_s"] = _interval(sum(walls) / len(walls), walls)
    if scenario.price is not None and scenario.price.per_hour is not None:
        out["cost"] = _interval(sum(per_hour_costs) / len(walls), per_hour_costs)
        cost_draws = per_hour_costs
    return Prediction(
        scenario=scenario,
        figures={name: out[name] for name in (*FIGURES, "wall_s")},
        pilot_items=k,
        simulations=len(walls),
        cost_p90=percentile(cost_draws, 90) or 0.0,
    )


def _simulate(
    groups: list[list[UnitSample]],
    known: list[list[UnitSample]],
    rest: int,
    scenario: Scenario,
    rng: random.Random,
) -> tuple[list[float], list[float]]:
    calls = sum(len(u.calls) for g in groups for u in g) / len(groups) * (len(known) + rest)
    runs = int(min(MAX_SIMULATIONS, max(MIN_SIMULATIONS, SIMULATED_CALLS // max(1.0, calls))))
    walls: list[float] = []
    for _ in range(runs):
        pilot_draw = [groups[rng.randrange(len(groups))] for _ in groups]
        order = [*known, *rng.choices(pilot_draw, k=rest)]
        rng.shuffle(order)
        walls.append(simulate([u for g in order for u in g], scenario.settings))
    hourly = scenario.price.per_hour if scenario.price and scenario.price.per_hour else 0.0
    return walls, [w / 3600.0 * hourly for w in walls]


def _priced(unit: UnitSample, scenario: Scenario) -> UnitSample:
    """``unit`` with its calls priced by the scenario's list price (unchanged without one;
    a price per hour is charged on wall time instead, so the calls then cost nothing)."""
    price = scenario.price
    if price is None:
        return unit
    calls = tuple(
        replace(
            c, cost=0.0 if c.cached else price.tokens_cost(c.prompt_tokens, c.completion_tokens)
        )
        for c in unit.calls
    )
    return replace(unit, calls=calls)


def _figures(group: Sequence[UnitSample]) -> tuple[float, ...]:
    totals = [0.0] * len(FIGURES)
    for unit in group:
        for j, value in enumerate(unit.figures.values()):
            totals[j] += value
    return tuple(totals)


def _interval(expected: float, draws: Sequence[float]) -> Interval:
    low = percentile(draws, 5) or 0.0
    high = percentile(draws, 95) or 0.0
    return Interval(expected=expected, low=min(low, expected), high=max(high, expected))
