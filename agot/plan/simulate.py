"""A discrete-event simulation of an eval run: units over item slots, calls over model limits.

Wall time is not the mean unit time times the number of units: units overlap (``items in
flight``), calls inside a unit overlap where the DAG allows, and all of them compete for each
model's concurrency slots and rate limits. So a plan replays sampled units the way the runner
and the dispatcher would:

* units start in run order, at most ``items_in_flight`` at a time (the runner's semaphore);
* a call becomes ready when its predecessors have ended, and a unit ends with its last call;
* the client's own work (building prompts, handling replies, parsing, scoring) runs on one
  event loop, which serves one piece at a time: ``call_overhead_s`` per call, the time the
  pilot's loop was busy (or ready but waiting for a CPU) per call, is served on it when a call
  ends, before its dependents may start (and taken out of the recorded service time, which
  included it). At high concurrency the loop, not the model, can be what a run waits for.
  Without that measure (``call_overhead_s`` 0) the recorded ``gap_s`` before each call and
  ``tail_s`` after a unit's last call are replayed as plain delays instead; with it they are
  not, since they were that work or waits for the loop, which the simulation recreates;
* a ready call takes a slot of its gate (``concurrency`` per model, first come first served),
  then waits for the request-rate spacing (``60 / rpm`` seconds between requests, one per
  attempt) and the token-rate bucket, then runs for its recorded service time; a call the cache
  answered takes no slot;
* a unit that ends frees its item slot for the next.

The result is the time from the first unit's start to the last unit's end.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from agot.plan.pilot import UnitSample


@dataclass(frozen=True)
class Settings:
    """What bounds a run's pace (the eval's flags, as the plan assumes them)."""

    #: Units (item x strategy x model) run at once.
    items_in_flight: int = 8
    #: Calls in flight per gate (model); gates not named get ``default_concurrency``.
    concurrency: dict[str, int] = field(default_factory=dict)
    default_concurrency: int = 8
    #: Requests and tokens per minute per gate (None: unlimited).
    rpm: float | None = None
    tpm: float | None = None
    #: The event loop's own seconds per call beyond the recorded gaps and tails (handling the
    #: request and the reply), as the pilot measured it: served on the loop when a call ends.
    call_overhead_s: float = 0.0
    #: The share of each call's recorded service time (less ``call_overhead_s``) that was the
    #: server's own latency; the rest was the call waiting for the client's loop or CPU behind
    #: the pilot's other calls, which the simulation recreates at the run's concurrency
    #: (see :func:`calibrate`).
    service_scale: float = 1.0

    def slots(self, gate: str) -> int:
        return self.concurrency.get(gate, self.default_concurrency)

    def describe(self) -> dict[str, object]:
        return {
            "items_in_flight": self.items_in_flight,
            "concurrency": dict(self.concurrency) or self.default_concurrency,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "call_overhead_s": round(self.call_overhead_s, 6),
            "service_scale": round(self.service_scale, 4),
        }


class _Gate:
    """One model's slots and rate limits, as the dispatcher's Gate holds them."""

    def __init__(self, slots: int, rpm: float | None, tpm: float | None) -> None:
        self.free = slots
        self.waiting: deque[tuple[int, int]] = deque()
        self.interval = 60.0 / rpm if rpm else 0.0
        self.next_request = 0.0
        self.token_rate = tpm / 60.0 if tpm else 0.0
        # A leaky bucket holding one second's worth: its level drains at token_rate.
        self.capacity = max(1.0, self.token_rate)
        self.level = 0.0
        self.level_at = 0.0

    def admit(self, now: float, attempts: int, tokens: int) -> float:
        """When a call that took a slot at ``now`` may start, booking the rate it uses."""
        start = now
        if self.interval:
            start = max(start, self.next_request)
            self.next_request = start + self.interval * max(1, attempts)
        if self.token_rate:
            weight = min(float(tokens), self.capacity)
            level = max(0.0, self.level - (start - self.level_at) * self.token_rate)
            if level + weight > self.capacity:
                start += (level + weight - self.capacity) / self.token_rate
                level = self.capacity - weight
            self.level, self.level_at = level + weight, start
        return start


class _Shape:
    """A unit's calls as flat arrays (built once per unit, reused by every simulation)."""

    __slots__ = (
        "attempts",
        "cached",
        "children",
        "deps",
        "gap",
        "gates",
        "roots",
        "service",
        "tail",
        "tokens",
    )

    def __init__(self, unit: UnitSample) -> None:
        calls = unit.calls
        self.service = [c.service_s for c in calls]
        self.gap = [c.gap_s for c in calls]
        self.cached = [c.cached for c in calls]
        self.attempts = [c.attempts for c in calls]
        self.tokens = [c.tokens for c in calls]
        self.gates = [c.gate for c in calls]
        self.deps = [len(c.deps) for c in calls]
        self.children: list[list[int]] = [[] for _ in calls]
        for i, call in enumerate(calls):
            for d in call.deps:
                self.children[d].append(i)
        self.roots = [i for i, c in enumerate(calls) if not c.deps]
        self.tail = unit.tail_s


_SHAPES: dict[int, tuple[UnitSample, _Shape]] = {}


def _shape(unit: UnitSample) -> _Shape:
    held = _SHAPES.get(id(unit))
    if held is None or held[0] is not unit:
        if len(_SHAPES) > 100_000:
            _SHAPES.clear()
        held = _SHAPES[id(unit)] = (unit, _Shape(unit))
    return held[1]


def simulate(units: Sequence[UnitSample], settings: Settings) -> float:
    """Seconds the run of ``units`` (in run order) takes under ``settings``."""
    if not units:
        return 0.0
    shapes = [_shape(u) for u in units]
    gates: dict[str, _Gate] = {}
    for shape in shapes:
        for name in shape.gates:
            if name not in gates:
                gates[name] = _Gate(settings.slots(name), settings.rpm, settings.tpm)
    # Per started unit: predecessors still running per call, calls left, its latest call end.
    waiting_on: dict[int, list[int]] = {}
    left: dict[int, int] = {}
    last_end: dict[int, float] = {}
    # (time, seq, kind, unit, call); kinds: READY 0, END 1, UNIT_END 2.
    events: list[tuple[float, int, int, int, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    seq = 0
    loop_free = 0.0  # when the event loop is next free for the client's own work
    overhead = settings.call_overhead_s
    scale = settings.service_scale
    # With the loop measured, the gaps and tails are its work or waits for it: the loop model
    # recreates both, so they are not replayed on top of it.
    replay = 0.0 if overhead else 1.0

    def on_loop(now: float, work: float) -> float:
        """When ``work`` seconds of the client's own work, wanted at ``now``, are done."""
        nonlocal loop_free
        loop_free = max(now, loop_free) + work
        return loop_free

    def ready(u: int, c: int, now: float) -> None:
        nonlocal seq
        shape = shapes[u]
        if shape.cached[c]:
            seq += 1
            push(events, (now + shape.service[c], seq, 1, u, c))
            return
        gate = gates[shape.gates[c]]
        if gate.free:
            gate.free -= 1
            start = gate.admit(now, shape.attempts[c], shape.tokens[c])
            seq += 1
            push(events, (start + scale * max(0.0, shape.service[c] - overhead), seq, 1, u, c))
        else:
            gate.waiting.append((u, c))

    def release(u: int, c: int, now: float) -> None:
        """Call ``c``'s predecessors are done (or it has none): it is sent after the gap the
        pilot recorded before it (replayed), or at once."""
        nonlocal seq
        gap = shapes[u].gap[c]
        if replay and gap > 0:
            seq += 1
            push(events, (now + gap, seq, 0, u, c))
        else:
            ready(u, c, now)

    def start_unit(u: int, now: float) -> None:
        nonlocal seq
        shape = shapes[u]
        left[u] = len(shape.service)
        last_end[u] = now
        waiting_on[u] = list(shape.deps)
        if not shape.service:
            seq += 1
            push(events, (now + replay * shape.tail, seq, 2, u, -1))
        for c in shape.roots:
            release(u, c, now)

    next_unit = 0
    for _ in range(min(settings.items_in_flight, len(units))):
        start_unit(next_unit, 0.0)
        next_unit += 1
    finished = 0.0
    while events:
        now, _, kind, u, c = pop(events)
        if kind == 0:
            ready(u, c, now)
            continue
        if kind == 2:
            finished = now if now > finished else finished
            del waiting_on[u]
            if next_unit < len(units):
                start_unit(next_unit, now)
                next_unit += 1
            continue
        # A call ended: free its slot, wake its dependents, maybe end its unit.
        shape = shapes[u]
        if not shape.cached[c]:
            gate = gates[shape.gates[c]]
            if gate.waiting:
                wu, wc = gate.waiting.popleft()
                wshape = shapes[wu]
                start = gate.admit(now, wshape.attempts[wc], wshape.tokens[wc])
                seq += 1
                served = scale * max(0.0, wshape.service[wc] - overhead)
                push(events, (start + served, seq, 1, wu, wc))
            else:
                gate.free += 1
        if overhead:
            now = on_loop(now, overhead)
        if now > last_end[u]:
            last_end[u] = now
        counts = waiting_on[u]
        for child in shape.children[c]:
            counts[child] -= 1
            if counts[child] == 0:
                release(u, child, now)
        left[u] -= 1
        if left[u] == 0:
            seq += 1
            push(events, (last_end[u] + replay * shape.tail, seq, 2, u, -1))
    return finished


def calibrate(units: Sequence[UnitSample], settings: Settings, wall_s: float) -> Settings:
    """``settings`` with the :attr:`~Settings.service_scale` under which replaying the pilot's
    own ``units`` (in the order they ran) takes the pilot's measured ``wall_s``.

    A call's recorded service time includes its waits for the client's loop (or a CPU) while
    the pilot's other calls were handled; the simulation serves that work on its loop model
    again, so replayed as recorded it would count those waits twice, and more so at a higher
    concurrency. The scale that reproduces the pilot's own wall time takes them out (found by
    bisection; the replay's time grows with the scale). It stays 1 without a measured loop
    cost (nothing to count twice) and is kept within [0, 1]."""
    if not settings.call_overhead_s or not units or wall_s <= 0:
        return settings
    low, high = 0.0, 1.0
    if simulate(units, replace(settings, service_scale=high)) <= wall_s:
        return settings
    if simulate(units, replace(settings, service_scale=low)) >= wall_s:
        return replace(settings, service_scale=low)
    for _ in range(20):
        middle = (low + high) / 2
        if simulate(units, replace(settings, service_scale=middle)) < wall_s:
            low = middle
        else:
            high = middle
    return replace(settings, service_scale=(low + high) / 2)
