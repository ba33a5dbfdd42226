"""The cluster's shared limits without Ray: the lease bank and the worker-side client."""

from __future__ import annotations

import asyncio
import time

import pytest

from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.budget import Budget
from agot.errors import BudgetExceeded, TransientBackendError
from agot.evals.executors.leases import HORIZON_S, Grant, LeaseBank, LeaseRequest
from agot.evals.executors.shared_limits import SharedDispatcher, SharedLimits
from agot.limits import Limits
from agot.types import GenerationRequest, Message, Usage


def req(text: str = "q") -> GenerationRequest:
    return GenerationRequest(messages=(Message(role="user", content=text),), role="answer")


def client_of(bank: LeaseBank) -> SharedLimits:
    """A worker's client talking to ``bank`` in-process (Ray's hop is the only difference)."""

    async def report(spent: Usage) -> None:
        bank.report(spent)

    return SharedLimits(bank.lease, report)


def windows_max(starts: list[float], width: float = 1.0) -> int:
    return max(sum(1 for t in starts if s <= t < s + width) for s in starts)


async def test_one_lease_books_spaced_instants_within_the_horizon():
    bank = LeaseBank({"m": (600.0, None)})  # one request every 0.1 s, as the local limiter
    grant = await bank.lease(LeaseRequest(model="m", estimates=[1] * 25))
    # Several calls per round trip, each with its own start: 0, 0.1, 0.2 s (horizon 0.25 s).
    assert grant.calls == 1 + int(HORIZON_S / 0.1)
    assert grant.delays == pytest.approx([0.1 * i for i in range(grant.calls)], abs=0.01)
    started = time.monotonic()
    grant = await bank.lease(LeaseRequest(model="m", estimates=[1] * 25))
    # The next instant (0.3 s) is beyond the horizon: the bank held the lease until it was not.
    assert time.monotonic() - started >= 0.3 - HORIZON_S - 0.01
    assert grant.delays[0] == pytest.approx(HORIZON_S, abs=0.02)


async def test_token_bucket_weighs_each_call_and_admits_a_prefix():
    bank = LeaseBank({"m": (None, 6000.0)})  # 100 tokens per second, a bucket of 100
    grant = await bank.lease(LeaseRequest(model="m", estimates=[40, 40, 40]))
    assert grant.calls == 2
    # A call larger than the whole bucket still passes (as the full bucket), never deadlocks.
    big = await asyncio.wait_for(bank.lease(LeaseRequest(model="m", estimates=[10_000])), timeout=5)
    assert big.calls == 1


async def test_call_budget_is_granted_exactly_once_across_workers():
    bank = LeaseBank({}, Budget(max_calls=7))
    first = await bank.lease(LeaseRequest(model="m", estimates=[1] * 5))
    second = await bank.lease(LeaseRequest(model="m", estimates=[1] * 5))
    third = await bank.lease(LeaseRequest(model="m", estimates=[1]))
    assert (first.calls, second.calls, third.calls) == (5, 2, 0)
    assert third.exhausted and "7/7 calls" in third.exhausted


async def test_token_budget_sees_usage_reported_with_leases():
    bank = LeaseBank({}, Budget(max_tokens=100))
    assert (await bank.lease(LeaseRequest(model="m", estimates=[1]))).calls == 1
    spent = Usage(calls=1, prompt_tokens=60, completion_tokens=50)
    grant = await bank.lease(LeaseRequest(model="m", estimates=[1], spent=spent))
    assert grant.exhausted and "110/100 tokens" in grant.exhausted


async def test_client_batches_concurrent_calls_into_few_leases():
    bank = LeaseBank({"m": (60_000.0, None)})  # 1000/s: never the bottleneck here
    client = client_of(bank)
    await asyncio.gather(*(client.acquire("m", 1) for _ in range(200)))
    assert client.admitted == 200
    assert client.leases <= 3  # the first call's lease, then everyone who queued behind it


async def test_client_fails_waiters_once_the_budget_is_spent():
    bank = LeaseBank({}, Budget(max_calls=3))
    client = client_of(bank)
    results = await asyncio.gather(
        *(client.acquire("m", 1) for _ in range(5)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 3
    assert all(isinstance(r, BudgetExceeded) for r in results if r is not None)
    with pytest.raises(BudgetExceeded, match="call budget exhausted"):
        await client.acquire("m", 1)  # known locally now: no round trip


async def test_an_unreachable_bank_is_a_transient_error():
    async def lease(request: LeaseRequest) -> Grant:
        raise ConnectionError("bank gone")

    async def report(spent: Usage) -> None:
        return None

    client = SharedLimits(lease, report)
    with pytest.raises(TransientBackendError, match="bank gone"):
        await client.acquire("m", 1)


async def test_two_dispatchers_share_one_request_rate():
    """Two 'workers' (dispatchers) at 600/min each would do 20/s; shared, they do 10/s."""
    bank = LeaseBank({"m": (600.0, None)})
    backends = [ScriptedBackend(latency=LatencyModel(fixed_s=0.001)) for _ in range(2)]
    dispatchers = [
        SharedDispatcher(
            b,
            shared=client_of(bank),
            bank_key="m",
            shared_rates=True,
            budget_shared=False,
            limits=Limits(requests_per_minute=600),
        )
        for b in backends
    ]
    await asyncio.gather(*(d.generate(req(f"q{i}")) for i in range(20) for d in dispatchers))
    starts = sorted(c.start for b in backends for c in b.calls)
    assert len(starts) == 40
    # As one local limiter: 0.1 s apart, so 40 calls span 3.9 s and no second holds over 11.
    assert starts[-1] - starts[0] >= 3.9 - 0.05
    assert windows_max(starts) <= 11


async def test_shared_budget_stops_a_dispatcher_with_a_budget_error():
    bank = LeaseBank({}, Budget(max_calls=2))
    dispatcher = SharedDispatcher(
        ScriptedBackend(),
        shared=client_of(bank),
        bank_key="m",
        shared_rates=False,
        budget_shared=True,
    )
    await dispatcher.generate(req("a"))
    await dispatcher.generate(req("b"))
    with pytest.raises(BudgetExceeded, match="across the cluster"):
        await dispatcher.generate(req("c"))
    await dispatcher._shared.flush()
    assert bank.usage.calls == 2  # the finished calls' usage reached the bank


async def test_nothing_shared_keeps_the_local_gate():
    from agot.limits import Gate

    dispatcher = SharedDispatcher(
        ScriptedBackend(),
        shared=SharedLimits(None, None),  # type: ignore[arg-type]  # never called
        bank_key="m",
        shared_rates=False,
        budget_shared=False,
    )
    await dispatcher.generate(req())
    assert all(isinstance(slot.gate, Gate) for slot in dispatcher._models.values())
