"""Reasoning strategies and their names (as used by the CLI and the eval harness)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agot.registry import Registry
from agot.strategies.atom_of_thoughts import AoT
from agot.strategies.base import Outcome, RunContext, Strategy, failures_as_results
from agot.strategies.best_of_n import BestOfN
from agot.strategies.self_consistency import SelfConsistency
from agot.strategies.single_call import CoT, Direct
from agot.strategies.tree_of_thoughts import ToT

StrategyFactory = Callable[..., Strategy]

#: Strategy factories by name; third-party strategies register here (or through the
#: ``agot.plugins`` entry-point group, see :mod:`agot.registry`).
STRATEGIES: Registry[StrategyFactory] = Registry(
    "strategy",
    aliases={
        "self-consistency": "sc",
        "self_consistency": "sc",
        "chain-of-thought": "cot",
        "tree-of-thoughts": "tot",
        "atom-of-thoughts": "aot",
        "best-of-n": "bon",
    },
)
ALIASES = STRATEGIES.aliases


@STRATEGIES.register("agot")
def _agot(**kw: Any) -> Strategy:
    from agot.controller import AGoT  # the engine loads only when AGoT is asked for

    return AGoT(**kw)


STRATEGIES.register("cot", CoT)
STRATEGIES.register("direct", Direct)
STRATEGIES.register("sc", SelfConsistency)
STRATEGIES.register("tot", ToT)
STRATEGIES.register("aot", AoT)
STRATEGIES.register("bon", BestOfN)


#: Make a name usable in ``get_strategy``, ``agot solve --strategy`` and ``agot eval``:
#: ``register_strategy("mine", factory)``, or ``@register_strategy("mine")`` on the factory.
register_strategy = STRATEGIES.register
strategy_names = STRATEGIES.names


def get_strategy(name: str, **params: Any) -> Strategy:
    """Build a strategy by name (``agot``, ``cot``, ``direct``, ``sc``, ``tot``, ``aot``,
    ``bon``) with its parameters."""
    return STRATEGIES.get(name)(**params)


__all__ = [
    "STRATEGIES",
    "AoT",
    "BestOfN",
    "CoT",
    "Direct",
    "Outcome",
    "RunContext",
    "SelfConsistency",
    "Strategy",
    "ToT",
    "failures_as_results",
    "get_strategy",
    "register_strategy",
    "strategy_names",
]
