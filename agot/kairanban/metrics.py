"""Per-text measures of a Kairanban run: entropy, disagreement, aggregation.

Definitions (used in every report):

* **entropy** of a distribution ``p`` over ``L`` labels: the Shannon entropy in nats,
  ``H(p) = -sum_l p(l) ln p(l)``, with ``0 ln 0 = 0``. It is 0 for a one-hot distribution and
  ``ln L`` (1.0986 for three labels) for the uniform one. The entropy *of a stage* ``k`` is
  ``H`` of the board after stage ``k`` (agent ``k``'s distribution).
* **variance** at stage ``k``: with ``p_1 .. p_k`` the distributions of the agents up to ``k``
  that produced one, the population variance (``ddof = 0``) of ``p_i(l)`` over ``i``, averaged
  over the labels ``l``: ``V_k = (1/L) sum_l (1/k) sum_i (p_i(l) - mean_i p_i(l))^2``.
  0 when the agents agree exactly; ``0.5 / L`` for two equal camps of one-hot votes.

These run inside every prediction, so they use only the standard library (the ``agot`` core does
not depend on numpy/scipy); the tests check them against ``scipy.stats.entropy`` and
``numpy.var``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from agot.kairanban.schemas import AgentDocument, Stage


def entropy(p: Mapping[str, float] | Sequence[float]) -> float:
    """Shannon entropy of ``p`` in nats (``0 ln 0 = 0``)."""
    values = list(p.values()) if isinstance(p, Mapping) else list(p)
    h = -math.fsum(x * math.log(x) for x in values if x > 0)
    return h if h > 0 else 0.0  # never -0.0 (one-hot) or float dust below 0


def variance(distributions: Sequence[Mapping[str, float]], labels: Sequence[str]) -> float:
    """Mean over labels of the population variance of ``p_i(label)`` across distributions."""
    if not distributions:
        raise ValueError("variance needs at least one distribution")
    if len(distributions) == 1:
        return 0.0
    return statistics.fmean(
        statistics.pvariance([d[label] for d in distributions]) for label in labels
    )


def mean_distribution(
    distributions: Sequence[Mapping[str, float]], labels: Sequence[str]
) -> dict[str, float]:
    """The label-wise mean of ``distributions`` (a distribution again)."""
    if not distributions:
        raise ValueError("mean_distribution needs at least one distribution")
    return {label: statistics.fmean(d[label] for d in distributions) for label in labels}


def top_label(p: Mapping[str, float], labels: Sequence[str]) -> str:
    """The most probable label; ties go to the label listed first."""
    best = labels[0]
    for label in labels[1:]:
        if p[label] > p[best]:
            best = label
    return best


def vote_distribution(
    distributions: Sequence[Mapping[str, float]], labels: Sequence[str]
) -> dict[str, float]:
    """Majority vote as shares: each distribution votes for its top label.

    The winner (via :func:`vote_winner`) breaks ties on the mean probability, so the shares
    alone do not decide a tie.
    """
    if not distributions:
        raise ValueError("vote_distribution needs at least one distribution")
    counts = dict.fromkeys(labels, 0)
    for d in distributions:
        counts[top_label(d, labels)] += 1
    return {label: counts[label] / len(distributions) for label in labels}


def vote_winner(distributions: Sequence[Mapping[str, float]], labels: Sequence[str]) -> str:
    """Majority-vote label: most votes; a tie goes to the higher mean probability, then order."""
    shares = vote_distribution(distributions, labels)
    mean = mean_distribution(distributions, labels)
    best = labels[0]
    for label in labels[1:]:
        if (shares[label], mean[label]) > (shares[best], mean[best]):
            best = label
    return best


def trajectory(
    documents: Sequence[AgentDocument], labels: Sequence[str], idobata_at: int | None
) -> list[Stage]:
    """One :class:`Stage` per document, in order (see the module docstring for the measures).

    A failed agent keeps the previous board (its stage repeats the previous distribution and
    entropy) and is left out of the variance.
    """
    stages: list[Stage] = []
    board: dict[str, float] | None = None
    so_far: list[dict[str, float]] = []
    for doc in documents:
        if doc.distribution is not None:
            board = dict(doc.distribution)
            so_far.append(board)
        stages.append(
            Stage(
                stage=doc.agent,
                agent=doc.agent,
                distribution=board,
                entropy=entropy(board) if board is not None else None,
                variance=variance(so_far, labels) if so_far else None,
                mean_distribution=mean_distribution(so_far, labels) if so_far else None,
                agents_counted=len(so_far),
                after_idobata=idobata_at is not None and doc.agent > idobata_at,
                error=doc.error,
            )
        )
    return stages


def aggregates(
    documents: Sequence[AgentDocument], labels: Sequence[str]
) -> dict[str, dict[str, float]]:
    """The three aggregations of the agents' distributions (empty when none succeeded).

    ``last``: the last successful agent's distribution (the board at the end);
    ``mean``: the label-wise mean; ``vote``: majority-vote shares.
    """
    valid = [d.distribution for d in documents if d.distribution is not None]
    if not valid:
        return {}
    return {
        "last": dict(valid[-1]),
        "mean": mean_distribution(valid, labels),
        "vote": vote_distribution(valid, labels),
    }
