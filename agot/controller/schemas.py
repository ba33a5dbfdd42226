"""Structured outputs of the AGoT steps; backends enforce them, the dispatcher validates them.

Fields that carry reasoning come before the decision they justify, so a model decoding left to
right thinks before it commits. Every answering step (thought answer, synthesis) has a
``reasoning`` field of its own: a real model needs room to work a subproblem out.

String lengths are uncapped by default. Only for a backend that enforces the schema *while
decoding* (llama.cpp grammar, xgrammar) does :func:`fitted` add ``maxLength`` caps sized to the
step's token budget: a small grammar-bound model otherwise rambles until ``max_tokens`` and never
closes its JSON. The caps live in the JSON schema only, never in validation, so a model that
writes a little more is not punished with a re-ask. Thought counts are capped the same way
(``maxItems``); the controller truncates whatever a backend without a grammar sends.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, Field, create_model


class ProposedThought(BaseModel):
    title: str = Field(description="at most 8 words")
    content: str = Field(description="the subproblem, self-contained: include the inputs it needs")
    parents: list[int] = Field(
        default_factory=list,
        description="numbers of earlier thoughts this one builds on",
        json_schema_extra={"maxItems": 16},
    )


class LayerProposal(BaseModel):
    """Step 'decompose', first layer: the first thoughts and the strategy behind them."""

    strategy: str = Field(description="one sentence: how these thoughts advance the task")
    thoughts: list[ProposedThought] = Field(min_length=1)


class NextLayer(BaseModel):
    """Step 'decompose', later layers: the next thoughts, or ``ready`` to synthesise now.

    One reply decides both, as in the authors' implementation: a separate "can we answer yet?"
    call would sit on the critical path of every layer.
    """

    strategy: str = Field(description="what the graph still lacks, or why it is complete")
    ready: bool = Field(False, description="true when the answers above settle the task")
    thoughts: list[ProposedThought] = Field(default_factory=list)


class ComplexityVerdict(BaseModel):
    """Step 'assess': does this thought need its own graph?"""

    justification: str
    is_complex: bool


class ThoughtAnswer(BaseModel):
    """Step 'solve': the answer to one thought (never empty: a grammar would allow ``""``)."""

    reasoning: str = ""
    answer: str = Field(min_length=1)


class FinalAnswer(BaseModel):
    """Step 'final': the synthesis."""

    reasoning: str = ""
    answer: str = Field(min_length=1)


@functools.cache
def proposal_schema(first: bool, max_thoughts: int) -> type[BaseModel]:
    """The decompose schema of a layer, admitting at most ``max_thoughts`` thoughts."""
    extra: dict[str, Any] = {"maxItems": max_thoughts}
    if first:
        field = Field(min_length=1, json_schema_extra=extra)
        return create_model(
            f"LayerProposal{max_thoughts}",
            __base__=LayerProposal,
            thoughts=(list[ProposedThought], field),
        )
    field = Field(default_factory=list, json_schema_extra=extra)
    return create_model(
        f"NextLayer{max_thoughts}", __base__=NextLayer, thoughts=(list[ProposedThought], field)
    )


@functools.cache
def final_schema_for(user_schema: type[BaseModel] | None) -> type[BaseModel]:
    """The synthesis schema; with a user's pydantic model, its instance is the answer."""
    if user_schema is None:
        return FinalAnswer
    return create_model(
        f"FinalAnswer{user_schema.__name__}",
        reasoning=(str, ""),
        answer=(user_schema, ...),
    )


#: Share of a reply's characters each free-text field may take when caps are fitted.
SHARES: dict[str, float] = {
    "title": 0.06,
    "content": 0.2,
    "strategy": 0.12,
    "justification": 0.7,
    "reasoning": 0.7,
    "answer": 0.25,
}
#: A token holds at least one character, so caps of one character per token always fit.
CHARS_PER_TOKEN = 1
#: Tokens of JSON syntax and keys around the free text of one reply.
JSON_OVERHEAD_TOKENS = 24
MIN_CAP = 16
#: Share of a proposal's budget for its top-level text (the strategy sentence).
PROPOSAL_TOP_SHARE = 0.15


@functools.cache
def fitted(schema: type[BaseModel], max_tokens: int, thoughts: int = 1) -> type[BaseModel]:
    """``schema`` with ``maxLength`` caps on its text fields so a reply fits ``max_tokens``.

    For grammar-enforcing backends only (see the module docstring). ``thoughts`` is how many
    proposed thoughts share the budget (decompose steps); nested models are capped in turn.
    """
    budget = max(8, max_tokens - JSON_OVERHEAD_TOKENS * thoughts) * CHARS_PER_TOKEN
    if "thoughts" in schema.model_fields:
        # The strategy sentence takes a small share; the thoughts split the rest.
        item_tokens = max(8, int(max_tokens * (1 - PROPOSAL_TOP_SHARE)) // max(1, thoughts))
        budget = max(MIN_CAP, int(budget * PROPOSAL_TOP_SHARE))
    fields: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        annotation = info.annotation
        if annotation is str and name in SHARES:
            cap = max(MIN_CAP, int(budget * SHARES[name] / _text_weight(schema)))
            fields[name] = (str, _with_cap(info, cap))
        elif name == "thoughts":
            item = fitted(ProposedThought, item_tokens)
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            kw: dict[str, Any] = {"json_schema_extra": dict(extra)}
            if info.is_required():
                kw["min_length"] = 1
                fields[name] = (list[item], Field(**kw))  # type: ignore[valid-type]
            else:
                fields[name] = (list[item], Field(default_factory=list, **kw))  # type: ignore[valid-type]
    if not fields:
        return schema
    return create_model(f"{schema.__name__}Max{max_tokens}", __base__=schema, **fields)


def _text_weight(schema: type[BaseModel]) -> float:
    """Sum of the shares of ``schema``'s text fields (caps split the budget between them)."""
    return (
        sum(SHARES.get(name, 0.0) for name, f in schema.model_fields.items() if f.annotation is str)
        or 1.0
    )


def _with_cap(info: Any, cap: int) -> Any:
    default: dict[str, Any] = {} if info.is_required() else {"default": info.default}
    lower = [m.min_length for m in info.metadata if getattr(m, "min_length", None)]
    if lower:
        default["min_length"] = lower[0]
    return Field(description=info.description, json_schema_extra={"maxLength": cap}, **default)
