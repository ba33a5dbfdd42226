"""Kairanban-style CoT with Idobata conversation: multi-agent probabilistic classification.

>>> import agot
>>> k = agot.Kairanban(labels=["negative", "neutral", "positive"], agents=5, idobata_at=3)
>>> r = await k.predict("The service was slow but the food was great.", model="local")
>>> r.label, r.distribution, [(s.entropy, s.variance) for s in r.trajectory], r.dialogue

See :mod:`agot.kairanban.chain` for the exact information flow, :mod:`agot.kairanban.metrics`
for the per-stage measures and :mod:`agot.kairanban.variants` for the single / independent /
KCS / KCS+IBC configurations. Scoring on a labelled dataset goes through the one eval runner
(:mod:`agot.evals.classification`).
"""

from agot.kairanban.chain import AGGREGATES, Kairanban
from agot.kairanban.schemas import (
    DEFAULT_LABELS,
    AgentDocument,
    Comment,
    KairanbanResult,
    Stage,
    distribution_model,
    document_model,
)

__all__ = [
    "AGGREGATES",
    "DEFAULT_LABELS",
    "AgentDocument",
    "Comment",
    "Kairanban",
    "KairanbanResult",
    "Stage",
    "distribution_model",
    "document_model",
]
