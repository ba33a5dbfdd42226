"""Data that crosses module boundaries: model requests, replies and usage.

Strategies describe the work they need as :class:`GenerationRequest` objects; the dispatcher
sends them to a backend and hands back a :class:`Generation`. Both are pydantic models so they
serialise into traces and result files unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agot.config import Settings
from agot.errors import ConfigError

#: Role tags of requests, used in traces, in scripted-backend tables and for routing.
ROLES = ("decompose", "assess", "solve", "check", "final", "answer", "vote", "chat", "judge")


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class SamplingParams(Settings):
    """Decoding settings, passed through to the backend (bad values are ConfigErrors)."""

    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: tuple[str, ...] | None = None


class GenerationRequest(BaseModel):
    """One unit of model work, as a strategy asks for it.

    ``output_schema`` is a pydantic model class: backends enforce it natively where they can
    (llama.cpp grammar, OpenAI ``response_format``), and the dispatcher validates every reply
    against it and re-asks when it does not parse. ``depends_on`` lists the ``call_id`` s whose
    outputs went into this prompt, so a trace can be replayed as a DAG. ``model`` overrides the
    dispatcher's default model for this one request (mixed-model agents).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    messages: tuple[Message, ...]
    output_schema: type[BaseModel] | None = None
    params: SamplingParams = SamplingParams()
    role: str = "solve"
    node_id: str | None = None
    depends_on: tuple[str, ...] = ()
    model: str | None = None
    sample_index: int | None = None
    #: Started before it is known to be needed (AGoT speculation); its reply may be discarded.
    speculative: bool = False
    #: Ask the backend for token log-probabilities (``BackendReply.mean_logprob``) where it can.
    logprobs: bool = False
    #: Urgency hint for queues (higher first), e.g. calls on the critical path of a graph.
    priority: int | None = None
    #: Characters at the start of the first user message that every prompt of the run opens
    #: with (AGoT's task block: passages, task, rules); with the system text they are the
    #: run-wide prefix a provider's prompt cache serves. Providers that need explicit cache
    #: marks (Anthropic) get one there. Not part of the fingerprint: it changes no reply.
    cache_prefix: int = 0

    @classmethod
    def chat(
        cls,
        user: str,
        *,
        system: str | None = None,
        **kwargs: Any,
    ) -> GenerationRequest:
        """Build a request from a user prompt and optional system prompt."""
        messages = []
        if system:
            messages.append(Message(role="system", content=system))
        messages.append(Message(role="user", content=user))
        return cls(messages=tuple(messages), **kwargs)

    def output_json_schema(self) -> dict[str, Any] | None:
        """The JSON schema of ``output_schema`` (what backends enforce), or None."""
        return self.output_schema.model_json_schema() if self.output_schema else None

    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)

    def fingerprint(self) -> str:
        """Canonical JSON of everything that determines the reply (cache key material)."""
        material = {
            "messages": [m.model_dump() for m in self.messages],
            "schema": self.output_json_schema(),
            "params": self.params.model_dump(),
            "sample_index": self.sample_index,
        }
        if self.logprobs:  # only when asked, so existing cache keys stay valid
            material["logprobs"] = True
        return json.dumps(
            material,
            sort_keys=True,
            ensure_ascii=False,
        )


class Usage(BaseModel):
    """Counted model usage; adds up with ``+``. Each field says what it counts (and
    ``Usage.model_json_schema()`` says it to readers of result files)."""

    calls: int = Field(
        0,
        description="model calls that returned a reply: each re-ask of a schema-checked call "
        "is a call, and a cached reply is a call (and a cached call)",
    )
    attempts: int = Field(
        0,
        description="requests actually sent to a backend, as a server's request log sees them: "
        "retries after 429/5xx/timeouts, attempts cut by a timeout or the wall-time budget, "
        "hedged duplicates and failed calls included; a cached reply is no attempt",
    )
    prompt_tokens: int = Field(
        0,
        description="prompt tokens the backend reported for replies, plus those counted locally "
        "for cancelled requests",
    )
    completion_tokens: int = Field(
        0, description="completion tokens the backend reported for replies"
    )
    cached_prompt_tokens: int = Field(
        0,
        description="of prompt_tokens, those the provider served from its prompt cache "
        "(OpenAI-style usage.prompt_tokens_details.cached_tokens; vLLM and SGLang report it "
        "too); 0 where the provider does not say",
    )
    cost: float = Field(0.0, description="USD the backend reported for replies (0 when unknown)")
    cached_calls: int = Field(0, description="calls answered from the response cache (free)")
    cancelled: int = Field(
        0,
        description="requests a server received whose reply was abandoned: speculative calls "
        "that lost while in flight (AGoT --speculate), the slower copy of a hedged request, "
        "attempts cut by a timeout. They are attempts but not calls; the prompt tokens they "
        "carried (counted locally, from the model's observed tokens per character) are in "
        "prompt_tokens, and their price in cost",
    )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cached_share(self) -> float | None:
        """The share of prompt tokens served from the provider's prompt cache (None: no
        provider reported any cached tokens)."""
        if not self.cached_prompt_tokens or not self.prompt_tokens:
            return None
        return self.cached_prompt_tokens / self.prompt_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in _COUNTERS})

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        """The sum of ``usages`` (an empty Usage when there are none)."""
        return sum(usages, cls())


#: Every field of :class:`Usage` is a counter that adds up.
_COUNTERS = tuple(Usage.model_fields)


class BackendReply(BaseModel):
    """What a backend returns for one request, before the dispatcher adds bookkeeping."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Of ``prompt_tokens``, those the provider served from its prompt cache.
    cached_prompt_tokens: int = 0
    cost: float | None = None
    finish_reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    #: HTTP requests this reply took inside the backend (a server that rejected a
    #: response_format and was asked again took 2).
    requests: int = 1
    #: Mean log-probability of the completion's tokens, when asked for and the backend has it.
    mean_logprob: float | None = None


class Generation(BaseModel):
    """A finished model call: the reply plus what the dispatcher knows about it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    call_id: str
    text: str
    parsed: Any = None
    usage: Usage
    latency_s: float
    queued_s: float = 0.0
    start: float
    end: float
    backend: str
    model: str
    cached: bool = False
    attempts: int = 1
    finish_reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    mean_logprob: float | None = None
    #: The replica that served the call, when the model runs on several endpoints.
    endpoint: str | None = None


def require_text(value: object, what: str = "question") -> str:
    """Validate user text at the API boundary: a non-empty ``str``."""
    if not isinstance(value, str):
        raise ConfigError(f"the {what} must be text (str), got {type(value).__name__}")
    if not value.strip():
        raise ConfigError(f"the {what} is empty: pass a non-empty string")
    return value
