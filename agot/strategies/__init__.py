"""Reasoning strategies and their names (as used by the CLI and the eval harness)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agot.errors import ConfigError
from agot.registry import Registry
from agot.strategies.base import Outcome, RunContext, Strategy, failures_as_results
from agot.strategies.self_consistency import SelfConsistency
from agot.strategies.single_call import CoT, Direct

StrategyFactory = Callable[..., Strategy]

#: Strategy factories by name; third-party strategies register here (or through the
#: ``agot.plugins`` entry-point group, see :mod:`agot.registry`).
STRATEGIES: Registry[StrategyFactory] = Registry(
    "strategy",
    aliases={"self-consistency": "sc", "self_consistency": "sc", "chain-of-thought": "cot"},
)
ALIASES = STRATEGIES.aliases


@STRATEGIES.register("agot")
def _agot(**kw: Any) -> Strategy:
    from agot.controller import AGoT  # the engine loads only when AGoT is asked for

    return AGoT(**kw)


STRATEGIES.register("cot", CoT)
STRATEGIES.register("direct", Direct)
STRATEGIES.register("sc", SelfConsistency)


def register_strategy(
    name: str,
    factory: StrategyFactory,
    *,
    requires: Iterable[str] = (),
    install: str | None = None,
) -> StrategyFactory:
    """Make ``name`` usable in ``get_strategy``, ``agot solve --strategy`` and ``agot eval``."""
    return STRATEGIES.register(name, factory, requires=requires, install=install)


def get_strategy(name: str, **params: Any) -> Strategy:
    """Build a strategy by name (``agot``, ``cot``, ``direct``, ``sc``) with its parameters."""
    if not isinstance(name, str):
        raise ConfigError(f"strategy must be a name such as 'agot', got {type(name).__name__}")
    return STRATEGIES.get(name)(**params)


def strategy_names() -> list[str]:
    return STRATEGIES.names()


__all__ = [
    "STRATEGIES",
    "CoT",
    "Direct",
    "Outcome",
    "RunContext",
    "SelfConsistency",
    "Strategy",
    "failures_as_results",
    "get_strategy",
    "register_strategy",
    "strategy_names",
]
