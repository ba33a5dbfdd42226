"""Confidence signals: how far to trust a cheap model's reply before escalating it.

Each signal makes the cheap call(s) for one step and returns the reply it would keep with a
confidence in [0, 1]; the router escalates when the confidence is below its threshold. A reply
that fails its schema even after the dispatcher's re-asks is never trusted, whatever the signal.

=============  ==========================================  ==================================
signal         what it measures                            backends / cost
=============  ==========================================  ==================================
``schema``     only schema failure after re-asks           every backend; free
``self``       a ``confidence`` field the model fills in    every backend (grammar-enforced on
               (added to the step's schema) or a            llama.cpp, transformers, servers
               ``Confidence:`` line for free-text steps     with json_schema); a ~30-token
                                                            note and ~6 output tokens
``agree``      share of ``k`` samples (temperature > 0)     every backend; ``k`` cheap calls
               that reach the modal decision                per step instead of one
``logprob``    exp(mean token log-probability) of the       llama.cpp (logits processor, ~1% of
               reply: the per-token geometric-mean prob     decode time), litellm to servers
                                                            returning OpenAI ``logprobs``,
                                                            scripted; free (no extra tokens)
=============  ==========================================  ==================================
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field, create_model

from agot.answers import extract_answer, normalize_answer
from agot.errors import BudgetExceeded, ConfigError
from agot.types import Generation, GenerationRequest, Message, SamplingParams

Generate = Callable[[GenerationRequest], Awaitable[Generation]]

#: Fields that carry free-text reasoning, ignored when samples are compared for agreement.
FREE_TEXT_FIELDS = frozenset(
    {"reasoning", "justification", "reason", "strategy", "analysis", "confidence"}
)
CONFIDENCE_NOTE = (
    "Also give 'confidence': the probability (from 0 to 1) that your reply is correct; "
    "be honest, a low value sends this step to a stronger model."
)
CONFIDENCE_LINE_NOTE = (
    "After your answer, write a last line 'Confidence: P' where P (from 0 to 1) is the "
    "probability that your answer is correct."
)
_CONFIDENCE_LINE = re.compile(r"(?im)^\W*confidence\s*[:=]\s*([01](?:\.\d+)?|\.\d+)\s*$")


@dataclass
class Verdict:
    """The reply a signal keeps, its confidence (None: the signal had nothing to say)."""

    generation: Generation
    confidence: float | None
    calls: list[str] = field(default_factory=list)


class Signal(ABC):
    name: ClassVar[str]

    @abstractmethod
    async def judge(self, generate: Generate, request: GenerationRequest) -> Verdict:
        """Run ``request`` on the cheap model (through ``generate``) and rate the reply."""


class SchemaSignal(Signal):
    """Trust every reply that parsed; escalation happens only on schema failure."""

    name = "schema"

    async def judge(self, generate: Generate, request: GenerationRequest) -> Verdict:
        gen = await generate(request)
        return Verdict(gen, 1.0, [gen.call_id])


@functools.cache
def with_confidence(schema: type[BaseModel]) -> type[BaseModel]:
    """``schema`` plus a trailing ``confidence`` field in [0, 1] (a subclass: callers still
    read the fields they know)."""
    return create_model(
        f"{schema.__name__}WithConfidence",
        __base__=schema,
        confidence=(
            float,
            Field(ge=0.0, le=1.0, description="probability that this reply is correct"),
        ),
    )


def _append(request: GenerationRequest, note: str, **update: Any) -> GenerationRequest:
    """The request with ``note`` added to its last user message (prefixes stay shared)."""
    messages = list(request.messages)
    last = messages[-1]
    messages[-1] = Message(role=last.role, content=f"{last.content}\n\n{note}")
    return request.model_copy(update={"messages": tuple(messages), **update})


class SelfReportSignal(Signal):
    """The model's own estimate, asked for in the step's schema (or as a last line)."""

    name = "self"

    async def judge(self, generate: Generate, request: GenerationRequest) -> Verdict:
        if request.output_schema is not None:
            asked = _append(
                request, CONFIDENCE_NOTE, output_schema=with_confidence(request.output_schema)
            )
            gen = await generate(asked)
            return Verdict(gen, float(gen.parsed.confidence), [gen.call_id])
        gen = await generate(_append(request, CONFIDENCE_LINE_NOTE))
        found = _CONFIDENCE_LINE.findall(gen.text)
        confidence = min(1.0, float(found[-1])) if found else None
        return Verdict(gen, confidence, [gen.call_id])


def decision(gen: Generation) -> str:
    """What two samples must share to agree: the reply's decision, not its wording."""
    if isinstance(gen.parsed, BaseModel):
        data = {k: v for k, v in gen.parsed.model_dump().items() if k not in FREE_TEXT_FIELDS}
        if isinstance(data.get("answer"), str):
            data["answer"] = normalize_answer(data["answer"])
        return json.dumps(data, sort_keys=True, default=str)
    return normalize_answer(extract_answer(gen.text))


class AgreementSignal(Signal):
    """Share of ``samples`` sampled replies that agree with the most common decision.

    Samples run concurrently at ``temperature`` (at least the step's own); the kept reply is
    the first sample with the modal decision. Steps whose replies are free text all the way
    down (a decomposition) rarely agree verbatim: route those by role instead.
    """

    name = "agree"

    def __init__(self, samples: int = 3, temperature: float = 0.7) -> None:
        if samples < 2:
            raise ConfigError(f"agreement needs at least 2 samples, got {samples}")
        self.samples = samples
        self.temperature = temperature

    async def judge(self, generate: Generate, request: GenerationRequest) -> Verdict:
        params: SamplingParams = request.params
        sampled = params.model_copy(
            update={"temperature": max(params.temperature, self.temperature)}
        )
        asks = [
            request.model_copy(update={"params": sampled, "sample_index": i})
            for i in range(self.samples)
        ]
        results = await asyncio.gather(*(generate(a) for a in asks), return_exceptions=True)
        for r in results:  # a budget stop or a cancellation is not a disagreement
            if isinstance(r, BudgetExceeded) or (
                isinstance(r, BaseException) and not isinstance(r, Exception)
            ):
                raise r
        gens = [r for r in results if isinstance(r, Generation)]
        if not gens:
            raise next(r for r in results if isinstance(r, BaseException))
        for r in results:  # a budget stop is not a disagreement
            if isinstance(r, BaseException) and not isinstance(r, Exception):
                raise r
        votes = Counter(decision(g) for g in gens)
        modal, count = votes.most_common(1)[0]
        kept = next(g for g in gens if decision(g) == modal)
        return Verdict(kept, count / self.samples, [g.call_id for g in gens])


class LogprobSignal(Signal):
    """exp(mean token log-probability): the geometric-mean probability of the reply's tokens."""

    name = "logprob"

    async def judge(self, generate: Generate, request: GenerationRequest) -> Verdict:
        gen = await generate(request.model_copy(update={"logprobs": True}))
        if gen.mean_logprob is None:
            if gen.cached:
                return Verdict(gen, None, [gen.call_id])
            raise ConfigError(
                f"model {gen.model!r} ({gen.backend}) returned no token log-probabilities: "
                "use another escalation signal (self, agree or schema)"
            )
        return Verdict(gen, math.exp(min(0.0, gen.mean_logprob)), [gen.call_id])


SIGNALS = ("self", "agree", "logprob", "schema")


def make_signal(name: str | Signal, *, samples: int = 3) -> Signal:
    if isinstance(name, Signal):
        return name
    key = name.strip().lower() if isinstance(name, str) else name
    if key == "self":
        return SelfReportSignal()
    if key == "agree":
        return AgreementSignal(samples)
    if key == "logprob":
        return LogprobSignal()
    if key == "schema":
        return SchemaSignal()
    raise ConfigError(f"unknown escalation signal {name!r}: choose from {', '.join(SIGNALS)}")
