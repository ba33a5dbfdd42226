"""Direct and chain-of-thought prompting: one model call each."""

from __future__ import annotations

from typing import ClassVar

from agot.answers import extract_answer
from agot.prompts import baselines
from agot.prompts.template import PromptTemplate
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.task import Task


class _SingleCall(Strategy):
    prompt: ClassVar[PromptTemplate]
    role: ClassVar[str] = "answer"

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        prompt = ctx.use_prompt(self.prompt)
        request = prompt.request(
            problem=task.render(),
            request_kwargs={"role": self.role, "node_id": "answer", "params": self.params},
        )
        generation = await ctx.generate(request)
        return Outcome(answer=extract_answer(generation.text), details={"raw": generation.text})


class Direct(_SingleCall):
    """Ask for the answer, with no reasoning."""

    name = "direct"
    prompt = baselines.DIRECT


class CoT(_SingleCall):
    """Ask the model to reason step by step, then answer (Wei et al., 2022)."""

    name = "cot"
    prompt = baselines.COT
