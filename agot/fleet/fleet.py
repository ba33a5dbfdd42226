"""The asyncio side of a fleet: one model's replicas behind a routing policy.

The :class:`~agot.fleet.router.EndpointRouter` decides; this module makes its decisions happen
on the event loop. A call waits (on a future) until the router starts it on a replica, then runs the
caller's ``attempt`` there (the dispatcher's usual gated attempt on that replica's backend,
limits and latency book). A failure the replica is to blame for (refused connection, timeout,
5xx) marks the replica as failed *for this call*, and the call goes straight to another replica
the policy picks, without backoff, since the others are healthy; only when every replica in
service has failed it does the error reach the dispatcher, which backs off and retries. When a
replica's breaker opens, calls still running there are cancelled and re-routed the same way, so
none waits on a dead server until its timeout.

The router's slots mirror each replica's concurrency limit, so the replica's own gate never
makes a call wait: calls wait in the router, where the policy and priorities apply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from agot.errors import BackendError, TransientBackendError
from agot.fleet.breaker import CircuitBreaker, is_endpoint_failure
from agot.fleet.policies import RoutingPolicy
from agot.fleet.router import CallInfo, EndpointRouter, NoEndpoint, ReplicaSpec, Ticket
from agot.types import BackendReply, GenerationRequest

T = TypeVar("T")


@dataclass
class Replica(Generic[T]):
    """One endpoint as the fleet runs it; ``target`` is what ``attempt`` is called with."""

    name: str
    target: T
    capacity: int
    weight: float = 1.0


@dataclass
class _Waiter:
    started: asyncio.Future[None]
    task: asyncio.Future[BackendReply] | None = None


@dataclass
class ReplicaStats:
    """What the fleet has seen of one replica (for reports)."""

    name: str
    calls: int
    errors: int
    ttft_s: float
    tpot_s: float
    breaker: str
    trips: int


class Fleet(Generic[T]):
    """Replicas of one model behind a routing policy; see the module docstring."""

    def __init__(
        self,
        model: str,
        replicas: Sequence[Replica[T]],
        routing: str | RoutingPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        breaker: Callable[[], CircuitBreaker] = CircuitBreaker,
    ) -> None:
        self.model = model
        self.replicas = list(replicas)
        self.clock = clock
        self.router = EndpointRouter(
            [ReplicaSpec(r.name, capacity=r.capacity, weight=r.weight) for r in replicas],
            routing,
            clock=clock,
            breaker=breaker,
            on_start=_on_start,
            on_abort=_on_abort,
        )

    @property
    def policy(self) -> str:
        return str(getattr(self.router.policy, "name", type(self.router.policy).__name__))

    def stats(self) -> list[ReplicaStats]:
        return [
            ReplicaStats(
                name=e.name,
                calls=e.calls,
                errors=e.errors,
                ttft_s=e.model.ttft,
                tpot_s=e.model.tpot,
                breaker=e.breaker.state,
                trips=e.breaker.trips,
            )
            for e in self.router.endpoints
        ]

    async def call(
        self,
        request: GenerationRequest,
        attempt: Callable[[T, str], Awaitable[BackendReply]],
        *,
        failed: list[str],
        run_started: float = 0.0,
    ) -> BackendReply:
        """Run ``attempt(target, endpoint_name)`` on a replica the policy picks.

        ``failed`` lists the endpoints that failed this request so far (the caller keeps it
        across its own retries, and the trace records it); the policy avoids them while others
        are in service.
        """
        while True:
            try:
                return await self._once(request, attempt, failed, run_started)
            except BackendError as exc:
                if not is_endpoint_failure(exc):
                    raise  # the request's fault: another replica would fail it alike
                if self.router.available(set(failed)):
                    continue  # a replica this call has not failed on is in service
                if isinstance(exc, TransientBackendError):
                    raise  # the dispatcher backs off and tries the fleet again
                tried = ", ".join(dict.fromkeys(failed))
                raise type(exc)(
                    f"every endpoint of model {self.model!r} failed ({tried}); last: {exc}",
                    backend=exc.backend,
                    status=exc.status,
                ) from None

    async def _once(
        self,
        request: GenerationRequest,
        attempt: Callable[[T, str], Awaitable[BackendReply]],
        failed: list[str],
        run_started: float,
    ) -> BackendReply:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future())
        info = CallInfo(
            role=request.role,
            kind=_kind(request),
            max_tokens=request.params.max_tokens,
            priority=_priority(request),
            run_started=run_started,
        )
        try:
            ticket = self.router.submit(info, avoid=set(failed), data=waiter)
        except NoEndpoint as exc:
            raise TransientBackendError(
                f"model {self.model!r}: {exc}", retry_after=exc.retry_after
            ) from None
        endpoint = ticket.endpoint
        try:
            await waiter.started
        except asyncio.CancelledError:
            self.router.abandon(ticket)
            raise
        except TransientBackendError:
            if endpoint is not None:
                failed.append(endpoint.name)
            raise
        assert ticket.endpoint is not None  # the router may have moved it while it waited
        replica = self.replicas[ticket.endpoint.index]
        t0 = self.clock()
        try:
            waiter.task = asyncio.ensure_future(attempt(replica.target, replica.name))
            if ticket.aborted:
                waiter.task.cancel()
            reply = await waiter.task
        except asyncio.CancelledError:
            self.router.abandon(ticket)
            current = asyncio.current_task()
            if ticket.aborted and (current is None or current.cancelling() == 0):
                failed.append(replica.name)
                raise TransientBackendError(
                    f"endpoint {replica.name} was taken out of service during the call"
                ) from None
            raise
        except Exception as exc:
            if not isinstance(exc, BackendError):
                self.router.abandon(ticket)  # budget stop or a bug: says nothing of the replica
                raise
            failure = is_endpoint_failure(exc)
            self.router.finish(ticket, ok=False, failure=failure, latency_s=self.clock() - t0)
            if failure:
                failed.append(replica.name)
            raise
        except BaseException:
            self.router.abandon(ticket)
            raise
        self.router.finish(
            ticket, ok=True, latency_s=self.clock() - t0, tokens=reply.completion_tokens
        )
        return reply


def _priority(request: GenerationRequest) -> float:
    """The request's own hint; else speculative calls (which may be thrown away) go last."""
    if request.priority is not None:
        return float(request.priority)
    return -1.0 if request.speculative else 0.0


def _kind(request: GenerationRequest) -> Any:
    """What, beyond its role, predicts a call's length: its schema and its token cap."""
    schema = request.output_schema.__name__ if request.output_schema is not None else None
    return (schema, request.params.max_tokens)


def _on_start(ticket: Ticket) -> None:
    waiter: _Waiter = ticket.data
    if not waiter.started.done():
        waiter.started.set_result(None)


def _on_abort(ticket: Ticket) -> None:
    waiter: _Waiter = ticket.data
    if not waiter.started.done():
        name = ticket.endpoint.name if ticket.endpoint else "?"
        waiter.started.set_exception(
            TransientBackendError(f"endpoint {name} was taken out of service; no other in service")
        )
    elif waiter.task is not None:
        waiter.task.cancel()
