"""The routing core: replicas' queues, their predicted work, breakers, all on an injected clock.

It holds no asyncio and never reads the time itself, so the same code routes real calls (the
:class:`~agot.fleet.fleet.Fleet` drives it with ``time.monotonic``), runs in unit tests on a fake
clock, and drives the benchmark's discrete-event replica simulator on virtual time.

A call is *submitted* (the policy picks a replica among those whose breaker admits calls; it
waits there in priority order), *started* when the replica has a free slot (``on_start``),
and *finished*, *failed* or *abandoned*. When a replica's breaker opens, its waiting calls move
to other replicas and its running calls are *aborted* (``on_abort``) so the caller can retry
them elsewhere instead of waiting on a dead server. Under a policy that ``rebalances``
(predictive), a replica whose slot frees takes a call queued elsewhere if it would finish
sooner there.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agot.fleet.breaker import CircuitBreaker
from agot.fleet.policies import RoutingPolicy, make_policy
from agot.fleet.predictor import LatencyModel, OutputTokens

Clock = Callable[[], float]


@dataclass(frozen=True)
class ReplicaSpec:
    """What the router needs to know about one replica before it has seen a reply."""

    name: str
    capacity: int = 8
    weight: float = 1.0
    #: Speed assumed before any reply (replicas of weight w: ``tpot / w``); once replies come,
    #: each replica's prior is the speed the whole fleet has shown (``EndpointRouter.pooled``).
    ttft_s: float = 0.5
    tpot_s: float = 0.02


@dataclass(eq=False)
class CallInfo:
    """What is known about a call before it runs."""

    role: str = "solve"
    kind: Hashable = None
    max_tokens: int | None = None
    #: Predicted output tokens (filled in by :meth:`EndpointRouter.submit` when None).
    tokens: float | None = None
    #: Higher is more urgent (calls on the critical path); then older runs first.
    priority: float = 0.0
    run_started: float = 0.0


@dataclass(eq=False)
class Ticket:
    """One call's passage through the router."""

    call: CallInfo
    seq: int
    rank: tuple[float, float, int]
    state: Literal["waiting", "running", "done"] = "waiting"
    endpoint: EndpointState | None = None
    started_at: float = 0.0
    #: Predicted seconds of service on its endpoint (set when it starts).
    service_s: float = 0.0
    aborted: bool = False
    #: Whatever the driver attaches (a future, a simulator record).
    data: Any = None


class NoEndpoint(Exception):
    """Every replica's breaker is open; ``retry_after`` seconds until the first probe."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"every endpoint is out of service; next probe in {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass(eq=False)
class EndpointState:
    """A replica as the policies see it."""

    index: int
    name: str
    capacity: int
    weight: float
    model: LatencyModel
    breaker: CircuitBreaker
    running: dict[int, Ticket] = field(default_factory=dict)
    waiting: list[tuple[tuple[float, float, int], Ticket]] = field(default_factory=list)
    n_waiting: int = 0
    calls: int = 0
    errors: int = 0

    @property
    def outstanding(self) -> int:
        return len(self.running) + self.n_waiting

    def queued(self) -> list[Ticket]:
        ordered = sorted(self.waiting, key=lambda x: x[0])
        return [t for _, t in ordered if t.state == "waiting" and t.endpoint is self]

    def predicted_finish(self, call: CallInfo, now: float) -> float:
        """Seconds from ``now`` until ``call`` would finish here.

        Slots free when running calls reach their predicted end (an overrunning call is taken
        to end now); calls queued ahead of it (higher rank) take the next free slots first.
        """
        rank = (-call.priority, call.run_started, math.inf)
        free = self.slots_free_at(now)
        for ticket in self.queued():
            if ticket.rank > rank:
                break
            self.take_slot(free, ticket)
        return free[0] + self.model.predict(call.tokens or 0.0) - now

    def slots_free_at(self, now: float) -> list[float]:
        """A heap of the times each slot frees: running calls at their predicted end (an
        overrunning call is taken to end now), idle slots now."""
        free = [max(now, t.started_at + t.service_s) for t in self.running.values()]
        free.extend([now] * max(self.capacity - len(free), 0))
        heapq.heapify(free)
        return free

    def take_slot(self, free: list[float], ticket: Ticket) -> float:
        """Give ``ticket`` the earliest free slot in ``free``; its predicted end here."""
        end = heapq.heappop(free) + self.model.predict(ticket.call.tokens or 0.0)
        heapq.heappush(free, end)
        return end


class EndpointRouter:
    """Routes calls over replicas with a policy; see the module docstring."""

    def __init__(
        self,
        replicas: Sequence[ReplicaSpec],
        policy: str | RoutingPolicy | None = None,
        *,
        clock: Clock = time.monotonic,
        tokens: OutputTokens | None = None,
        breaker: Callable[[], CircuitBreaker] = CircuitBreaker,
        on_start: Callable[[Ticket], None] | None = None,
        on_abort: Callable[[Ticket], None] | None = None,
    ) -> None:
        if not replicas:
            raise ValueError("a router needs at least one replica")
        self.policy = make_policy(policy, len(replicas))
        self.clock = clock
        self.tokens = tokens or OutputTokens()
        self.on_start = on_start or (lambda t: None)
        self.on_abort = on_abort or (lambda t: None)
        self.endpoints = [
            EndpointState(
                index=i,
                name=r.name,
                capacity=r.capacity,
                weight=r.weight,
                model=LatencyModel(r.ttft_s, r.tpot_s / r.weight),
                breaker=breaker(),
            )
            for i, r in enumerate(replicas)
        ]
        self._seq = itertools.count()
        #: Every reply of every replica: the prior of each replica's own model. A prior in
        #: absolute seconds would be far off for most hardware, and a replica judged slow on
        #: a bad prior would never get the calls that could correct it; the fleet's pooled
        #: speed is close, and errs fast for the slower replicas, so each gets tried.
        self.pooled = LatencyModel(replicas[0].ttft_s, replicas[0].tpot_s)

    def available(self, avoid: frozenset[str] | set[str] = frozenset()) -> list[EndpointState]:
        now = self.clock()
        return [e for e in self.endpoints if e.name not in avoid and e.breaker.available(now)]

    # -- the life of a call -----------------------------------------------------------------
    def submit(
        self, call: CallInfo, *, avoid: frozenset[str] | set[str] = frozenset(), data: Any = None
    ) -> Ticket:
        """Place ``call`` on a replica (preferring those not in ``avoid``); may start it."""
        now = self.clock()
        if call.tokens is None:
            call.tokens = self.tokens.predict(call.role, call.kind, max_tokens=call.max_tokens)
        seq = next(self._seq)
        ticket = Ticket(call, seq, (-call.priority, call.run_started, seq), data=data)
        self._place(ticket, now, avoid)
        return ticket

    def _place(self, ticket: Ticket, now: float, avoid: frozenset[str] | set[str]) -> None:
        open_ = [e for e in self.endpoints if e.breaker.available(now)]
        if not open_:
            wait = min(e.breaker.reopens_at() for e in self.endpoints) - now
            raise NoEndpoint(max(wait, 0.0))
        candidates = [e for e in open_ if e.name not in avoid] or open_
        # A replica due for a probe gets only the probe: others wait for its verdict.
        endpoint = self.policy.choose(ticket.call, candidates, now)
        endpoint.breaker.on_send(now)
        ticket.endpoint, ticket.state = endpoint, "waiting"
        heapq.heappush(endpoint.waiting, (ticket.rank, ticket))
        endpoint.n_waiting += 1
        self._drain(endpoint, now)

    def finish(
        self,
        ticket: Ticket,
        *,
        ok: bool,
        latency_s: float = 0.0,
        tokens: int = 0,
        failure: bool = False,
    ) -> None:
        """A started call ended: ``ok`` with ``tokens`` output tokens in ``latency_s``, or not.

        ``failure``: the replica is to blame (see :func:`~agot.fleet.breaker.is_endpoint_failure`).
        """
        now = self.clock()
        endpoint = ticket.endpoint
        assert endpoint is not None
        self._release(ticket)
        endpoint.calls += 1
        if ok:
            self.pooled.observe(latency_s, tokens)
            for e in self.endpoints:
                e.model.reprior(self.pooled.ttft, self.pooled.tpot / e.weight)
            endpoint.model.observe(latency_s, tokens)
            self.tokens.observe(ticket.call.role, ticket.call.kind, tokens)
            endpoint.breaker.on_success()
        elif failure:
            endpoint.errors += 1
            if endpoint.breaker.on_failure(now):
                self._evacuate(endpoint, now)
        else:
            endpoint.errors += 1
            endpoint.breaker.on_success()  # it answered: alive, the request was at fault
        self._drain(endpoint, now)

    def abandon(self, ticket: Ticket) -> None:
        """The caller gave up on ``ticket`` (cancelled, out of budget): free its place."""
        if ticket.state == "done" or ticket.endpoint is None:
            return
        endpoint = ticket.endpoint
        if ticket.state == "running":
            endpoint.breaker.on_abandon()
        self._release(ticket)
        self._drain(endpoint, self.clock())

    # -- internals ------------------------------------------------------------------------------
    def _release(self, ticket: Ticket) -> None:
        endpoint = ticket.endpoint
        assert endpoint is not None
        if ticket.state == "running":
            endpoint.running.pop(ticket.seq, None)
        elif ticket.state == "waiting":
            endpoint.n_waiting -= 1
        ticket.state = "done"

    def _drain(self, endpoint: EndpointState, now: float) -> None:
        while endpoint.waiting and len(endpoint.running) < endpoint.capacity:
            _, ticket = heapq.heappop(endpoint.waiting)
            if ticket.state != "waiting" or ticket.endpoint is not endpoint:
                continue
            endpoint.n_waiting -= 1
            self._start(endpoint, ticket, now)
        if getattr(self.policy, "rebalances", False) and endpoint.breaker.state == "closed":
            while len(endpoint.running) < endpoint.capacity:
                stolen = self._steal_for(endpoint, now)
                if stolen is None:
                    break
                assert stolen.endpoint is not None
                stolen.endpoint.n_waiting -= 1  # its heap entry there is skipped from now on
                self._start(endpoint, stolen, now)

    def _start(self, endpoint: EndpointState, ticket: Ticket, now: float) -> None:
        ticket.endpoint, ticket.state, ticket.started_at = endpoint, "running", now
        ticket.service_s = endpoint.model.predict(ticket.call.tokens or 0.0)
        endpoint.running[ticket.seq] = ticket
        self.on_start(ticket)

    def _steal_for(self, endpoint: EndpointState, now: float) -> Ticket | None:
        """A call queued elsewhere that would finish sooner if it started here now.

        The placement was the best prediction when the call arrived; a slot freeing early (a
        reply shorter than predicted) can make another replica's queued call better off here.
        Of the calls that gain, the most urgent one moves.
        """
        best: Ticket | None = None
        for other in self.endpoints:
            if other is endpoint or not other.n_waiting or other.breaker.state != "closed":
                continue
            free = other.slots_free_at(now)
            for t in other.queued():
                there = other.take_slot(free, t)
                if now + endpoint.model.predict(t.call.tokens or 0.0) < there:
                    if best is None or t.rank < best.rank:
                        best = t
                    break
        return best

    def _evacuate(self, endpoint: EndpointState, now: float) -> None:
        """The breaker opened: move waiting calls elsewhere, abort the running ones."""
        waiting = endpoint.queued()
        endpoint.waiting, endpoint.n_waiting = [], 0
        for ticket in waiting:
            try:
                self._place(ticket, now, {endpoint.name})
            except NoEndpoint:
                ticket.state, ticket.aborted = "done", True
                self.on_abort(ticket)
        for ticket in list(endpoint.running.values()):
            ticket.aborted = True
            self.on_abort(ticket)
