"""Scorers: per-item metrics from a strategy's result, faithful to each benchmark's own rules.

* :class:`QAScorer` — HotpotQA's exact match and F1 as ``hotpot_evaluate_v1.py`` defines them:
  normalise (lowercase, drop punctuation, drop the articles a/an/the, collapse white space);
  EM is equality of the normalised strings; F1 counts shared tokens with multiplicity (a
  Counter intersection, not a set) and is 0 when either side normalises to yes/no/noanswer and
  the two differ. With several gold forms (aliases) each metric takes its best match.
* :class:`MultipleChoiceScorer` — accuracy over choice letters, with the share of replies whose
  letter could not be found reported as ``unparsed`` (an unparsed reply scores 0, never a guess).
* :class:`FanOutQAScorer` — FanOutQA's loose accuracy (share of the gold answer strings found in
  the prediction, dict keys and values both counting) and strict accuracy (all of them found).

A scorer is an object with ``name``, ``metrics`` (per-item metric names; the first is the
headline unless ``headline`` says otherwise) and ``async score(record, result, ctx) -> Score``;
it may override ``aggregate`` for corpus-level metrics (macro-F1 ...), which the summary then
bootstraps by resampling items. Datasets bring their own scorers (a Game of 24 verifier, a
judge model) through :func:`register_scorer` or by passing scorer objects to
:func:`~agot.evals.datasets.register_dataset`.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from agot.errors import ConfigError
from agot.evals.records import EvalRecord
from agot.result import Result

# --------------------------------------------------------------------------------------------
# HotpotQA EM / F1


def normalize_answer(text: str) -> str:
    """HotpotQA/SQuAD normalisation: lower, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(string.punctuation)
_SPECIAL = ("yes", "no", "noanswer")


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 with HotpotQA's yes/no/noanswer rule."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in _SPECIAL or ref in _SPECIAL) and pred != ref:
        return 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    shared = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(pred_tokens)
    recall = shared / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def qa_scores(prediction: str | None, gold: Any) -> dict[str, float]:
    """``{"em", "f1"}`` of ``prediction`` against one gold string or a list of gold forms."""
    golds = _gold_strings(gold)
    if prediction is None or not golds:
        return {"em": 0.0, "f1": 0.0}
    return {
        "em": max(exact_match(prediction, g) for g in golds),
        "f1": max(f1_score(prediction, g) for g in golds),
    }


def _gold_strings(gold: Any) -> list[str]:
    if gold is None:
        return []
    if isinstance(gold, str):
        return [gold]
    if isinstance(gold, list | tuple):
        return [str(g) for g in gold]
    return [str(gold)]


# --------------------------------------------------------------------------------------------
# Multiple-choice letter extraction

_DECORATED = r"[\s*_`\"'\[\(]*([{letters}])(?![A-Za-z0-9])[\s*_`\"'\]\)]*"


def extract_choice(text: str | None, letters: str = "ABCD") -> str | None:
    """The chosen letter, or None when the reply names none ("unparsed", never a guess).

    Looks for the last ``Answer: X``-style statement (case-insensitive, "final answer",
    "the answer is", markdown bold and brackets tolerated: ``ANSWER: (B)``, ``**Answer:**
    **C**``); failing that, accepts a reply whose last line is a lone, optionally decorated
    letter (``(B)``, ``**B**``, ``B.``).
    """
    if not text:
        return None
    letter_class = re.escape(letters)
    # The keyword is case-insensitive, the letter is not: "the answer is a compound" is no "A".
    keyword = re.compile(
        r"(?i:answer)\s*(?:(?i:is)|:|：)[\s:：]*(?:(?i:option|choice)\s+)?"
        + _DECORATED.format(letters=letter_class)
    )
    found = keyword.findall(text)
    if found:
        return found[-1].upper()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    lone = re.fullmatch(r"[\s*_`\"'\[\(]*([" + letter_class + r"])[\s*_`\"'\]\).:]*", lines[-1])
    return lone.group(1) if lone else None


# --------------------------------------------------------------------------------------------
# FanOutQA loose / strict accuracy


def _spacy_lemmatizer() -> Callable[[str], str] | None:
    try:
        import spacy

        nlp = spacy.load("en_core_web_sm")
    except Exception:  # not installed, or the model is missing
        return None
    return lambda text: " ".join(tok.lemma_ for tok in nlp(text))


_TOKENS = re.compile(r"\d+(?:\.\d+)*|\w+|[^\w\s]")
_lemmatize: Callable[[str], str] | None = None
_lemmatizer_checked = False


def fanoutqa_normalizer() -> str:
    """``"spacy"`` when FanOutQA's own lemmatising normaliser is available, else ``"tokens"``."""
    _load_lemmatizer()
    return "spacy" if _lemmatize is not None else "tokens"


def _load_lemmatizer() -> None:
    global _lemmatize, _lemmatizer_checked
    if not _lemmatizer_checked:
        _lemmatize, _lemmatizer_checked = _spacy_lemmatizer(), True


def fanoutqa_normalize(text: Any) -> str:
    """FanOutQA's normalisation: lower, fix Unicode, drop thousands separators, lemmatise
    (spaCy ``en_core_web_sm`` when installed; otherwise only split into tokens the same way,
    without lemmas), strip ``,.?!:;``, collapse white space."""
    text = str(text).lower()
    try:
        import ftfy

        text = ftfy.fix_text(text)
    except ImportError:
        text = unicodedata.normalize("NFC", text)
    text = re.sub(r"(\d+,)+\d+(\.\d+)?", lambda m: m[0].replace(",", ""), text)
    _load_lemmatizer()
    text = _lemmatize(text) if _lemmatize is not None else " ".join(_TOKENS.findall(text))
    text = re.sub(r"[,.?!:;]", "", text)
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class FanOutAccuracy:
    found: bool
    score: float
    missing: tuple[str, ...]


def answer_in_text(reference: Any, candidate: str) -> FanOutAccuracy:
    """How much of ``reference`` (str, number, bool, list or dict) appears in ``candidate``."""
    if isinstance(reference, list):
        if not reference:
            return FanOutAccuracy(True, 1.0, ())
        missing: list[str] = []
        for part in reference:
            missing.extend(answer_in_text(part, candidate).missing)
        found = len(reference) - len(missing)
        return FanOutAccuracy(found == len(reference), found / len(reference), tuple(missing))
    if isinstance(reference, dict):
        if not reference:
            return FanOutAccuracy(True, 1.0, ())
        missing = []
        for part in [*reference.keys(), *reference.values()]:
            missing.extend(answer_in_text(part, candidate).missing)
        total = 2 * len(reference)
        found = total - len(missing)
        return FanOutAccuracy(found == total, found / total, tuple(missing))
    if isinstance(reference, bool):
        reference = "yes" if reference else "no"
    gold = fanoutqa_normalize(reference)
    if re.search(rf"\b{re.escape(gold)}\b", fanoutqa_normalize(candidate)):
        return FanOutAccuracy(True, 1.0, ())
    return FanOutAccuracy(False, 0.0, (gold,))


# --------------------------------------------------------------------------------------------
# Scorer objects


class Score(BaseModel):
    """One item's scoring: the parsed prediction and metric name -> value."""

    prediction: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


@dataclass
class ScoreContext:
    """What a scorer may use besides the record and result (a judge scorer uses the dispatcher).

    ``dispatcher`` serves the model under test; ``dispatchers`` holds every dispatcher of the
    run by model string, including one for each model a scorer asked for in
    :meth:`Scorer.extra_models` (a judge model), shared by all items.
    """

    model: str
    dispatcher: Any = None
    seed: int = 0
    dispatchers: Mapping[str, Any] = field(default_factory=dict)


def raw_text(result: Result) -> str | None:
    """The model's own text for ``result``: ``details["raw"]`` when the strategy kept it."""
    raw = result.details.get("raw")
    return raw if isinstance(raw, str) else result.answer


class Scorer:
    """Base class; subclasses set ``name``/``metrics`` and implement :meth:`score_result`."""

    name: ClassVar[str] = "scorer"
    metrics: tuple[str, ...] = ()
    #: Metric reported first and shown in the progress line; defaults to ``metrics[0]``.
    headline: str | None = None
    #: True when :meth:`aggregate` is not a plain per-item mean (then it is bootstrapped as is).
    corpus_level: ClassVar[bool] = False
    #: With ``corpus_level`` False: the metrics that still are corpus statistics (macro-F1,
    #: ECE); the summary bootstraps :meth:`aggregate_metric` for them and plain means for the
    #: rest.
    corpus_metrics: tuple[str, ...] = ()

    @property
    def headline_metric(self) -> str:
        return self.headline or self.metrics[0]

    async def score(self, record: EvalRecord, result: Result, ctx: ScoreContext) -> Score:
        return self.score_result(record, result)

    def describe(self) -> dict[str, Any]:
        """What the run records about this scorer (its settings, prompt versions, ...)."""
        return {"name": self.name, "metrics": list(self.metrics)}

    def extra_models(self) -> tuple[str, ...]:
        """Model strings this scorer calls besides the model under test (the runner gives each
        one dispatcher for the whole run, found in :attr:`ScoreContext.dispatchers`)."""
        return ()

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        raise NotImplementedError

    def is_corpus_metric(self, metric: str) -> bool:
        """Whether the summary computes ``metric`` from the rows as a whole."""
        return self.corpus_level or metric in self.corpus_metrics

    def rows_for(self, metric: str, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The rows a corpus metric covers (all of them unless a scorer says otherwise); its
        interval resamples these and its ``n`` counts them."""
        return list(rows)

    def aggregate_metric(self, rows: Sequence[Mapping[str, Any]], metric: str) -> float:
        """One corpus-level value (override to compute only ``metric``, e.g. for speed)."""
        return self.aggregate(rows)[metric]

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Corpus-level values from result rows (each has ``scores``, ``prediction``, ``gold``)."""
        out: dict[str, float] = {}
        for metric in self.metrics:
            values = [float(r["scores"].get(metric, 0.0)) for r in rows]
            out[metric] = sum(values) / len(values) if values else float("nan")
        return out


class QAScorer(Scorer):
    """HotpotQA exact match and F1 (best over gold aliases)."""

    name = "qa"
    metrics = ("em", "f1")

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        prediction = result.answer
        return Score(prediction=prediction, scores=qa_scores(prediction, record.gold))


class MultipleChoiceScorer(Scorer):
    """Letter accuracy; ``unparsed`` = 1 when no letter could be found in the reply."""

    name = "mc"
    metrics = ("accuracy", "unparsed")

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        letters = "ABCDEFGHIJ"[: len(record.choices or "ABCD")]
        choice = None
        for text in (raw_text(result), result.answer):
            choice = extract_choice(text, letters)
            if choice is not None:
                break
        correct = choice is not None and choice == str(record.gold).strip().upper()
        return Score(
            prediction=choice,
            scores={"accuracy": float(correct), "unparsed": float(choice is None)},
        )


class FanOutQAScorer(Scorer):
    """FanOutQA loose and strict string accuracy."""

    name = "fanoutqa"
    metrics = ("loose_acc", "strict_acc")

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        prediction = _after_last_answer_marker(raw_text(result)) or result.answer
        if prediction is None:
            return Score(scores={"loose_acc": 0.0, "strict_acc": 0.0})
        acc = answer_in_text(record.gold, prediction)
        return Score(
            prediction=prediction,
            scores={"loose_acc": acc.score, "strict_acc": float(acc.found)},
            details={"missing": list(acc.missing), "normalizer": fanoutqa_normalizer()},
        )


_MARKER = re.compile(r"(?i)answer\s*[:：]")


def _after_last_answer_marker(text: str | None) -> str | None:
    """Everything after the last ``Answer:`` (answers to fan-out questions span lines)."""
    if not text:
        return None
    marks = list(_MARKER.finditer(text))
    if not marks:
        return None
    return text[marks[-1].end() :].strip() or None


class ExactTaskScorer(Scorer):
    """Adapter for :class:`agot.evals.tasks.ExactTask` verifiers (Game of 24, crosswords)."""

    name = "exact"

    def __init__(self, task: Any) -> None:
        self.task = task
        self.metrics = tuple(task.metrics)
        self.headline = task.headline

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        verdict = self.task.score(raw_text(result) or "", record)
        details = dict(verdict.details)
        if verdict.reason:
            details["reason"] = verdict.reason
        return Score(prediction=verdict.prediction, scores=dict(verdict.scores), details=details)


class JudgeScorer(Scorer):
    """LLM-judge accuracy (:mod:`agot.evals.judge`) as an extra metric, ``judge``.

    Without ``model`` the model under test judges its own answers, through the item's
    dispatcher. With ``model`` (any model string: ``local``, ``openai/gpt-4o-mini``, ...) the
    judge is that model, served by one dispatcher the runner shares across the whole run (the
    same one as the model under test when the strings match). Either way the calls go through
    a dispatcher: limits, retries, schema re-asks and the response cache apply, and as the
    judge runs at temperature 0 a re-run with ``--cache`` pays for no verdict twice.

    A failed judge call leaves the metric out for that item (its error is in the row's
    details) rather than scoring it 0, and the summary reports how many items the metric
    covers.
    """

    name = "judge"
    metrics = ("judge",)

    def __init__(self, model: str | None = None, max_tokens: int | None = None) -> None:
        self.model = model
        self.max_tokens = max_tokens

    def describe(self) -> dict[str, Any]:
        from agot.evals.judge import JUDGE_MAX_TOKENS, judge_info

        info = judge_info(
            self.model or "(model under test)", max_tokens=self.max_tokens or JUDGE_MAX_TOKENS
        )
        return {"name": self.name, "metrics": list(self.metrics), **info}

    def extra_models(self) -> tuple[str, ...]:
        return (self.model,) if self.model else ()

    async def score(self, record: EvalRecord, result: Result, ctx: ScoreContext) -> Score:
        from agot.evals.judge import JUDGE_MAX_TOKENS, judge_result

        dispatcher, model = ctx.dispatcher, self.model
        if model is not None and model in ctx.dispatchers:
            dispatcher, model = ctx.dispatchers[model], None  # the judge model's own dispatcher
        if dispatcher is None:
            raise ConfigError(
                "the judge scorer needs a dispatcher (run it through the eval runner)"
            )
        verdict = await judge_result(
            record.question,
            result.answer,
            record.gold,
            dispatcher=dispatcher,
            model=model,
            max_tokens=self.max_tokens or JUDGE_MAX_TOKENS,
        )
        details: dict[str, Any] = {
            "judge_prompt": verdict.prompt,
            "judge_usage": verdict.usage.model_dump(),
            "judge_cached": verdict.cached,
        }
        if verdict.error:
            details["judge_error"] = verdict.error
        elif verdict.verdict is not None:
            details["judge_reason"] = verdict.verdict.reason
        scores = {} if verdict.score is None else {"judge": verdict.score}
        return Score(prediction=result.answer, scores=scores, details=details)


# --------------------------------------------------------------------------------------------
# Registry

ScorerFactory = Callable[..., Scorer]
_SCORERS: dict[str, ScorerFactory] = {
    "qa": QAScorer,
    "em_f1": QAScorer,
    "mc": MultipleChoiceScorer,
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
