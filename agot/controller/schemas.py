"""Structured outputs of the AGoT steps; backends enforce them, the dispatcher validates them.

Fields that carry reasoning come before the decision they justify, so a model decoding left to
right under a grammar thinks before it commits. String lengths are capped in the *JSON schema*
(``maxLength``, which grammar-constrained backends enforce while decoding) but not in
validation: a small model otherwise rambles until ``max_tokens`` and leaves the JSON unclosed,
while a strong model that writes a little more than the cap is not punished with a re-ask.
The number of proposed thoughts is capped the same way (``maxItems`` in the schema of
:func:`layer_proposal_schema`); the controller truncates what a backend without a grammar sends.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model


def text(max_chars: int, description: str | None = None, **kw: Any) -> Any:
    """A string field whose JSON schema (not its validation) caps its length."""
    return Field(description=description, json_schema_extra={"maxLength": max_chars}, **kw)


class ProposedThought(BaseModel):
    title: str = text(60, "at most 8 words")
    content: str = text(240, "the subproblem to solve, self-contained")
    parents: list[int] = Field(
        default_factory=list,
        description="numbers of earlier thoughts this one builds on",
        json_schema_extra={"maxItems": 12},
    )


class LayerProposal(BaseModel):
    """Step 'propose': the next layer of thoughts and the strategy behind them."""

    strategy: str = text(200, "one sentence: how these thoughts advance the question")
    thoughts: list[ProposedThought] = Field(min_length=1)


@functools.cache
def layer_proposal_schema(max_thoughts: int) -> type[LayerProposal]:
    """LayerProposal whose JSON schema admits at most ``max_thoughts`` thoughts."""
    field = Field(min_length=1, json_schema_extra={"maxItems": max_thoughts})
    return create_model(
        f"LayerProposal{max_thoughts}",
        __base__=LayerProposal,
        thoughts=(Annotated[list[ProposedThought], field], ...),
    )


#: A token holds at least one character, so caps of one character per token always fit.
CHARS_PER_TOKEN = 1
#: Tokens of JSON syntax and keys around the free text of one reply.
JSON_OVERHEAD_TOKENS = 24


@functools.cache
def fitted(schema: type[BaseModel], max_tokens: int) -> type[BaseModel]:
    """``schema`` with its string caps scaled down so the whole reply fits in ``max_tokens``.

    A cap the token budget cannot hold guarantees truncated, unparsable JSON; shrinking the
    caps in proportion keeps every reply closable. Returns ``schema`` itself when it fits.
    """
    caps = {
        name: (f.json_schema_extra or {}).get("maxLength")
        for name, f in schema.model_fields.items()
        if isinstance(f.json_schema_extra, dict)
    }
    caps = {k: v for k, v in caps.items() if v}
    budget = max(8, max_tokens - JSON_OVERHEAD_TOKENS) * CHARS_PER_TOKEN
    total = sum(caps.values())
    if not caps or total <= budget:
        return schema
    fields: dict[str, Any] = {}
    for name, cap in caps.items():
        original = schema.model_fields[name]
        smaller = max(16, cap * budget // total)
        fields[name] = (str, text(smaller, original.description))
    return create_model(f"{schema.__name__}Max{max_tokens}", __base__=schema, **fields)


class ComplexityVerdict(BaseModel):
    """Step 'assess': does this thought need its own graph?"""

    justification: str = text(200)
    is_complex: bool


class ThoughtAnswer(BaseModel):
    """Step 'solve': the answer to one thought."""

    answer: str = text(300)


class FinalCheck(BaseModel):
    """Step 'check': can the original question be answered from the graph now?"""

    reason: str = text(200)
    can_answer: bool


class FinalAnswer(BaseModel):
    """Step 'final': the synthesis."""

    reasoning: str = text(600)
    answer: str = text(200)
