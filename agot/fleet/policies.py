"""Routing policies: which replica of a model serves the next call.

Every policy sees the same :class:`~agot.fleet.router.EndpointState` views (capacity, calls
running and waiting with their predicted work, the learned speed model) and the clock, and
returns one of the candidates it is given (those whose circuit breaker admits a call).

* ``round-robin``: smooth weighted round-robin (nginx's algorithm): replicas in turn, in
  proportion to their weights, blind to load and speed.
* ``least-outstanding``: the replica with the fewest calls running or waiting per unit of
  weight (join-the-shortest-queue); blind to speed and to how long each call will take.
* ``predictive`` (Block): the replica where this call is predicted to *finish* first: the time
  until a batch slot frees for it (the replica's running calls' predicted remaining work, then
  the calls queued ahead of it) plus its own service time there (learned ttft + tpot times its
  predicted output tokens).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from agot.errors import ConfigError

if TYPE_CHECKING:
    from agot.fleet.router import CallInfo, EndpointState


class RoutingPolicy(Protocol):
    name: str

    def choose(
        self, call: CallInfo, candidates: Sequence[EndpointState], now: float
    ) -> EndpointState: ...


class RoundRobin:
    name = "round-robin"

    def __init__(self) -> None:
        self._current: dict[int, float] = {}

    def choose(
        self, call: CallInfo, candidates: Sequence[EndpointState], now: float
    ) -> EndpointState:
        total = sum(e.weight for e in candidates)
        for e in candidates:
            self._current[e.index] = self._current.get(e.index, 0.0) + e.weight
        best = max(candidates, key=lambda e: (self._current[e.index], -e.index))
        self._current[best.index] -= total
        return best


class LeastOutstanding:
    name = "least-outstanding"

    def __init__(self) -> None:
        self._turn = 0

    def choose(
        self, call: CallInfo, candidates: Sequence[EndpointState], now: float
    ) -> EndpointState:
        # Ties (an idle fleet) rotate, so idle replicas share the first calls.
        self._turn += 1
        n = len(candidates)
        return min(
            candidates,
            key=lambda e: (e.outstanding / e.weight, (e.index - self._turn) % max(n, 1)),
        )


class Predictive:
    name = "predictive"
    #: When a slot frees, a call queued on another replica moves there if it would finish
    #: sooner (the router asks; see ``EndpointRouter._steal_for``).
    rebalances = True

    def choose(
        self, call: CallInfo, candidates: Sequence[EndpointState], now: float
    ) -> EndpointState:
        return min(candidates, key=lambda e: (e.predicted_finish(call, now), e.outstanding))


POLICIES = {p.name: p for p in (RoundRobin, LeastOutstanding, Predictive)}


def make_policy(routing: str | RoutingPolicy | None, endpoints: int = 2) -> RoutingPolicy:
    """The policy named ``routing`` (default: predictive), or ``routing`` itself."""
    if routing is None:
        return Predictive()
    if isinstance(routing, str):
        cls = POLICIES.get(routing.strip().lower().replace("_", "-"))
        if cls is None:
            raise ConfigError(
                f"unknown routing policy {routing!r}: choose one of {', '.join(POLICIES)}"
            )
        return cls()
    if not callable(getattr(routing, "choose", None)):
        raise ConfigError(f"routing must be a policy name or have choose(), got {routing!r}")
    return routing


def replica_policy_option(replica_policy: Any, routing: Any) -> Any:
    """``replica_policy``, or ``routing``: its old, deprecated name (which read as model
    routing, :mod:`agot.routing`). Giving both is a ConfigError."""
    if routing is None:
        return replica_policy
    if replica_policy is not None:
        raise ConfigError("give replica_policy only (routing is its old name)")
    warnings.warn(
        "routing= (a fleet's choice of replica) is deprecated: use replica_policy=",
        DeprecationWarning,
        stacklevel=4,
    )
    return routing


def renamed_routing(data: Any) -> Any:
    """Settings given as a mapping, with the old key ``routing`` read as ``replica_policy``
    (for the ``mode="before"`` validators of the models that take a replica policy)."""
    if isinstance(data, dict) and "routing" in data:
        data = dict(data)
        routing = data.pop("routing")
        data["replica_policy"] = replica_policy_option(data.get("replica_policy"), routing)
    return data
