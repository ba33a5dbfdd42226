"""Adapters: verifiers of exact tasks (Game of 24, crosswords) and an LLM judge as scorers."""

from __future__ import annotations

from typing import Any

from agot.errors import BackendError, BudgetExceeded, ConfigError, SchemaError
from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, ScoreContext, Scorer, raw_text
from agot.result import Result
from agot.types import Usage


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
        from agot.url_secrets import redact_model

        info = judge_info(
            redact_model(self.model) if self.model else "(model under test)",
            max_tokens=self.max_tokens or JUDGE_MAX_TOKENS,
        )
        return {"name": self.name, "metrics": list(self.metrics), **info}

    def extra_models(self) -> tuple[str, ...]:
        return (self.model,) if self.model else ()

    async def score(self, record: EvalRecord, result: Result, ctx: ScoreContext) -> Score:
        from agot.evals.judge import JUDGE_MAX_TOKENS, judge
        from agot.prompts.judge import JUDGE

        dispatcher, model = ctx.dispatcher, self.model
        if model is not None and model in ctx.dispatchers:
            dispatcher, model = ctx.dispatchers[model], None  # the judge model's own dispatcher
        if dispatcher is None:
            raise ConfigError(
                "the judge scorer needs a dispatcher (run it through the eval runner)"
            )
        details: dict[str, Any] = {
            "judge_prompt": JUDGE.id,
            "judge_usage": Usage().model_dump(),
            "judge_cached": False,
        }
        try:
            judged = await judge(
                record.question,
                result.answer,
                record.gold,
                dispatcher=dispatcher,
                model=model,
                max_tokens=self.max_tokens or JUDGE_MAX_TOKENS,
            )
        except (BackendError, SchemaError, BudgetExceeded) as exc:
            details["judge_error"] = f"{type(exc).__name__}: {exc}"
            return Score(prediction=result.answer, scores={}, details=details)
        details.update(
            judge_usage=judged.usage.model_dump(),
            judge_cached=judged.cached,
            judge_reason=judged.verdict.reason,
        )
        if judged.call is not None:
            details["judge_call"] = judged.call
        return Score(prediction=result.answer, scores={"judge": judged.score}, details=details)
