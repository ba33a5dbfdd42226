"""Scenarios: the run as configured, and the "what if" variations shown beside it.

``--what-if KEY=V1,V2,...`` adds one scenario per value, each changing that one setting of the
planned run and nothing else, so the columns compare like with like. What each key changes:

* ``concurrency``: calls in flight per model (and units in flight with it, unless
  ``--items-in-flight`` was given, as in ``agot eval``); ``items-in-flight``: units at once;
* ``rpm``, ``tpm``: each model's request and token rate limits;
* ``price``: every call priced at another model's list price (litellm's table);
  ``price-per-hour``: the run charged per hour of simulated wall time (a local engine's machine);
* ``max-calls``, ``budget-tokens``, ``max-cost``, ``max-wall``: another per-item budget (the
  ``agot eval`` flags of those names); each pilot unit is cut where that budget would have
  stopped it (an estimate: a strategy that plans around its budget, as AGoT keeps its synthesis
  call in reserve, ends its units differently);
* ``items``: another number of items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from agot.budget import Budget
from agot.errors import ConfigError
from agot.plan.pilot import CallSample, UnitSample
from agot.plan.prices import Price, list_price, per_hour
from agot.plan.simulate import Settings

#: The keys ``--what-if`` takes (see the module docstring).
KEYS = (
    "concurrency",
    "items-in-flight",
    "rpm",
    "tpm",
    "price",
    "price-per-hour",
    "max-calls",
    "budget-tokens",
    "max-cost",
    "max-wall",
    "items",
)

#: Budget keys and the :class:`~agot.budget.Budget` fields they set.
_BUDGET = {
    "max-calls": "max_calls",
    "budget-tokens": "max_tokens",
    "max-cost": "max_cost",
    "max-wall": "max_wall_s",
}

#: At most this many scenarios per plan (each simulates the run again).
MAX_SCENARIOS = 12


@dataclass(frozen=True)
class Scenario:
    """One column of a plan: the settings, price, per-item budget and size it assumes."""

    label: str
    settings: Settings
    items: int
    price: Price | None = None
    budget: Budget | None = None
    #: ``items_in_flight`` follows ``concurrency`` (no ``--items-in-flight`` given).
    items_follow: bool = True

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "items": self.items, **self.settings.describe()}
        if self.price is not None:
            out["price"] = self.price.describe()
        if self.budget is not None:
            out["item_budget"] = self.budget.model_dump(exclude_none=True)
        return out


def parse_what_if(specs: Sequence[str], base: Scenario) -> list[Scenario]:
    """The scenarios ``--what-if`` specs describe, each ``base`` with one setting changed.

    A ConfigError names the first bad key or value (before any pilot call is made)."""
    out: list[Scenario] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip().lower().replace("_", "-")
        if not sep or not values.strip():
            raise ConfigError(
                f"--what-if {spec!r}: write KEY=VALUE[,VALUE...], e.g. concurrency=8,16"
            )
        if key not in KEYS:
            raise ConfigError(f"--what-if: unknown key {key!r}; known keys: {', '.join(KEYS)}")
        for value in (v.strip() for v in values.split(",")):
            if not value:
                raise ConfigError(f"--what-if {spec!r}: an empty value")
            out.append(_vary(base, key, value))
    if len(out) > MAX_SCENARIOS:
        raise ConfigError(f"--what-if: {len(out)} scenarios; at most {MAX_SCENARIOS} per plan")
    return out


def _vary(base: Scenario, key: str, value: str) -> Scenario:
    label = f"{key}={value}"
    settings = base.settings
    if key == "price":
        return replace(base, label=label, price=list_price(value))
    if key == "price-per-hour":
        return replace(base, label=label, price=per_hour(_number(key, value)))
    if key in ("concurrency", "items-in-flight", "items", "max-calls", "budget-tokens"):
        count = _count(key, value)
        if key == "items":
            return replace(base, label=label, items=count)
        if key == "items-in-flight":
            return replace(base, label=label, settings=replace(settings, items_in_flight=count))
        if key == "concurrency":
            flight = count if base.items_follow else settings.items_in_flight
            varied = replace(
                settings,
                concurrency={},
                default_concurrency=count,
                items_in_flight=flight,
            )
            return replace(base, label=label, settings=varied)
        return replace(base, label=label, budget=_budget(base.budget, key, count))
    number = _number(key, value)
    if number <= 0:
        raise ConfigError(f"--what-if {label}: must be greater than 0")
    if key == "rpm":
        return replace(base, label=label, settings=replace(settings, rpm=number))
    if key == "tpm":
        return replace(base, label=label, settings=replace(settings, tpm=number))
    return replace(base, label=label, budget=_budget(base.budget, key, number))


def _budget(base: Budget | None, key: str, value: float) -> Budget:
    fields = base.model_dump(exclude_none=True) if base is not None else {}
    return Budget(**{**fields, _BUDGET[key]: value})


def _count(key: str, value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise ConfigError(f"--what-if {key}={value}: a whole number is needed") from None
    if count < 1:
        raise ConfigError(f"--what-if {key}={value}: must be at least 1")
    return count


def _number(key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"--what-if {key}={value}: a number is needed") from None


def within_budget(unit: UnitSample, budget: Budget | None) -> UnitSample:
    """``unit`` as a per-item ``budget`` would have cut it: calls are taken in the order they
    were sent while the budget allows the next one (as the dispatcher checks before each call),
    and a call whose predecessor was cut is cut too. Wall time is read off the unit's own
    schedule with unlimited slots."""
    if budget is None or not unit.calls:
        return unit
    kept: dict[int, int] = {}
    calls: list[CallSample] = []
    used_tokens = 0
    used_cost = 0.0
    ends: list[float] = []
    for i, call in enumerate(unit.calls):
        ready = max((ends[d] for d in call.deps), default=0.0) + call.gap_s
        ends.append(ready + call.service_s)
        if any(d not in kept for d in call.deps):
            continue
        if budget.max_calls is not None and len(calls) >= budget.max_calls:
            continue
        if budget.max_tokens is not None and used_tokens + call.tokens > budget.max_tokens:
            continue
        if budget.max_cost is not None and used_cost >= budget.max_cost:
            continue
        if budget.max_wall_s is not None and ready >= budget.max_wall_s:
            continue
        kept[i] = len(calls)
        calls.append(replace(call, deps=tuple(kept[d] for d in call.deps)))
        used_tokens += call.tokens
        used_cost += call.cost
    return replace(unit, calls=tuple(calls))
