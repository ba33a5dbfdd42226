"""What a pilot measured: per unit (item x strategy x model) and per call, the figures a plan
resamples and replays.

A plan predicts a run from a few of its own items run for real, so it records exactly what the
run will repeat: every call's role, tokens, cost, attempts, whether the cache answered it, its
service time and time queued, and how it depended on the unit's other calls. The dependency
structure is what lets wall time be *simulated* at another concurrency instead of scaled: a
call's predecessors are the calls named in its ``depends_on`` (AGoT names every call whose output
its prompt used); a call that names none but was sent after the unit's first call (a strategy
that chains calls without saying so) gets the call that finished last before it was sent.
``gap_s`` is the time between its predecessors' end (or the unit's start) and its being sent:
the strategy's own work, kept as measured.

This module knows nothing of the eval harness: the caller hands it each unit's
:class:`~agot.result.Result` with the time the unit started and ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agot.result import Result
from agot.trace import TraceEvent

#: Seconds of clock noise tolerated when matching a call's send time to another call's end.
_TOLERANCE_S = 0.002


@dataclass(frozen=True)
class CallSample:
    """One recorded call, placed in its unit's dependency structure."""

    role: str
    #: Which limits it passes: the model key of the unit's dispatcher and the serving model.
    gate: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    attempts: int
    cached: bool
    #: Seconds the backend worked on it (the trace event's span, retries and backoff included).
    service_s: float
    #: Seconds it waited for a concurrency slot or a rate limit.
    queued_s: float
    #: Indices (within the unit, all smaller than its own) of the calls it waited for.
    deps: tuple[int, ...]
    #: Seconds from its predecessors' end (or the unit's start, with none) to its being sent.
    gap_s: float
    discarded: bool = False
    #: Seconds from its start to the reply's first piece (streamed calls: the trace's
    #: ``first_token``), None when the call was not streamed.
    first_token_s: float | None = None
    #: Calls it stands for (more than one only for a unit's LLM-judge calls, kept as one).
    count: int = 1

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class UnitSample:
    """One item under one strategy and one model, as the pilot ran it."""

    item: str
    strategy: str
    model: str
    calls: tuple[CallSample, ...]
    #: Seconds the unit held its slot after its last call ended (answer extraction, scoring).
    tail_s: float = 0.0
    #: Seconds the unit took in all (its slot, from start to end).
    elapsed_s: float = 0.0
    error: bool = False

    @property
    def figures(self) -> dict[str, float]:
        """The counts a plan adds up (see :data:`FIGURES`)."""
        return {
            "calls": float(sum(c.count for c in self.calls)),
            "prompt_tokens": float(sum(c.prompt_tokens for c in self.calls)),
            "completion_tokens": float(sum(c.completion_tokens for c in self.calls)),
            "cost": sum(c.cost for c in self.calls),
        }


#: The additive figures of a plan, in the order they are shown (wall time is simulated).
FIGURES = ("calls", "prompt_tokens", "completion_tokens", "cost")


def unit_from_result(
    item: str,
    strategy: str,
    model: str,
    result: Result,
    *,
    started: float | None = None,
    ended: float | None = None,
    judge: Mapping[str, Any] | None = None,
) -> UnitSample:
    """The :class:`UnitSample` of one finished unit.

    ``started``/``ended`` are the Unix times the unit took and left its slot (the runner's view,
    scoring included); without them the unit is taken to start with its first call and to last
    ``result.wall_s``.

    ``judge``: the usage (:class:`~agot.types.Usage` as a dict) of the unit's LLM-judge
    scoring, which is spent after the strategy's calls, inside the unit's slot. It becomes
    one more call of role ``judge`` (its counts all of the judge's calls'), placed after
    the unit's last calls and lasting the time the unit held its slot after them, so a plan
    counts the judge's calls, tokens and cost and the simulation gives it a slot.
    """
    events = sorted(result.events, key=_sent)
    first_sent = _sent(events[0]) if events else 0.0
    origin = started if started is not None else first_sent
    index = {e.call_id: i for i, e in enumerate(events)}
    calls = []
    for i, event in enumerate(events):
        deps = tuple(sorted({index[d] for d in event.depends_on if index.get(d, i) < i}))
        if not deps and _sent(event) > first_sent + _TOLERANCE_S:
            trigger = _trigger(events[:i], _sent(event))
            deps = (trigger,) if trigger is not None else ()
        ready = max((events[d].end for d in deps), default=origin)
        calls.append(
            CallSample(
                role=event.role,
                gate=f"{model}|{event.model}",
                prompt_tokens=event.prompt_tokens,
                completion_tokens=event.completion_tokens,
                cost=event.cost,
                attempts=event.attempts,
                cached=event.cached,
                service_s=max(0.0, event.duration),
                queued_s=max(0.0, event.queued_s),
                deps=deps,
                gap_s=max(0.0, _sent(event) - ready),
                discarded=event.discarded,
                first_token_s=(
                    None
                    if event.first_token is None
                    else min(max(0.0, event.first_token - event.start), max(0.0, event.duration))
                ),
            )
        )
    last_end = max((e.end for e in events), default=origin)
    if ended is None:
        ended = (first_sent if events else origin) + result.wall_s
        ended = max(ended, last_end)
    tail = max(0.0, ended - last_end)
    if judge and int(judge.get("calls") or 0) > 0:
        gate = calls[-1].gate if calls else f"{model}|{model}"
        calls.append(_judge_call(judge, gate, calls, tail))
        tail = 0.0
    return UnitSample(
        item=item,
        strategy=strategy,
        model=model,
        calls=tuple(calls),
        tail_s=tail,
        elapsed_s=max(0.0, ended - origin),
        error=bool(result.error),
    )


def _judge_call(
    usage: Mapping[str, Any], gate: str, calls: Sequence[CallSample], tail: float
) -> CallSample:
    """The judge's spending as one call after the unit's sinks (calls nothing waited on)."""
    waited_on = {d for c in calls for d in c.deps}
    sinks = tuple(i for i in range(len(calls)) if i not in waited_on)
    return CallSample(
        role="judge",
        gate=gate,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cost=float(usage.get("cost") or 0.0),
        attempts=max(1, int(usage.get("attempts") or 0)),
        cached=int(usage.get("cached_calls") or 0) >= int(usage.get("calls") or 0),
        service_s=tail,
        queued_s=0.0,
        deps=sinks,
        gap_s=0.0,
        count=int(usage.get("calls") or 1),
    )


def _sent(event: TraceEvent) -> float:
    """When the strategy sent the call: its start less the time it queued."""
    return event.start - event.queued_s


def _trigger(before: Sequence[TraceEvent], sent: float) -> int | None:
    """The call that ended last no later than ``sent`` (what the strategy was waiting for)."""
    best: int | None = None
    for i, event in enumerate(before):
        if event.end <= sent + _TOLERANCE_S and (best is None or event.end > before[best].end):
            best = i
    return best


@dataclass
class Pilot:
    """The pilot's units with the settings it ran under (which a plan may vary)."""

    units: list[UnitSample]
    #: Items of the run the plan is for (the pilot's items are among them).
    run_items: int
    #: The run's settings as the pilot saw them (see :class:`~agot.plan.simulate.Settings`).
    settings: Any
    #: The pilot's items, in run order (each item's units are all in ``units``).
    items: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.items:
            self.items = list(dict.fromkeys(u.item for u in self.units))

    def by_item(self) -> list[list[UnitSample]]:
        """Each pilot item's units (what the bootstrap resamples together, so a strategy's and
        a model's units of one item stay paired)."""
        groups: dict[str, list[UnitSample]] = {item: [] for item in self.items}
        for unit in self.units:
            groups.setdefault(unit.item, []).append(unit)
        return [groups[item] for item in groups]

    def with_units(self, units: list[UnitSample]) -> Pilot:
        return replace(self, units=units)

    def per_role(self) -> dict[str, dict[str, float]]:
        """What the pilot's calls of each step role added up to (calls, tokens, attempts,
        cache hits, time queued and served), per item on average where it says ``per_item``."""
        out: dict[str, dict[str, float]] = {}
        for unit in self.units:
            for call in unit.calls:
                role = out.setdefault(
                    call.role,
                    dict.fromkeys(
                        ("calls", "prompt_tokens", "completion_tokens", "attempts", "cached"),
                        0.0,
                    )
                    | {"queued_s": 0.0, "service_s": 0.0},
                )
                role["calls"] += 1
                role["prompt_tokens"] += call.prompt_tokens
                role["completion_tokens"] += call.completion_tokens
                role["attempts"] += call.attempts
                role["cached"] += call.cached
                role["queued_s"] += call.queued_s
                role["service_s"] += call.service_s
        items = max(1, len(self.items))
        for figures in out.values():
            figures["calls_per_item"] = figures["calls"] / items
            figures["queued_s"] = round(figures["queued_s"], 6)
            figures["service_s"] = round(figures["service_s"], 6)
        return dict(sorted(out.items()))

    def latency_model(self) -> dict[str, dict[str, float | str]]:
        """Per role, each uncached call's latency split in three: ``queued_s``, the mean wait
        for a slot or a rate limit; ``first_s``, the time to the first token (the prefill and
        the server's own queue); ``per_token_s``, the time per output token after it.

        Where the trace has first-token times (streamed calls) both are *measured*: ``first_s``
        is the mean of the calls' time to first token and ``per_token_s`` their decode seconds
        over their output tokens. Only a role with no streamed call is *fitted*, by least
        squares of service time to ``first_s + per_token_s x completion tokens``. ``source``
        says which."""
        by_role: dict[str, list[CallSample]] = {}
        for unit in self.units:
            for call in unit.calls:
                if not call.cached:
                    by_role.setdefault(call.role, []).append(call)
        return {role: latency_split(calls) for role, calls in sorted(by_role.items())}


def latency_split(calls: Sequence[CallSample]) -> dict[str, float | str]:
    """:meth:`Pilot.latency_model` for one role's calls (at least one)."""
    n = len(calls)
    streamed = [c for c in calls if c.first_token_s is not None]
    if streamed:
        first = sum(c.first_token_s or 0.0 for c in streamed) / len(streamed)
        decode = sum(c.service_s - (c.first_token_s or 0.0) for c in streamed)
        tokens = sum(c.completion_tokens for c in streamed)
        per_token = max(0.0, decode) / tokens if tokens else 0.0
        source = "measured"
    else:
        first, per_token = _fit(calls)
        source = "fitted"
    return {
        "calls": float(n),
        "streamed": float(len(streamed)),
        "source": source,
        "queued_s": round(sum(c.queued_s for c in calls) / n, 6),
        "first_s": round(first, 6),
        "per_token_s": round(per_token, 8),
    }


def _fit(calls: Sequence[CallSample]) -> tuple[float, float]:
    """Least squares of service time on completion tokens: (intercept, slope), both >= 0."""
    n = len(calls)
    xs = [float(c.completion_tokens) for c in calls]
    ys = [c.service_s for c in calls]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    slope = max(0.0, slope)
    return max(0.0, my - slope * mx), slope
