"""The four configurations the paper compares, run on the same items.

=====================  ==================================================================
variant                what runs
=====================  ==================================================================
``single``             one agent from the empty board (1 call per text)
``independent``        N agents from the empty board, no sharing, reported twice: majority
                       vote (``independent-vote``) and mean of P (``independent-mean``);
                       one run, so both rows cost the same N calls per text
``kcs``                the kairanban chain of N agents, prediction = last agent's P
``kcs+ibc``            the chain with the idobata round after agent m (N + N calls)
=====================  ==================================================================

Every variant gets the same sampling settings and seed, so agent ``i`` samples with the same
seed in every variant. To compare them on a labelled dataset, run them through the eval runner
(``agot eval tweet_eval --strategy single,independent,kcs,kcs+ibc``, or
:func:`agot.evals.run_eval`): see :mod:`agot.evals.classification`.

Each name of :data:`STRATEGY_NAMES` is a strategy in :data:`agot.strategies.STRATEGIES` (this
module registers them when the registry first looks one up), built by :func:`variant`: an
ordinary :class:`Kairanban` whose ``readings`` say which aggregates an eval reports, one
results row each (``independent``: one run, rows ``independent-vote`` and ``independent-mean``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agot.config import check_count
from agot.errors import ConfigError
from agot.kairanban.chain import Kairanban
from agot.kairanban.options import DEFAULT_AGENTS, MAX_AGENTS, default_idobata_at
from agot.kairanban.schemas import DEFAULT_LABELS
from agot.strategies import STRATEGIES

VARIANTS = ("single", "independent", "kcs", "kcs+ibc")

#: The variants' strategy names (canonical name -> what runs); the strategy registry holds
#: their other spellings (``kcs-ibc``, ``vote``, ...).
STRATEGY_NAMES = {
    "single": "one agent",
    "independent": "N independent agents: rows independent-vote and independent-mean",
    "independent-vote": "N independent agents, majority vote",
    "independent-mean": "N independent agents, mean distribution",
    "kcs": "kairanban chain of N agents",
    "kcs+ibc": "kairanban chain with the idobata round after agent K",
    "kairanban": "kcs+ibc (kcs with --idobata-at 0)",
}
#: What each name builds, when it is not its own variant, and the aggregates it reports.
_BUILDS = {
    "independent": ("independent", ("vote", "mean")),
    "independent-vote": ("independent", ("vote",)),
    "independent-mean": ("independent", ("mean",)),
}


def variant_strategies(
    labels: Sequence[str] = DEFAULT_LABELS,
    *,
    agents: int = DEFAULT_AGENTS,
    idobata_at: int | None = None,
    variants: Sequence[str] = VARIANTS,
    **options: Any,
) -> dict[str, Kairanban]:
    """One :class:`Kairanban` per variant name; ``options`` go to every one of them.

    ``idobata_at`` places kcs+ibc's idobata round (None: :func:`default_idobata_at`, as in
    ``agot eval``)."""
    if idobata_at is None:
        idobata_at = default_idobata_at(agents)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {unknown}: choose from {', '.join(VARIANTS)}")
    # The single agent is agent 1 of the others: same model and persona as their first agent.
    single = dict(options)
    for key in ("models", "personas"):
        value = options.get(key)
        if value is not None and not isinstance(value, str):
            single[key] = list(value)[:1] or None
    build = {
        "single": lambda: Kairanban(labels, agents=1, **single),
        "independent": lambda: Kairanban(
            labels, agents=agents, independent=True, aggregate="vote", **options
        ),
        "kcs": lambda: Kairanban(labels, agents=agents, **options),
        "kcs+ibc": lambda: Kairanban(labels, agents=agents, idobata_at=idobata_at, **options),
    }
    return {name: build[name]() for name in variants}


def variant(
    name: str,
    labels: Sequence[str] = DEFAULT_LABELS,
    *,
    agents: int = DEFAULT_AGENTS,
    idobata_at: int | None = None,
    **options: Any,
) -> Kairanban:
    """The strategy ``name`` of :data:`STRATEGY_NAMES` (or an alias), as ``agot eval`` runs it.

    ``idobata_at``: None for the default (:func:`default_idobata_at`), 0 for none. ``options``
    go to the :class:`Kairanban` (``temperature``, ``max_tokens``, ``seed``, ``models``, ...).
    """
    key = STRATEGIES.key(name)
    if key not in STRATEGY_NAMES:
        raise ConfigError(
            f"unknown Kairanban variant {name!r}: choose from {', '.join(STRATEGY_NAMES)}"
        )
    check_count(agents, "--agents", maximum=MAX_AGENTS)
    if idobata_at is None:
        idobata = default_idobata_at(agents) if agents > 1 else None
    else:
        idobata = check_count(idobata_at, "--idobata-at (0: none)", minimum=0) or None
    if key == "kcs+ibc" and idobata is None:
        raise ConfigError(
            "kcs+ibc needs an idobata round: pass --idobata-at K with 1 <= K <= --agents "
            "(use kcs for the chain without one)"
        )
    if key == "kairanban":
        key = "kcs+ibc" if idobata else "kcs"
    built, readings = _BUILDS.get(key, (key, None))
    if readings is not None:
        options["readings"] = readings
    chain = variant_strategies(
        labels, agents=agents, idobata_at=idobata or 1, variants=[built], **options
    )
    return chain[built]


def _register() -> None:
    for name in STRATEGY_NAMES:

        def build(*args: Any, _name: str = name, **kwargs: Any) -> Kairanban:
            return variant(_name, *args, **kwargs)

        build.__doc__ = f"Kairanban variant {name}: {STRATEGY_NAMES[name]}"
        STRATEGIES.register(name, build)


_register()
