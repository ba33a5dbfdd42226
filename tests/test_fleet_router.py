"""Routing core, policies, predictors and breaker on a fake clock (no asyncio, no sleeping)."""

from __future__ import annotations

import json

import pytest

from agot.errors import BackendError, ConfigError, TransientBackendError, UnreachableBackendError
from agot.fleet import (
    CallInfo,
    CircuitBreaker,
    Endpoint,
    EndpointRouter,
    LatencyModel,
    NoEndpoint,
    OutputTokens,
    ReplicaSpec,
    Ticket,
    is_endpoint_failure,
    load_fleet,
    make_policy,
    parse_endpoints,
)
from agot.limits import Limits


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def router(
    policy: str, n: int = 3, capacity: int = 2, **kw: object
) -> tuple[EndpointRouter, Clock]:
    clock = Clock()
    started: list[Ticket] = []
    aborted: list[Ticket] = []
    r = EndpointRouter(
        [ReplicaSpec(f"r{i}", capacity=capacity) for i in range(n)],
        policy,
        clock=clock,
        on_start=started.append,
        on_abort=aborted.append,
        **kw,  # type: ignore[arg-type]
    )
    r.started, r.aborted = started, aborted  # type: ignore[attr-defined]
    return r, clock


def names(tickets: list[Ticket]) -> list[str]:
    return [t.endpoint.name for t in tickets if t.endpoint is not None]


# -- endpoints and the fleet file -------------------------------------------------------------
def test_parse_endpoints_from_comma_list_and_labels() -> None:
    eps = parse_endpoints("http://127.0.0.1:8001/v1/, http://127.0.0.1:8002/v1")
    assert [e.label for e in eps] == ["127.0.0.1:8001", "127.0.0.1:8002"]
    assert eps[0].api_base == "http://127.0.0.1:8001/v1"


def test_parse_endpoints_rejects_duplicates_and_bad_urls() -> None:
    with pytest.raises(ConfigError, match="more than once"):
        parse_endpoints("http://127.0.0.1:8001/v1,http://127.0.0.1:8001/v1")
    with pytest.raises(ConfigError, match="api_base"):
        parse_endpoints("localhost:8000")
    with pytest.raises(ConfigError, match="at least one"):
        parse_endpoints(" , ")


def test_endpoint_limits_lay_over_the_run_limits() -> None:
    e = Endpoint(api_base="http://127.0.0.1:1/v1", max_concurrency=3, requests_per_minute=60)
    lim = e.limits(Limits(max_concurrency=10, timeout_s=5.0))
    assert (lim.max_concurrency, lim.requests_per_minute, lim.timeout_s) == (3, 60, 5.0)


def test_load_fleet_toml_and_json(tmp_path) -> None:
    toml = tmp_path / "fleet.toml"
    toml.write_text(
        'model = "openai/m"\nrouting = "least-outstanding"\n'
        '[[endpoints]]\napi_base = "http://127.0.0.1:9001/v1"\nweight = 2.0\n'
        '[[endpoints]]\napi_base = "http://127.0.0.1:9002/v1"\nname = "b"\nmax_concurrency = 4\n'
    )
    with pytest.warns(DeprecationWarning, match="replica_policy"):  # routing: the old key
        spec = load_fleet(toml)
    assert spec.model == "openai/m" and spec.replica_policy == "least-outstanding"
    assert [e.label for e in spec.endpoints] == ["127.0.0.1:9001", "b"]
    assert spec.endpoints[0].weight == 2.0
    js = tmp_path / "fleet.json"
    js.write_text(json.dumps({"endpoints": [{"api_base": "http://127.0.0.1:9/v1"}]}))
    assert load_fleet(js).replica_policy is None
    js.write_text(json.dumps({"endpoints": [{"api_base": "http://x/v1", "speed": 1}]}))
    with pytest.raises(ConfigError, match="speed"):
        load_fleet(js)
    js.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_fleet(js)
    with pytest.raises(ConfigError, match="cannot read"):
        load_fleet(tmp_path / "missing.json")


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="round-robin, least-outstanding, predictive"):
        make_policy("fastest")
    assert make_policy(None).name == "predictive"
    assert make_policy("least_outstanding").name == "least-outstanding"


# -- predictors -------------------------------------------------------------------------------
def test_latency_model_learns_ttft_and_tpot_from_replies() -> None:
    model = LatencyModel(ttft=0.5, tpot=0.02)
    for tokens in [10, 200, 50, 400, 120, 300, 20, 250] * 4:
        model.observe(0.2 + 0.005 * tokens, tokens)
    assert model.ttft == pytest.approx(0.2, abs=0.02)
    assert model.tpot == pytest.approx(0.005, rel=0.05)
    assert model.predict(100) == pytest.approx(0.7, rel=0.05)


def test_latency_model_prior_holds_against_one_reply() -> None:
    model = LatencyModel(ttft=0.5, tpot=0.02)
    model.observe(10.0, 100)  # one pathological reply (the prior says 2.5 s)
    assert model.predict(100) < (2.5 + 10.0) / 2


def test_output_tokens_per_role_and_kind_with_fallbacks() -> None:
    tokens = OutputTokens(prior=256, alpha=0.5)
    assert tokens.predict("solve") == 256
    assert tokens.predict("solve", max_tokens=64) == 64
    tokens.observe("assess", "A", 20)
    tokens.observe("solve", "S", 400)
    assert tokens.predict("assess", "A") == 20
    assert tokens.predict("assess", "other kind") == 20  # role mean
    assert tokens.predict("final") == pytest.approx(210)  # overall mean (alpha 0.5)
    assert tokens.predict("solve", "S", max_tokens=100) == 100


# -- policies ---------------------------------------------------------------------------------
def test_round_robin_takes_turns_by_weight() -> None:
    clock = Clock()
    r = EndpointRouter(
        [ReplicaSpec("a", capacity=100, weight=2.0), ReplicaSpec("b", capacity=100)],
        "round-robin",
        clock=clock,
    )
    picks = [r.submit(CallInfo()).endpoint.name for _ in range(9)]  # type: ignore[union-attr]
    assert picks.count("a") == 6 and picks.count("b") == 3
    assert picks[:3] in (["a", "b", "a"], ["a", "a", "b"])


def test_least_outstanding_picks_the_shortest_queue() -> None:
    r, _ = router("least-outstanding", capacity=1)
    first = [r.submit(CallInfo()) for _ in range(3)]
    assert sorted(names(first)) == ["r0", "r1", "r2"]  # idle ties rotate
    r.finish(first[1], ok=True, latency_s=1.0, tokens=10)
    assert r.submit(CallInfo()).endpoint is first[1].endpoint


def test_predictive_prefers_the_fast_replica_until_its_queue_costs_more() -> None:
    r, clock = router("predictive", n=2, capacity=1)
    fast, slow = r.endpoints
    for _ in range(20):  # learned speeds: fast 0.01 s/token, slow 0.03 s/token
        fast.model.observe(0.1 + 0.01 * 100, 100)
        slow.model.observe(0.1 + 0.03 * 100, 100)
    call = lambda: CallInfo(role="solve", tokens=100)  # noqa: E731
    a = r.submit(call())
    assert a.endpoint is fast  # idle: fast finishes in ~1.1 s, slow in ~3.1 s
    b = r.submit(call())
    assert b.endpoint is fast  # behind a: ~2.2 s on fast beats ~3.1 s on slow
    c = r.submit(call())
    assert c.endpoint is slow  # behind a and b: ~3.3 s on fast; slow now wins
    clock.t += 1.0  # a is nearly done: its remaining work shrinks with time
    assert fast.predicted_finish(call(), clock.t) == pytest.approx(0.1 + 2 * 1.1, abs=0.05)


def test_predictive_sends_short_calls_to_the_slow_replica_when_fast_is_busy() -> None:
    r, _ = router("predictive", n=2, capacity=1)
    fast, slow = r.endpoints
    for _ in range(20):
        fast.model.observe(0.01 * 400, 400)
        slow.model.observe(0.03 * 400, 400)
    r.submit(CallInfo(tokens=400))  # fast busy for ~4 s
    short = r.submit(CallInfo(tokens=10))
    assert short.endpoint is slow  # 0.3 s on slow beats 4 s + 0.1 s on fast


def test_predicted_tokens_come_from_the_role_history() -> None:
    r, _ = router("predictive", n=1, capacity=4)
    t = r.submit(CallInfo(role="check", max_tokens=512))
    assert t.call.tokens == 256  # prior
    r.finish(t, ok=True, latency_s=0.3, tokens=30)
    assert r.submit(CallInfo(role="check", max_tokens=512)).call.tokens == 30


def test_priority_and_older_runs_start_first() -> None:
    r, _ = router("least-outstanding", n=1, capacity=1)
    first = r.submit(CallInfo(run_started=5.0))
    late = r.submit(CallInfo(run_started=9.0))
    early = r.submit(CallInfo(run_started=1.0))
    urgent = r.submit(CallInfo(run_started=9.0, priority=1.0))
    assert r.started == [first]  # type: ignore[attr-defined]
    for expected in (urgent, early, late):
        r.finish(r.started[-1], ok=True, latency_s=0.1, tokens=5)  # type: ignore[attr-defined]
        assert r.started[-1] is expected  # type: ignore[attr-defined]


def test_abandoned_waiting_call_frees_its_place() -> None:
    r, _ = router("round-robin", n=1, capacity=1)
    a, b, c = (r.submit(CallInfo()) for _ in range(3))
    r.abandon(b)
    assert r.endpoints[0].outstanding == 2
    r.finish(a, ok=True, latency_s=0.1, tokens=5)
    assert r.started[-1] is c  # type: ignore[attr-defined]
    r.abandon(c)
    assert r.endpoints[0].outstanding == 0


# -- failover ---------------------------------------------------------------------------------
def test_endpoint_failure_classification() -> None:
    assert is_endpoint_failure(TransientBackendError("refused"))
    assert is_endpoint_failure(TransientBackendError("bad gateway", status=502))
    assert not is_endpoint_failure(TransientBackendError("slow down", status=429))
    assert not is_endpoint_failure(BackendError("bad request", status=400))
    assert is_endpoint_failure(BackendError("retries ran out", status=503))
    assert is_endpoint_failure(UnreachableBackendError("connection refused"))
    assert not is_endpoint_failure(BackendError("rejected the API key", status=401))
    assert not is_endpoint_failure(ValueError("not a backend error"))


def test_breaker_opens_evacuates_and_probes_back_in() -> None:
    r, clock = router(
        "round-robin", n=2, capacity=2, breaker=lambda: CircuitBreaker(threshold=2, cooldown_s=5.0)
    )
    bad = r.endpoints[0]
    tickets = [r.submit(CallInfo()) for _ in range(6)]  # 3 each: 2 running + 1 waiting
    on_bad = [t for t in tickets if t.endpoint is bad]
    running_bad = [t for t in on_bad if t.state == "running"]
    waiting_bad = [t for t in on_bad if t.state == "waiting"]
    assert len(running_bad) == 2 and len(waiting_bad) == 1
    r.finish(running_bad[0], ok=False, failure=True)  # 1st failure: still closed
    assert bad.breaker.state == "closed"
    moved = waiting_bad[0]
    assert moved.state == "running" and moved.endpoint is bad  # took the freed slot
    r.finish(running_bad[1], ok=False, failure=True)  # 2nd: opens
    assert bad.breaker.state == "open"
    assert moved in r.aborted  # type: ignore[attr-defined]  # running there: aborted
    # New calls avoid it while open ...
    assert {r.submit(CallInfo()).endpoint.name for _ in range(4)} == {"r1"}  # type: ignore[union-attr]
    # ... waiting ones queued on the good replica stay there.
    r.abandon(moved)

    def probe_once() -> Ticket:
        sent = [r.submit(CallInfo()) for _ in range(6)]
        probes = [t for t in sent if t.endpoint is bad]
        assert len(probes) == 1 and bad.breaker.state == "half-open"
        return probes[0]

    clock.t += 5.0  # cooldown over: exactly one probe goes out
    probe = probe_once()
    r.finish(probe, ok=False, failure=True)  # probe fails: open for twice as long
    assert bad.breaker.state == "open" and bad.breaker.cooldown == 10.0
    clock.t += 5.0
    assert bad not in r.available()
    clock.t += 5.0
    probe = probe_once()
    r.finish(probe, ok=True, latency_s=0.2, tokens=5)
    assert bad.breaker.state == "closed" and bad.breaker.cooldown == 5.0


def test_waiting_calls_move_to_a_live_replica_when_theirs_opens() -> None:
    r, _ = router(
        "round-robin", n=2, capacity=1, breaker=lambda: CircuitBreaker(threshold=1, cooldown_s=5.0)
    )
    bad, good = r.endpoints
    t = [r.submit(CallInfo()) for _ in range(4)]
    queued_on_bad = [x for x in t if x.endpoint is bad and x.state == "waiting"]
    assert len(queued_on_bad) == 1
    r.finish(
        next(x for x in t if x.endpoint is bad and x.state == "running"), ok=False, failure=True
    )
    assert queued_on_bad[0].endpoint is good and not queued_on_bad[0].aborted
    assert bad.outstanding == 0


def test_no_endpoint_in_service_says_when_to_retry() -> None:
    r, clock = router(
        "predictive", n=1, capacity=1, breaker=lambda: CircuitBreaker(threshold=1, cooldown_s=3.0)
    )
    a, b = r.submit(CallInfo()), r.submit(CallInfo())
    r.finish(a, ok=False, failure=True)
    assert b.aborted and b in r.aborted  # type: ignore[attr-defined]  # nowhere to move it
    clock.t += 1.0
    with pytest.raises(NoEndpoint) as info:
        r.submit(CallInfo())
    assert info.value.retry_after == pytest.approx(2.0)


def test_request_errors_do_not_trip_the_breaker() -> None:
    r, _ = router("round-robin", n=1, capacity=1, breaker=lambda: CircuitBreaker(threshold=1))
    t = r.submit(CallInfo())
    r.finish(t, ok=False, failure=False)
    assert r.endpoints[0].breaker.state == "closed" and r.endpoints[0].errors == 1


@pytest.mark.parametrize("policy", ["predictive", "least-outstanding"])
def test_only_predictive_moves_a_queued_call_to_a_replica_that_freed_early(policy: str) -> None:
    r, clock = router(policy, n=2, capacity=1)
    fast, slow = r.endpoints
    for _ in range(20):
        fast.model.observe(0.01 * 100, 100)
        slow.model.observe(0.03 * 100, 100)
    r.submit(CallInfo(tokens=100), avoid={"r1"})  # fast: ends at 1 s
    s = r.submit(CallInfo(tokens=100), avoid={"r0"})  # slow: ends at 3 s
    queued = [r.submit(CallInfo(tokens=100), avoid={"r1"}) for _ in range(3)]
    assert all(t.endpoint is fast and t.state == "waiting" for t in queued)
    clock.t += 0.5
    r.abandon(s)  # slow frees early (cancelled: nothing learned)
    # On fast the three would end at 2, 3 and 4 s; on slow, starting now, at 3.5 s: only
    # the last one gains, and (predictive only) it moves.
    if policy == "predictive":
        assert queued[2].state == "running" and queued[2].endpoint is slow
        assert [t.state for t in queued[:2]] == ["waiting", "waiting"] and fast.n_waiting == 2
    else:
        assert all(t.state == "waiting" and t.endpoint is fast for t in queued)
        assert slow.running == {}


def test_a_replica_starts_from_the_fleets_pooled_speed_not_a_far_off_prior() -> None:
    # The default prior (0.5 s + 20 ms/token) is 40x slower than these replicas.
    r, _ = router("predictive", n=2, capacity=4)
    fast, other = r.endpoints
    for _ in range(30):
        t = r.submit(CallInfo(tokens=100), avoid={"r1"})
        r.finish(t, ok=True, latency_s=0.005 + 0.0005 * 100, tokens=100)
    # Never measured, the other replica is predicted at the fleet's speed, not the prior's ...
    assert other.model.predict(100) == pytest.approx(fast.model.predict(100), rel=0.1)
    # ... so after one ordinary reply it still looks like a replica worth calls.
    t = r.submit(CallInfo(tokens=100), avoid={"r0"})
    r.finish(t, ok=True, latency_s=0.005 + 0.00075 * 100, tokens=100)
    assert other.model.predict(100) < 2 * (0.005 + 0.00075 * 100)
