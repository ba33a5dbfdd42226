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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agot.errors import ConfigError
from agot.kairanban.chain import Kairanban
from agot.kairanban.options import DEFAULT_AGENTS, default_idobata_at
from agot.kairanban.schemas import DEFAULT_LABELS

VARIANTS = ("single", "independent", "kcs", "kcs+ibc")


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
