"""Per-call trace events and the per-run recorder that collects them.

A dispatcher may serve many runs at once (an eval runs items concurrently over one dispatcher so
rate limits hold across the whole run), so events and budgets belong to the *run*, not to the
dispatcher. The current run's :class:`RunRecorder` travels in a context variable, which asyncio
copies into every task a run spawns. A run's usage broken down by model and by role is summed
from its events here too (``usage_by_model``, ``usage_by_role``).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field, field_validator

from agot.budget import Budget, BudgetTracker
from agot.types import Message, Usage
from agot.url_secrets import redact_model


class TraceEvent(BaseModel):
    """One model call, as recorded in a trace: enough, with ``depends_on``, to recompute the
    run's critical path from the events alone."""

    call_id: str
    node_id: str | None = None
    role: str
    start: float = Field(description="Unix seconds")
    end: float = Field(description="Unix seconds")
    queued_s: float = Field(0.0, description="waited for a concurrency slot or rate limit first")
    depends_on: list[str] = Field(default_factory=list)
    backend: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached: bool = False
    attempts: int = 1
    cancelled: int = Field(
        0, description="requests of this call the server received whose reply was abandoned"
    )
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    #: Started speculatively (AGoT ``speculate``) before it was known to be needed.
    speculative: bool = False
    #: Its output was not used: a speculative call that lost, whether finished or cancelled.
    discarded: bool = False
    messages: list[Message] | None = Field(
        None, description="the prompt sent (None when the run was told not to keep text)"
    )
    completion: str | None = Field(None, description="the text the model returned")
    first_token: float | None = Field(
        None,
        description="Unix seconds when the reply's first piece arrived (streamed calls; the "
        "last attempt that wrote one)",
    )
    #: The sampling parameters it was made with (temperature, max_tokens, top_p, seed, ...).
    params: dict[str, Any] | None = None
    #: The name of the schema its reply had to match (None: free text); its JSON schema is
    #: the trace's ``schemas`` entry of that name (kept once per trace, not per call).
    output_schema: str | None = None
    #: The sample's index among the request's siblings (self-consistency, AGoT samples).
    sample_index: int | None = None
    #: Inputs readable before their call ended (call id -> Unix seconds): a thought AGoT read
    #: from a proposal still being written. The critical path counts from then.
    inputs_at: dict[str, float] = Field(default_factory=dict)
    #: The replica that served the call (fleets: several endpoints for one model).
    endpoint: str | None = None
    #: Replicas whose attempts at this call failed before it was served elsewhere.
    failed_endpoints: list[str] = Field(default_factory=list)

    @field_validator("model")
    @classmethod
    def _no_secret(cls, value: str) -> str:
        # Written to traces, results and screens: a key in the model's URL never is.
        return redact_model(value)

    @property
    def duration(self) -> float:
        return self.end - self.start


class RunRecorder:
    """Collects the events, usage and budget state of one run."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.events: list[TraceEvent] = []
        #: The JSON schema of each response schema the calls used, by name.
        self.schemas: dict[str, dict[str, Any]] = {}
        self.usage = Usage()
        self.tracker = BudgetTracker(budget)
        self.started = time.time()

    def record(self, event: TraceEvent, usage: Usage, schema: type[Any] | None = None) -> None:
        """Keep ``event``; ``schema`` (the reply's pydantic model) goes into :attr:`schemas`
        once per name, so a trace shows each call's response schema without repeating it."""
        if schema is not None and event.output_schema and event.output_schema not in self.schemas:
            self.schemas[event.output_schema] = schema.model_json_schema()
        self.events.append(event)
        self.usage = self.usage + usage
        self.tracker.add(usage)


_current: contextvars.ContextVar[RunRecorder | None] = contextvars.ContextVar(
    "agot_run_recorder", default=None
)


def current_recorder() -> RunRecorder | None:
    return _current.get()


@contextlib.contextmanager
def recording(recorder: RunRecorder) -> Iterator[RunRecorder]:
    """Make ``recorder`` the current run's recorder inside the block (and tasks it spawns)."""
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


# -- usage broken down by model and by role, from a run's trace events -------------------------
def usage_by(events: Iterable[TraceEvent], key: Callable[[TraceEvent], str]) -> dict[str, Usage]:
    """Sum each event's tokens and cost under ``key(event)``; one call per dispatched request
    that was not cancelled before its reply."""
    out: dict[str, Usage] = {}
    for event in events:
        name = key(event)
        out[name] = out.get(name, Usage()) + Usage(
            calls=0 if event.error == "cancelled" else 1,
            attempts=event.attempts,
            cancelled=event.cancelled,
            prompt_tokens=0 if event.cached else event.prompt_tokens,
            completion_tokens=0 if event.cached else event.completion_tokens,
            cost=event.cost,
            cached_calls=int(event.cached),
        )
    return out


def usage_by_model(events: Iterable[TraceEvent]) -> dict[str, Usage]:
    return usage_by(events, lambda e: e.model)


def usage_by_role(events: Iterable[TraceEvent]) -> dict[str, Usage]:
    return usage_by(events, lambda e: e.role)
