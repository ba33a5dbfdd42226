"""Structured outputs of the AGoT steps; backends enforce them, the dispatcher validates them.

Fields that carry reasoning come before the decision they justify, so a model decoding left to
right under a grammar thinks before it commits. String lengths are capped in the *JSON schema*
(``maxLength``, which grammar-constrained backends enforce while decoding) but not in
validation: a small model otherwise rambles until ``max_tokens`` and leaves the JSON unclosed,
while a strong model that writes a little more than the cap is not punished with a re-ask.
Lists are capped by the controller, not by the schema, so an over-eager model is truncated.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


def text(max_chars: int, description: str | None = None, **kw: Any) -> Any:
    """A string field whose JSON schema (not its validation) caps its length."""
    return Field(description=description, json_schema_extra={"maxLength": max_chars}, **kw)


class ProposedThought(BaseModel):
    title: str = text(60, "at most 8 words")
    content: str = text(300, "the subproblem to solve, self-contained")
    parents: list[int] = Field(
        default_factory=list, description="numbers of earlier thoughts this one builds on"
    )


class LayerProposal(BaseModel):
    """Step 'propose': the next layer of thoughts and the strategy behind them."""

    strategy: str = text(200, "one sentence: how these thoughts advance the question")
    thoughts: list[ProposedThought] = Field(min_length=1)


class ComplexityVerdict(BaseModel):
    """Step 'assess': does this thought need its own graph?"""

    justification: str = text(200)
    is_complex: bool


class ThoughtAnswer(BaseModel):
    """Step 'solve': the answer to one thought."""

    answer: str = text(400)


class FinalCheck(BaseModel):
    """Step 'check': can the original question be answered from the graph now?"""

    reason: str = text(200)
    can_answer: bool


class FinalAnswer(BaseModel):
    """Step 'final': the synthesis."""

    reasoning: str = text(600)
    answer: str = text(200)
