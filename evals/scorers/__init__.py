"""Scorers: per-item metrics from a strategy's result, faithful to each benchmark's own rules.

One module per benchmark family, each naming in its docstring the official script (and
version) it reproduces; the parity tests re-implement those rules from their descriptions
and compare on generated predictions.

* :class:`QAScorer` (``qa``, :mod:`.hotpotqa`) — HotpotQA EM/F1 (``hotpot_evaluate_v1.py``).
* :class:`SquadScorer` (``squad``, :mod:`.squad`) — SQuAD-rule EM/F1 (HybridQA's
  ``evaluate_script.py``; MuSiQue's answer metric uses the same rule).
* :class:`MultipleChoiceScorer` (``mc`` / ``mc_lenient``, :mod:`.choice`) — choice-letter
  accuracy; the default mode is simple-evals' first-match regex, ``mc_lenient`` agot's
  lenient reader, both with an ``unparsed`` rate.
* :class:`MuSiQueScorer` (``musique`` / ``musique_full``, :mod:`.musique`) — MuSiQue's
  official answer EM/F1, answerability and paired metrics (``evaluate_v1.0.py``).
* :class:`FanOutQAScorer` (``fanoutqa``, :mod:`.fanoutqa`) — FanOutQA loose/strict accuracy.
* :class:`ExactTaskScorer`, :class:`JudgeScorer` (:mod:`.adapters`) — task verifiers and an
  LLM judge.

The contract (:class:`Scorer`, :class:`Score`, :class:`ScoreContext`) is in :mod:`.base`.
Datasets bring their own scorers through :func:`register_scorer` or by passing scorer objects
to :func:`~agot.evals.datasets.register_dataset`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agot.evals.scorers.adapters import ExactTaskScorer, JudgeScorer
from agot.evals.scorers.base import Score, ScoreContext, Scorer, raw_text
from agot.evals.scorers.choice import (
    MultipleChoiceScorer,
    extract_choice,
    lenient_choice_scorer,
    simple_evals_choice,
)
from agot.evals.scorers.fanoutqa import (
    FanOutAccuracy,
    FanOutQAScorer,
    answer_in_text,
    fanoutqa_normalize,
    fanoutqa_normalizer,
)
from agot.evals.scorers.hotpotqa import (
    QAScorer,
    exact_match,
    f1_score,
    normalize_squad_answer,
    qa_scores,
)
from agot.evals.scorers.musique import MuSiQueScorer, musique_full_scorer
from agot.evals.scorers.squad import SquadScorer, squad_scores
from agot.registry import Registry

ScorerFactory = Callable[..., Scorer]

#: Scorer factories by name (what a dataset spec and ``agot eval --scorer NAME`` use).
SCORERS: Registry[ScorerFactory] = Registry("scorer")
_BUILTIN: dict[str, ScorerFactory] = {
    "qa": QAScorer,
    "em_f1": QAScorer,
    "squad": SquadScorer,
    "mc": MultipleChoiceScorer,
    "mc_lenient": lenient_choice_scorer,
    "musique": MuSiQueScorer,
    "musique_full": musique_full_scorer,
    "fanoutqa": FanOutQAScorer,
    "judge": JudgeScorer,
}
for _name, _factory in _BUILTIN.items():
    SCORERS.register(_name, _factory)
SCORERS.register_lazy("classification", "agot.evals.classification")


#: Make a name usable in a dataset spec and in ``agot eval --scorer NAME``:
#: ``register_scorer("mine", factory)``, or ``@register_scorer("mine")`` on the factory.
register_scorer = SCORERS.register
scorer_names = SCORERS.names


def get_scorer(spec: str | Scorer, **params: Any) -> Scorer:
    """A scorer object from a name (built-ins load on demand) or an object."""
    if not isinstance(spec, str):
        return spec
    return SCORERS.get(spec)(**params)


__all__ = [
    "SCORERS",
    "ExactTaskScorer",
    "FanOutAccuracy",
    "FanOutQAScorer",
    "JudgeScorer",
    "MuSiQueScorer",
    "MultipleChoiceScorer",
    "QAScorer",
    "Score",
    "ScoreContext",
    "Scorer",
    "SquadScorer",
    "answer_in_text",
    "exact_match",
    "extract_choice",
    "f1_score",
    "fanoutqa_normalize",
    "fanoutqa_normalizer",
    "get_scorer",
    "normalize_squad_answer",
    "qa_scores",
    "raw_text",
    "register_scorer",
    "scorer_names",
    "simple_evals_choice",
    "squad_scores",
]
