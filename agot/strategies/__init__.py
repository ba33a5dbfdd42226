"""Reasoning strategies and their names (as used by the CLI and the eval harness)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agot.lazy import lazy_attributes
from agot.registry import Registry
from agot.strategies.base import Outcome, RunContext, Strategy, failures_as_results
from agot.strategies.self_consistency import SelfConsistency
from agot.strategies.single_call import CoT, Direct

if TYPE_CHECKING:
    from agot.strategies.atom_of_thoughts import AoT
    from agot.strategies.best_of_n import BestOfN
    from agot.strategies.tree_of_thoughts import ToT

#: The search strategies load on first use: they build thought graphs (networkx), which a
#: direct or CoT run never needs, and every `agot` process would import them at start-up.
_SEARCH = {
    "AoT": "agot.strategies.atom_of_thoughts",
    "BestOfN": "agot.strategies.best_of_n",
    "ToT": "agot.strategies.tree_of_thoughts",
}
__getattr__ = lazy_attributes(__name__, _SEARCH)

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
        # The Kairanban variants' other spellings (agot.kairanban.variants.ALIASES).
        "kcs-ibc": "kcs+ibc",
        "kcs_ibc": "kcs+ibc",
        "ibc": "kcs+ibc",
        "independent_vote": "independent-vote",
        "independent_mean": "independent-mean",
        "vote": "independent-vote",
        "mean": "independent-mean",
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


def _search(name: str) -> StrategyFactory:
    """A factory for search strategy class ``name``, imported when the strategy is built."""

    def build(**kw: Any) -> Strategy:
        cls: StrategyFactory = __getattr__(name)
        return cls(**kw)

    build.__doc__ = f"{name} (imported on first use)"
    return build


STRATEGIES.register("tot", _search("ToT"))
STRATEGIES.register("aot", _search("AoT"))
STRATEGIES.register("bon", _search("BestOfN"))
# The Kairanban variants (classification), registered by their module on first use.
for _name in ("single", "independent", "independent-vote", "independent-mean", "kcs", "kcs+ibc",
              "kairanban"):  # fmt: skip
    STRATEGIES.register_lazy(_name, "agot.kairanban.variants")


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
