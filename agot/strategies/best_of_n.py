"""Best-of-N with a verifier: N sampled solutions, each scored, the best one kept.

The samples use the CoT prompt at ``temperature`` (as self-consistency does), so the two differ
only in the choice: self-consistency takes the majority answer, best-of-N the sample its
verifier scores highest. The verifier is, in order: the ``verifier`` given to the strategy (a
callable ``text -> score``), the task's own (``Task.verifier``: the eval harness sets Game of
24's exact check, which needs no gold), else the model itself rating each sample from 0 to 10
(:data:`agot.prompts.bon.VERIFY`), one extra call per sample. See :mod:`agot.strategies.verifier`.

Budget-aware: under a ``max_calls`` budget, N shrinks to what the budget can verify (a sample
left unverified could not win on merit), and a budget stop keeps the samples already scored.
Each sample is verified as soon as it is written, so sampling and verifying overlap.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from agot.answers import extract_answer, normalize_answer
from agot.config import check_count
from agot.errors import BackendError, BudgetExceeded, SchemaError
from agot.graph import ThoughtGraph
from agot.prompts import baselines, bon
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.strategies.search_graph import finish, note_call
from agot.strategies.verifier import Verifier, check_verifier, verify
from agot.task import Task

#: More samples than this is a typo, not an experiment (each one is a paid call, or two).
MAX_SAMPLES = 256

#: Samples by default (as many as self-consistency draws, so the two compare at equal cost).
DEFAULT_SAMPLES = 5

#: The model verifier's scale (its score is divided by this, so every verifier reads 0..1).
RATING_SCALE = 10


class SampleRating(BaseModel):
    """The model verifier's reply: what it found, then the rating."""

    check: str = Field(description="the mistakes found, or why the solution holds; brief")
    score: int = Field(ge=0, le=RATING_SCALE, description="0 = surely wrong, 10 = surely right")


@dataclass
class _Sample:
    index: int
    text: str | None = None
    answer: str | None = None
    score: float | None = None
    error: str | None = None


class BestOfN(Strategy):
    """``n`` CoT samples, each scored by a verifier; the highest score wins.

    Ties go to the earlier sample; a sample with no answer or no score ranks below every
    scored one. ``details`` holds every sample, its answer and score, the chosen index, the
    verifier used (``callable``, ``task`` or ``model``) and the winner's score
    (``verifier_score``), which an eval compares with the item's final score.
    """

    name = "bon"

    def __init__(
        self,
        n: int = DEFAULT_SAMPLES,
        *,
        verifier: Verifier | None = None,
        temperature: float = 0.7,
        max_tokens: int = 512,
        verify_max_tokens: int = 256,
        **options: Any,
    ) -> None:
        """``options``: what every strategy takes (``budget``, ``models``, ``router``)."""
        check_count(n, "best-of-N samples (n)", maximum=MAX_SAMPLES)
        check_count(verify_max_tokens, "verify_max_tokens")
        super().__init__(temperature=temperature, max_tokens=max_tokens, **options)
        self.n = n
        self.verifier = check_verifier(verifier)
        self.verify_params = self.params.model_copy(
            update={"temperature": 0.0, "max_tokens": verify_max_tokens}
        )

    def describe(self) -> str:
        return f"BestOfN(n={self.n}, verifier={'callable' if self.verifier else 'task/model'})"

    def _affordable(self, ctx: RunContext, calls_per_sample: int) -> int:
        """``n``, or fewer when the run's ``max_calls`` cannot pay for ``n`` verified samples."""
        tracker = ctx.recorder.tracker
        limit = tracker.budget.max_calls
        if limit is None:
            return self.n
        left = limit - tracker.usage.calls
        return max(1, min(self.n, left // calls_per_sample))

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        sample_prompt = ctx.use_prompt(baselines.COT)
        verifier = self.verifier or check_verifier(task.verifier, "Task.verifier")
        kind = "callable" if self.verifier else "task" if task.verifier else "model"
        verify_prompt = ctx.use_prompt(bon.VERIFY) if verifier is None else None
        n = self._affordable(ctx, 1 if verifier else 2)
        problem = task.render()
        graph = ThoughtGraph(task.question)
        nodes = [
            graph.add_node(layer=0, title=f"Sample {i + 1}", question=task.question)
            for i in range(n)
        ]
        samples = [_Sample(i) for i in range(n)]

        async def one(sample: _Sample) -> None:
            node = nodes[sample.index]
            node.status = "running"
            generation = await ctx.generate(
                sample_prompt.request(
                    problem=problem,
                    request_kwargs={
                        "role": "sample",
                        "node_id": node.id,
                        "params": self.params,
                        "sample_index": sample.index,
                    },
                )
            )
            note_call(node, generation)
            sample.text, sample.answer = generation.text, extract_answer(generation.text)
            node.reasoning, node.answer, node.answer_call = (
                generation.text,
                sample.answer,
                generation.call_id,
            )
            node.status = "answered"
            if verifier is not None:
                sample.score = await verify(verifier, generation.text)
            elif verify_prompt is not None:
                rating = await ctx.generate(
                    verify_prompt.request(
                        problem=problem,
                        solution=generation.text,
                        request_kwargs={
                            "role": "verify",
                            "node_id": node.id,
                            "params": self.verify_params,
                            "output_schema": SampleRating,
                            "depends_on": (generation.call_id,),
                        },
                    )
                )
                note_call(node, rating)
                parsed = rating.parsed
                if isinstance(parsed, SampleRating):
                    sample.score = parsed.score / RATING_SCALE
                    node.justification = parsed.check
            node.title = f"Sample {sample.index + 1}: score {_shown(sample.score)}"

        results = await asyncio.gather(*(one(s) for s in samples), return_exceptions=True)
        stopped: str | None = None
        errors: list[str] = []
        for sample, outcome in zip(samples, results, strict=True):
            if outcome is None:
                continue
            if isinstance(outcome, BudgetExceeded):
                stopped = stopped or outcome.reason
            elif isinstance(outcome, BackendError | SchemaError):
                errors.append(f"{type(outcome).__name__}: {outcome}")
            else:
                raise outcome
            sample.error = f"{type(outcome).__name__}: {outcome}"
            if nodes[sample.index].status != "answered":
                nodes[sample.index].status = "failed"
            nodes[sample.index].error = sample.error
        written = [s for s in samples if s.text is not None]
        if not written:
            failures = [r for r in results if isinstance(r, BaseException)]
            if stopped:
                raise BudgetExceeded(stopped)
            raise failures[0]
        best = max(written, key=_rank)
        return finish(
            graph,
            layer=1,
            question=task.question,
            answer=best.answer,
            parents=[nodes[best.index].id],
            raw=best.text,
            details={
                "samples": [s.text for s in samples],
                "answers": [s.answer for s in samples],
                "scores": [s.score for s in samples],
                "chosen": best.index,
                "verifier": kind,
                "verifier_score": best.score,
                "n": n,
            },
            errors=errors,
            stopped=stopped,
        )


def _rank(sample: _Sample) -> tuple[bool, bool, float, int]:
    """Answered before unanswered, scored before unscored, higher score, earlier sample."""
    answered = bool(sample.answer and normalize_answer(sample.answer))
    scored = sample.score is not None
    return answered, scored, sample.score if scored else 0.0, -sample.index  # type: ignore[return-value]


def _shown(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2g}"


__all__ = ["BestOfN", "SampleRating"]
