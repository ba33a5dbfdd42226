"""Fleets over real HTTP: three local replicas of different speeds, one killed mid-run."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from agot.dispatcher import Dispatcher
from agot.errors import ConfigError, UnreachableBackendError
from agot.limits import Limits
from agot.testing.replica_server import ReplicaServer
from agot.trace import RunRecorder, recording
from agot.types import Generation, GenerationRequest

MODEL = "openai/stub-model"
LIMITS = Limits(max_concurrency=2, timeout_s=10.0, max_retries=4, backoff_initial_s=0.05)


async def run_items(
    dispatcher: Dispatcher, n: int, concurrency: int, on_done: object = None
) -> list[tuple[int, Generation, RunRecorder]]:
    gate = asyncio.Semaphore(concurrency)
    out: list[tuple[int, Generation, RunRecorder]] = []

    async def item(i: int) -> None:
        async with gate:
            with recording(RunRecorder()) as recorder:
                g = await dispatcher.generate(GenerationRequest.chat(f"item {i}", role="answer"))
            out.append((i, g, recorder))
            if callable(on_done):
                on_done(len(out))

    await asyncio.gather(*(item(i) for i in range(n)))
    return out


@pytest.mark.parametrize("routing", ["predictive", "least-outstanding", "round-robin"])
async def test_killed_replica_every_item_once_and_calls_shift(routing: str) -> None:
    speeds = {"fast": 1.0, "mid": 1.5, "slow": 3.0}
    doomed = "fast" if routing != "round-robin" else "mid"
    servers = {
        name: ReplicaServer(
            name,
            slots=2,
            ttft_s=0.01 * s,
            tpot_s=0.002 * s,
            tokens=20,
            hang_after=6 if name == doomed else None,  # then it stalls until it dies
        ).start()
        for name, s in speeds.items()
    }
    victim = servers[doomed]
    try:
        dispatcher = Dispatcher(
            MODEL,
            endpoints=[{"api_base": s.base_url, "name": n} for n, s in servers.items()],
            replica_policy=routing,
            limits=LIMITS,
        )
        n = 60
        loop = asyncio.get_running_loop()

        async def kill_when_busy() -> None:
            # Server threads change these; polling is the simple way to watch them. Calls
            # hang on the victim after its sixth reply, so some are in flight when it dies.
            while len(victim.served) < 6 or not victim._active:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.05)
            await loop.run_in_executor(None, victim.kill)

        killer = asyncio.create_task(kill_when_busy())
        async with dispatcher:
            results = await run_items(dispatcher, n, concurrency=8)
        await killer
        fleet = dispatcher.fleet()
    finally:
        for s in servers.values():
            s.__exit__()

    # Every item answered once, with its own prompt, and served exactly once by a server.
    assert sorted(i for i, _, _ in results) == list(range(n))
    for i, g, _ in results:
        assert g.text.endswith(f": item {i}")
        assert g.text.split(":")[0] == g.endpoint
    served = Counter(p for s in servers.values() for _, p in s.served)
    assert served == Counter(f"item {i}" for i in range(n))
    # The victim served nothing after it died, and calls moved to the live replicas.
    assert victim.killed_at is not None
    assert all(t <= victim.killed_at for t, _ in victim.served)
    events = [e for _, _, r in results for e in r.events]
    assert all(e.endpoint in servers and e.error is None for e in events)
    after = [g for _, g, _ in results if g.start > victim.killed_at + 0.05]
    assert after and all(g.endpoint != victim.name for g in after)
    # Calls running on the victim when it died were retried elsewhere (the trace says where).
    moved = [e for e in events if victim.name in e.failed_endpoints]
    assert moved and all(e.endpoint != victim.name for e in moved)
    assert fleet is not None
    stats = {s.name: s for s in fleet.stats()}
    assert stats[victim.name].errors >= 1
    assert sum(s.calls - s.errors for s in stats.values()) == n


async def test_predictive_learns_which_replica_is_fast() -> None:
    servers = [
        ReplicaServer(name, slots=1, ttft_s=0.005 * s, tpot_s=0.001 * s, tokens=20).start()
        for name, s in (("fast", 1.0), ("slow", 4.0))
    ]
    try:
        async with Dispatcher(
            MODEL,
            endpoints=",".join(s.base_url for s in servers),
            limits=LIMITS,
        ) as dispatcher:
            # One call at a time: every call can have the replica it predicts fastest.
            await run_items(dispatcher, 30, concurrency=1)
            fleet = dispatcher.fleet()
    finally:
        for s in servers:
            s.__exit__()
    assert fleet is not None and fleet.policy == "predictive"
    fast, slow = fleet.stats()
    assert fast.tpot_s * 20 + fast.ttft_s < slow.tpot_s * 20 + slow.ttft_s
    assert len(servers[0].served) >= 25  # after a probe or two, the fast one gets the calls


async def test_api_base_with_commas_makes_a_fleet_and_bad_routing_fails_early() -> None:
    with ReplicaServer("a").start() as a, ReplicaServer("b").start() as b:
        async with Dispatcher(MODEL, api_base=f"{a.base_url},{b.base_url}") as d:
            fleet = d.fleet()
            assert fleet is not None and [s.name for s in fleet.stats()] == [
                a.base_url.split("/")[2],
                b.base_url.split("/")[2],
            ]
            g = await d.generate(GenerationRequest.chat("hello"))
            assert g.endpoint in {s.name for s in fleet.stats()}
        with pytest.raises(ConfigError, match="unknown routing policy"):
            Dispatcher(MODEL, api_base=f"{a.base_url},{b.base_url}", replica_policy="fastest")


async def test_every_replica_down_is_a_clear_error() -> None:
    servers = [ReplicaServer(n).start() for n in ("a", "b")]
    urls = [s.base_url for s in servers]
    names = sorted(u.split("/")[2] for u in urls)
    for s in servers:
        s.kill()
    t0 = time.monotonic()
    async with Dispatcher(MODEL, endpoints=urls, limits=LIMITS) as d:
        with recording(RunRecorder()) as recorder:
            with pytest.raises(UnreachableBackendError) as info:
                await d.generate(GenerationRequest.chat("hello"))
    # Refused everywhere: said at once, naming every endpoint, each tried once.
    assert time.monotonic() - t0 < 5
    message = str(info.value)
    assert "every endpoint" in message and all(n in message for n in names)
    assert "connection refused" in message and "\n" not in message
    (event,) = recorder.events
    assert sorted(event.failed_endpoints) == names and event.attempts == 2


async def test_a_refused_replica_is_skipped_without_backoff() -> None:
    with ReplicaServer("live").start() as live:
        dead = ReplicaServer("dead").start()
        dead_url = dead.base_url
        dead.kill()
        async with Dispatcher(
            MODEL, endpoints=[dead_url, live.base_url], replica_policy="round-robin", limits=LIMITS
        ) as d:
            with recording(RunRecorder()) as recorder:
                for i in range(6):
                    g = await d.generate(GenerationRequest.chat(f"q{i}"))
                    assert g.text == f"live: q{i}"
            fleet = d.fleet()
    dead_name = dead_url.split("/")[2]
    stats = {s.name: s for s in fleet.stats()}
    assert stats[dead_name].breaker == "open" and stats[dead_name].errors == 3
    failed = [e.failed_endpoints for e in recorder.events]
    assert sum(len(f) for f in failed) == 3  # three refusals open its breaker, then it is skipped
    assert all(e.queued_s < 0.5 for e in recorder.events)


async def test_eval_summary_reports_each_endpoint(tmp_path) -> None:
    from pathlib import Path

    from agot.evals.runner import run_eval

    hotpot = Path(__file__).parent / "fixtures" / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    with ReplicaServer("a", tokens=5).start() as a, ReplicaServer("b", tokens=5).start() as b:
        summary = await run_eval(
            "hotpotqa",
            data=str(hotpot),
            strategies=["direct"],
            models=[MODEL],
            api_base=f"{a.base_url},{b.base_url}",
            replica_policy="round-robin",
            out=str(tmp_path),
            progress=False,
        )
        served = {"a": len(a.served), "b": len(b.served)}
        names = {a.base_url.split("/")[2]: "a", b.base_url.split("/")[2]: "b"}
    stats = {names[s.endpoint]: s for s in summary.endpoints}
    assert set(stats) == {"a", "b"} and summary.items == sum(served.values())
    for name, stat in stats.items():
        assert stat.calls == served[name] and stat.errors == 0
        assert stat.latency_p50_s is not None and stat.latency_p99_s >= stat.latency_p50_s
    table = summary.table()
    assert "endpoint" in table and all(s.endpoint in table for s in summary.endpoints)
    # The viewer shows the same per-endpoint figures, computed from the rows.
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from agot.view.app import create_app
    from agot.view.data import Catalog

    catalog = Catalog([tmp_path])
    (run,) = catalog.runs()
    assert [(e.endpoint, e.calls) for e in run.endpoints] == [
        (e.endpoint, e.calls) for e in summary.endpoints
    ]
    page = TestClient(create_app(catalog), base_url="http://127.0.0.1").get(f"/run/{run.id}").text
    assert 'id="endpoint-table"' in page and all(e.endpoint in page for e in summary.endpoints)


def test_fleet_file_through_api_base_and_model_checks(tmp_path) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        'model = "openai/stub-model"\nreplica_policy = "round-robin"\n'
        '[[endpoints]]\napi_base = "http://127.0.0.1:9/v1"\nmax_concurrency = 3\n'
        '[[endpoints]]\napi_base = "http://127.0.0.1:10/v1"\nweight = 2\n'
    )
    d = Dispatcher(api_base=str(fleet))  # the file's model stands in for the default
    fl = d.fleet()
    assert d.default_model == "openai/stub-model" and fl is not None
    assert fl.policy == "round-robin"
    from agot.backends.openai_wire import DEFAULT_CONCURRENCY

    assert [e.capacity for e in fl.router.endpoints] == [3, DEFAULT_CONCURRENCY]
    assert [e.weight for e in fl.router.endpoints] == [1.0, 2.0]
    with pytest.warns(DeprecationWarning, match="use replica_policy="):  # its old name works
        d2 = Dispatcher("openai/other", api_base=str(fleet), routing="least-outstanding")
    assert d2.default_model == "openai/other" and d2.fleet().policy == "least-outstanding"
    with pytest.raises(ConfigError, match="runs in-process"):
        Dispatcher("llamacpp/x.gguf", endpoints=["http://127.0.0.1:9/v1"])
    with pytest.raises(ConfigError, match="need the model string"):
        Dispatcher(endpoints="http://127.0.0.1:9/v1,http://127.0.0.1:10/v1")
    assert Dispatcher(MODEL, api_base="http://127.0.0.1:9/v1").fleet() is None


def test_replica_policy_is_a_solve_option_and_routing_its_old_name(capsys) -> None:
    """agot.solve passes endpoints and replica_policy to its Dispatcher; the old spelling
    (routing=, --routing, a fleet file's routing key) still works, with a warning."""
    import agot
    from agot.cli import build_parser
    from agot.cli.options import dispatcher_from_args
    from agot.evals.runner import EvalConfig
    from agot.fleet.stats import endpoint_calls

    urls = ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]  # scripted: nothing connects
    result = agot.solve(
        "2+2?", strategy="sc", n=4, model="scripted", endpoints=urls, replica_policy="round-robin"
    )
    served = {name: len(e["latency_s"]) for name, e in endpoint_calls(result.events).items()}
    assert served == {"127.0.0.1:9": 2, "127.0.0.1:10": 2}
    with pytest.raises(ConfigError, match="unknown routing policy 'fastest'"):
        agot.solve(
            "2+2?", strategy="cot", model="scripted", endpoints=urls, replica_policy="fastest"
        )
    with pytest.raises(ConfigError, match="give replica_policy only"):
        Dispatcher(MODEL, endpoints=urls, replica_policy="predictive", routing="round-robin")
    with pytest.warns(DeprecationWarning, match="use replica_policy="):
        assert EvalConfig(dataset="gpqa", routing="round-robin").replica_policy == "round-robin"

    argv = ["solve", "q", "--model", MODEL, "--api-base", ",".join(urls)]
    for flags, warned in (
        (["--replica-policy", "round-robin"], False),
        (["--routing", "round-robin"], True),
    ):
        args = build_parser().parse_args([*argv, *flags])
        err = capsys.readouterr().err
        assert ("--routing is deprecated: use --replica-policy" in err) is warned
        assert dispatcher_from_args(args).fleet().policy == "round-robin"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["solve", "--help"])
    shown = capsys.readouterr().out
    assert "--replica-policy" in shown and "--routing" not in shown


async def test_model_routing_first_then_endpoint_routing() -> None:
    """A router picks the model per call; only the fleet's model is spread over replicas."""
    with ReplicaServer("a").start() as a, ReplicaServer("b").start() as b:
        async with Dispatcher(
            MODEL,
            endpoints=[a.base_url, b.base_url],
            router=lambda r: "scripted" if r.role == "judge" else None,
            limits=LIMITS,
        ) as d:
            with recording(RunRecorder()) as recorder:
                judged = await d.generate(GenerationRequest.chat("grade", role="judge"))
                answered = await d.generate(GenerationRequest.chat("q", role="answer"))
        served = len(a.served) + len(b.served)
    assert judged.backend == "scripted" and judged.endpoint is None
    assert answered.backend == "openai-http" and answered.endpoint is not None and served == 1
    assert [e.endpoint is None for e in recorder.events] == [True, False]
