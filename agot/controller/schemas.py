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

from pydantic import BaseModel, Field, create_model, model_validator

from agot.answers import model_text


class ProposedThought(BaseModel):
    title: str = Field(description="at most 8 words")
    content: str = Field(description="the subproblem, self-contained: include the inputs it needs")
    parents: list[int] = Field(
        default_factory=list,
        description="numbers of earlier thoughts this one builds on",
        json_schema_extra={"maxItems": 16},
    )


class LayerProposal(BaseModel):
    """Step 'decompose' of a layer that must grow (the first one, or every one without early
    stopping): the thoughts and the strategy behind them.

    At least one thought must say something: a small model under a grammar sometimes fills
    every field with JSON debris (``"title": "},{"``), which the graph would drop, leaving the
    layer silently empty. Rejecting it here makes the dispatcher ask again instead.
    """

    strategy: str = Field(description="one sentence: how these thoughts advance the task")
    thoughts: list[ProposedThought] = Field(min_length=1)

    @model_validator(mode="after")
    def _some_thought_has_text(self) -> LayerProposal:
        if not any(model_text(t.title) or model_text(t.content) for t in self.thoughts):
            raise ValueError("every proposed thought is empty or JSON debris: propose real ones")
        return self


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
def proposal_schema(first: bool, max_thoughts: int, existing: int = 0) -> type[BaseModel]:
    """The decompose schema of a layer: at most ``max_thoughts`` thoughts, whose parents can only
    be among the ``existing`` thoughts of the graph (so a grammar cannot ramble through a long
    list of made-up numbers)."""
    parents_extra: dict[str, Any] = {"maxItems": min(existing, 16)}
    if existing:
        parents_extra["items"] = {"type": "integer", "enum": list(range(1, existing + 1))}
    thought = create_model(
        f"ProposedThoughtOf{existing}",
        __base__=ProposedThought,
        parents=(
            list[int],
            Field(
                default_factory=list,
                description=ProposedThought.model_fields["parents"].description,
                json_schema_extra=parents_extra,
            ),
        ),
    )
    extra: dict[str, Any] = {"maxItems": max_thoughts}
    if first:
        field = Field(min_length=1, json_schema_extra=extra)
        return create_model(
            f"LayerProposal{max_thoughts}",
            __base__=LayerProposal,
            thoughts=(list[thought], field),
        )
    field = Field(default_factory=list, json_schema_extra=extra)
    return create_model(
        f"NextLayer{max_thoughts}Of{existing}",
        __base__=NextLayer,
        thoughts=(list[thought], field),
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
#: A token holds at least one character, so a reply of N characters is at most N tokens: caps
#: counted in characters against the token budget always let the JSON close. (A ``\uXXXX``
#: escape is one character of the cap but six of the reply; small models rarely write them.)
MIN_CAP = 16
#: Share of a proposal's text budget for its top-level text (the strategy sentence).
PROPOSAL_TOP_SHARE = 0.15


@functools.cache
def fitted(schema: type[BaseModel], max_tokens: int, thoughts: int = 1) -> type[BaseModel]:
    """``schema`` with ``maxLength`` caps on its text fields so a reply fits ``max_tokens``.

    For grammar-enforcing backends only (see the module docstring). The budget left after the
    JSON syntax, keys and bounded values of the reply (:func:`_syntax_chars`) is shared by the
    text fields; ``thoughts`` proposed thoughts split a proposal's share equally.
    """
    field = schema.model_fields.get("thoughts")
    item = _item_type(field.annotation) if field is not None else None
    syntax = _syntax_chars(schema) + (thoughts * _syntax_chars(item) if item else 0)
    text = max(MIN_CAP, max_tokens - syntax)
    if item is None:
        return _capped(schema, text, f"{schema.__name__}Max{max_tokens}")
    top = max(MIN_CAP, int(text * PROPOSAL_TOP_SHARE))
    capped_item = _capped(item, max(MIN_CAP, (text - top) // max(1, thoughts)), item.__name__)
    assert field is not None
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    kw: dict[str, Any] = {"json_schema_extra": dict(extra)}
    if field.is_required():
        thoughts_field = Field(min_length=1, **kw)
    else:
        thoughts_field = Field(default_factory=list, **kw)
    return _capped(
        schema,
        top,
        f"{schema.__name__}Max{max_tokens}",
        thoughts=(list[capped_item], thoughts_field),  # type: ignore[valid-type]
    )


def _capped(schema: type[BaseModel], chars: int, name: str, **extra: Any) -> type[BaseModel]:
    """``schema`` whose text fields share ``chars`` characters by their :data:`SHARES`."""
    weight = _text_weight(schema)
    fields: dict[str, Any] = dict(extra)
    for field_name, info in schema.model_fields.items():
        if info.annotation is str and field_name in SHARES:
            cap = max(MIN_CAP, int(chars * SHARES[field_name] / weight))
            fields[field_name] = (str, _with_cap(info, cap))
    if not fields:
        return schema
    return create_model(f"{name}Cap{chars}", __base__=schema, **fields)


def _syntax_chars(schema: type[BaseModel]) -> int:
    """Characters of a reply that are not free text: braces, keys, quotes, separators (with the
    optional spaces a grammar allows), booleans, and bounded lists of small integers."""
    total = 4
    for name, info in schema.model_fields.items():
        total += len(name) + 10
        if info.annotation is bool:
            total += 5
        extra: dict[str, Any] = (
            info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        )
        items = extra.get("maxItems")
        if info.annotation == list[int] and isinstance(items, int):
            item_schema = extra.get("items")
            values = item_schema.get("enum") if isinstance(item_schema, dict) else None
            largest = max(values) if isinstance(values, list) and values else 10**15
            total += items * (len(str(largest)) + 2)
    return total


def _item_type(annotation: Any) -> type[BaseModel]:
    """The model inside ``list[Model]``."""
    (item,) = getattr(annotation, "__args__", (ProposedThought,))
    return item if isinstance(item, type) and issubclass(item, BaseModel) else ProposedThought


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
