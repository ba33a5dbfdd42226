"""Reasoning strategies and their names (as used by the CLI and the eval harness)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agot.errors import ConfigError
from agot.strategies.base import Outcome, RunContext, Strategy, failures_as_results
from agot.strategies.self_consistency import SelfConsistency
from agot.strategies.single_call import CoT, Direct


def _agot(**kw: Any) -> Strategy:
    from agot.controller import AGoT

    return AGoT(**kw)


_FACTORIES: dict[str, Callable[..., Strategy]] = {
    "agot": _agot,
    "cot": CoT,
    "direct": Direct,
    "sc": SelfConsistency,
}
ALIASES = {"self-consistency": "sc", "self_consistency": "sc", "chain-of-thought": "cot"}
STRATEGY_NAMES = tuple(_FACTORIES)


def register_strategy(name: str, factory: Callable[..., Strategy]) -> None:
    _FACTORIES[name] = factory


def get_strategy(name: str, **params: Any) -> Strategy:
    """Build a strategy by name (``agot``, ``cot``, ``direct``, ``sc``) with its parameters."""
    if not isinstance(name, str):
        raise ConfigError(f"strategy must be a name such as 'agot', got {type(name).__name__}")
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _FACTORIES:
        raise ConfigError(f"unknown strategy {name!r}: choose from {', '.join(sorted(_FACTORIES))}")
    return _FACTORIES[key](**params)


__all__ = [
    "STRATEGY_NAMES",
    "CoT",
    "Direct",
    "Outcome",
    "RunContext",
    "SelfConsistency",
    "Strategy",
    "failures_as_results",
    "get_strategy",
    "register_strategy",
]
