"""Structured outputs of the AGoT steps; backends enforce them, the dispatcher validates them.

Fields that carry reasoning come before the decision they justify, so a model decoding left to
right under a grammar thinks before it commits. Lists are capped by the controller, not by the
schema, so an over-eager model is truncated rather than re-asked.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProposedThought(BaseModel):
    title: str = Field(description="at most 8 words")
    content: str = Field(description="the subproblem to solve, self-contained")
    parents: list[int] = Field(
        default_factory=list, description="numbers of earlier thoughts this one builds on"
    )


class LayerProposal(BaseModel):
    """Step 'propose': the next layer of thoughts and the strategy behind them."""

    strategy: str = Field(description="one sentence: how these thoughts advance the question")
    thoughts: list[ProposedThought] = Field(min_length=1)


class ComplexityVerdict(BaseModel):
    """Step 'assess': does this thought need its own graph?"""

    justification: str
    is_complex: bool


class ThoughtAnswer(BaseModel):
    """Step 'solve': the answer to one thought."""

    answer: str


class FinalCheck(BaseModel):
    """Step 'check': can the original question be answered from the graph now?"""

    reason: str
    can_answer: bool


class FinalAnswer(BaseModel):
    """Step 'final': the synthesis."""

    reasoning: str
    answer: str
