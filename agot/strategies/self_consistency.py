"""Self-consistency (Wang et al., 2023): sample several chains of thought, majority-vote."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from agot.answers import extract_answer, normalize_answer
from agot.config import check_count
from agot.errors import BackendError, BudgetExceeded, SchemaError
from agot.prompts import baselines
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.task import Task

#: More samples than this is a typo, not an experiment (each one is a paid call).
MAX_SAMPLES = 256


class SelfConsistency(Strategy):
    """``n`` CoT samples at ``temperature`` (default 0.7), answered by majority vote.

    Votes are counted over normalised answers (case, punctuation and articles ignored); the
    reported answer is the first raw answer of the winning group, ties going to the group seen
    first (in sample order). Samples with no answer do not vote. ``details`` holds every sample
    and the vote share of each answer (over the voting samples).
    """

    name = "sc"

    def __init__(
        self, n: int = 5, *, temperature: float = 0.7, max_tokens: int = 512, **options: Any
    ) -> None:
        """``options``: what every strategy takes (``budget``, ``models``, ``router``)."""
        check_count(n, "SelfConsistency samples (n)", maximum=MAX_SAMPLES)
        super().__init__(temperature=temperature, max_tokens=max_tokens, **options)
        self.n = n

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        prompt = ctx.use_prompt(baselines.COT)
        problem = task.render()

        async def sample(i: int) -> str:
            request = prompt.request(
                problem=problem,
                request_kwargs={
                    "role": "vote",
                    "node_id": f"sample{i}",
                    "params": self.params,
                    "sample_index": i,
                },
            )
            return (await ctx.generate(request)).text

        results = await asyncio.gather(*(sample(i) for i in range(self.n)), return_exceptions=True)
        texts = [r for r in results if isinstance(r, str)]
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if not isinstance(failure, BackendError | SchemaError | BudgetExceeded):
                raise failure
        stopped = next((f.reason for f in failures if isinstance(f, BudgetExceeded)), None)
        if not texts:
            if stopped:
                raise BudgetExceeded(stopped)
            raise failures[0]
        answers = [extract_answer(t) for t in texts]
        # A sample that states no answer does not vote (unless none does).
        voters = [a for a in answers if normalize_answer(a)] or answers
        groups = Counter(normalize_answer(a) for a in voters)
        order = {key: i for i, key in enumerate(groups)}
        winner = max(groups, key=lambda key: (groups[key], -order[key]))
        first: dict[str, str] = {}
        for a in voters:
            first.setdefault(normalize_answer(a), a)
        answer = first[winner]
        shares = {first[key]: count / len(voters) for key, count in groups.items()}
        return Outcome(
            answer=answer,
            details={"samples": texts, "answers": answers, "vote_shares": shares},
            # A budget stop is ``stopped``, not a failed step: the vote of the samples that
            # came back is the answer, as any strategy's budget stop ends with one.
            errors=[
                f"{type(f).__name__}: {f}" for f in failures if not isinstance(f, BudgetExceeded)
            ],
            stopped=stopped,
        )
