"""Scorers: per-item metrics from a strategy's result, faithful to each benchmark's own rules.

One module per benchmark family, each naming in its docstring the official script (and
version) it reproduces; the parity tests re-implement those rules from their descriptions
and compare on generated predictions.

* :class:`QAScorer` (``qa``, :mod:`.hotpotqa`) — HotpotQA EM/F1 (``hotpot_evaluate_v1.py``).
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

from agot.errors import ConfigError
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
from agot.evals.scorers.hotpotqa import QAScorer, exact_match, f1_score, normalize_answer, qa_scores
from agot.evals.scorers.musique import MuSiQueScorer, musique_full_scorer

ScorerFactory = Callable[..., Scorer]
_SCORERS: dict[str, ScorerFactory] = {
    "qa": QAScorer,
    "em_f1": QAScorer,
    "mc": MultipleChoiceScorer,
    "mc_lenient": lenient_choice_scorer,
    "musique": MuSiQueScorer,
    "musique_full": musique_full_scorer,
    "fanoutqa": FanOutQAScorer,
    "judge": JudgeScorer,
}


def register_scorer(name: str, factory: ScorerFactory) -> None:
    """Make ``name`` usable in a dataset spec and in ``agot eval --scorer NAME``."""
    _SCORERS[name.strip().lower()] = factory


def get_scorer(spec: str | Scorer, **params: Any) -> Scorer:
    """A scorer object from a name (plugins such as ``judge`` load on demand) or an object."""
    if not isinstance(spec, str):
        return spec
    key = spec.strip().lower()
    if key not in _SCORERS:
        from agot.evals.datasets import load_plugins

        load_plugins()
    if key not in _SCORERS:
        raise ConfigError(f"unknown scorer {spec!r}: choose from {', '.join(sorted(_SCORERS))}")
    return _SCORERS[key](**params)


def scorer_names() -> list[str]:
    return sorted(_SCORERS)


__all__ = [
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
    "answer_in_text",
    "exact_match",
    "extract_choice",
    "f1_score",
    "fanoutqa_normalize",
    "fanoutqa_normalizer",
    "get_scorer",
    "normalize_answer",
    "qa_scores",
    "raw_text",
    "register_scorer",
    "scorer_names",
    "simple_evals_choice",
]
