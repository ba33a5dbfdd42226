"""Evals on a real local Ray cluster (127.0.0.1, 2 CPUs), shared by every test in this file.

A 200-item eval on the scripted backend must give the same rows with and without Ray, hold a
global --rpm across two workers, keep a cluster-wide budget, survive a SIGKILLed worker and a
SIGKILLed model actor with every item written exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import agot.cli
from agot.budget import Budget
from agot.evals.run_folder import ResultRow, read_results
from agot.evals.runner import run_eval
from agot.limits import Limits
from agot.testing.local_model import HAVE_LOCAL, NEEDS_LOCAL

ray = pytest.importorskip("ray")

from agot.evals.executors import ModelActors, RayExecutor  # noqa: E402

ITEMS = 200


@pytest.fixture(scope="module")
def cluster():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """200 multi-hop-style items in HotpotQA's layout; two in three get the right answer."""
    folder = tmp_path_factory.mktemp("ray-data")
    items = [
        {
            "_id": f"q{i:03d}",
            "question": f"What is the code of item {i}?",
            "answer": f"c{i}",
            "supporting_facts": [["Item", 0]],
            "context": [["Item", [f"Item {i} has a code."]]],
            "type": "bridge",
            "level": "easy",
        }
        for i in range(ITEMS)
    ]
    (folder / "hotpot.json").write_text(json.dumps(items))
    return folder


def table(folder: Path, name: str, latency_s: float) -> str:
    """A scripted model: right for two items in three, wrong for the rest."""
    replies = {
        f"answer:item {i}?": f"Answer: c{i}" if i % 3 else "Answer: something else"
        for i in range(ITEMS)
    }
    path = folder / name
    path.write_text(json.dumps({"replies": replies, "latency": {"fixed_s": latency_s}}))
    return f"scripted/{path}"


async def run(data: Path, out: Path, model: str, **kwargs) -> list[ResultRow]:
    await run_eval(
        "hotpotqa",
        data=str(data / "hotpot.json"),
        strategies=["direct"],
        models=[model],
        out=str(out),
        progress=False,
        **kwargs,
    )
    return read_results(out / "results.jsonl")


def by_key(rows: list[ResultRow]) -> dict:
    return {row.key: (row.prediction, row.scores, row.error) for row in rows}


def expected_em(item_id: str) -> float:
    return 0.0 if int(item_id[1:]) % 3 == 0 else 1.0


@pytest.mark.slow  # a Ray cluster
async def test_results_match_a_run_without_ray(cluster, data, tmp_path):
    model = table(data, "fast.json", 0.0)
    local = await run(data, tmp_path / "local", model, concurrency=16)
    executor = RayExecutor(workers=2)
    remote = await run(data, tmp_path / "ray", model, concurrency=16, executor=executor)
    assert len(local) == len(remote) == ITEMS
    assert by_key(remote) == by_key(local)
    assert {row.id: row.scores["em"] for row in remote} == {
        row.id: expected_em(row.id) for row in remote
    }
    assert [s["units"] > 0 for s in executor.worker_stats] == [True, True]  # both workers ran
    assert all((tmp_path / "ray" / row.trace).is_file() for row in remote)  # traces written here


def call_starts(out: Path, rows: list[ResultRow]) -> list[float]:
    starts = []
    for row in rows:
        trace = json.loads((out / row.trace).read_text())
        starts += [event["start"] for event in trace["events"]]
    return sorted(starts)


@pytest.mark.slow  # a Ray cluster
async def test_global_rpm_holds_across_two_workers(cluster, data, tmp_path):
    """600/min is one call every 0.1 s for the whole cluster, as one local limiter; each of two
    workers on its own limiter would run at 10/s, so together at 20/s."""
    model = table(data, "rpm.json", 0.0)
    executor = RayExecutor(workers=2)
    rows = await run(
        data,
        tmp_path / "rpm",
        model,
        limit=70,
        concurrency=32,
        limits=Limits(requests_per_minute=600),
        executor=executor,
    )
    assert len(rows) == 70 and not any(row.error for row in rows)
    assert [s["units"] > 0 for s in executor.worker_stats] == [True, True]
    starts = call_starts(tmp_path / "rpm", rows)
    assert len(starts) == 70
    rate = 10.0
    # Over the run, calls start no faster than the rate (within 5%) ...
    achieved = (len(starts) - 1) / (starts[-1] - starts[0])
    assert achieved <= rate * 1.05, achieved
    assert achieved >= rate * 0.7, achieved  # ... the limiter does not starve them ...
    # ... and no second holds more than the local limiter allows (1.1 x rate), from the
    # first second on (one call of slack for two processes' clocks and event loops).
    assert max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts) <= 11 + 1


@pytest.mark.slow  # a Ray cluster
async def test_cluster_budget_caps_calls_across_workers(cluster, data, tmp_path):
    model = table(data, "budget.json", 0.01)
    executor = RayExecutor(workers=2, budget=Budget(max_calls=25))
    rows = await run(data, tmp_path / "budget", model, limit=60, executor=executor)
    assert len(rows) == 60
    assert sum(row.usage.calls for row in rows) == 25
    stopped = [row for row in rows if row.usage.calls == 0]
    assert len(stopped) == 35
    assert all("across the cluster" in (row.error or row.stopped or "") for row in stopped)
    assert executor.bank_totals is not None and executor.bank_totals["usage"]["calls"] == 25


def rows_written(results: Path) -> int:
    return results.read_bytes().count(b"\n") if results.exists() else 0


async def kill_when(results: Path, lines: int, pids) -> int:
    """SIGKILL the first of ``pids()`` once ``results`` holds ``lines`` rows; return the pid.

    It watches the file from outside, as an operator would, so it polls."""
    while rows_written(results) < lines:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    pid = (await pids())[0]
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.mark.slow  # a Ray cluster
async def test_sigkilled_worker_still_gives_exactly_once_results(cluster, data, tmp_path):
    model = table(data, "slow.json", 0.1)  # 200 items, 8 at a time: at least 2.5 s
    out = tmp_path / "killed"
    executor = RayExecutor(workers=2)
    killer = asyncio.ensure_future(kill_when(out / "results.jsonl", 25, executor.worker_pids))
    rows = await run(data, out, model, concurrency=8, executor=executor)
    killed = await killer
    assert killed not in (os.getpid(), None)
    lines = (out / "results.jsonl").read_text().splitlines()
    keys = [(json.loads(line)["id"], json.loads(line)["strategy"]) for line in lines]
    assert len(keys) == len(set(keys)) == ITEMS  # every item, exactly once
    assert executor.resent >= 1, executor.worker_stats  # the dead worker's units went again
    assert not any(row.error for row in rows)
    assert {row.id: row.scores["em"] for row in rows} == {
        row.id: expected_em(row.id) for row in rows
    }


@pytest.mark.slow  # a Ray cluster
async def test_model_actors_serve_calls_and_a_killed_actor_is_retried(cluster, data, tmp_path):
    model = table(data, "hosted.json", 0.1)
    out = tmp_path / "hosted"
    actors = ModelActors(
        replicas=2, num_cpus=0, models=(model,), replica_policy="least-outstanding"
    )
    executor = RayExecutor(workers=1, model_actors=actors)

    async def host_pids() -> list[int]:
        handles = next(iter(executor.model_handles.values()))
        return [d["pid"] for d in await asyncio.gather(*(h.describe.remote() for h in handles))]

    killer = asyncio.ensure_future(kill_when(out / "results.jsonl", 25, host_pids))
    rows = await run(data, out, model, concurrency=8, executor=executor)
    killed = await killer
    assert killed != os.getpid() and len(rows) == ITEMS
    assert len({row.key for row in rows}) == ITEMS
    assert not any(row.error for row in rows)
    assert all(row.model == model for row in rows)  # the hosted backend's name, as locally
    (stats,) = executor.worker_stats
    assert stats["actor_calls"] == ITEMS  # every model call went to the actors ...
    assert stats["resent"] >= 1  # ... and those on the killed one went to the other
    assert {row.id: row.scores["em"] for row in rows} == {
        row.id: expected_em(row.id) for row in rows
    }


@pytest.mark.slow  # a Ray cluster
def test_cli_ray_flag(cluster, data, tmp_path, monkeypatch, capsys):
    model = table(data, "cli.json", 0.0)
    out = tmp_path / "cli"
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    argv = ["eval", "hotpotqa", "--data", str(data / "hotpot.json"), "--strategy", "direct"]
    argv += ["--model", model, "--limit", "30", "--out", str(out), "--quiet"]
    assert agot.cli.main([*argv, "--ray", "--ray-workers", "2"]) == 0
    assert "direct" in capsys.readouterr().out
    first = read_results(out / "results.jsonl")
    assert len(first) == 30
    # --resume over Ray continues the same folder: nothing is run twice.
    assert agot.cli.main([*argv, "--limit", "40", "--resume", "--ray"]) == 0
    rows = read_results(out / "results.jsonl")
    assert len(rows) == len({row.key for row in rows}) == 40
    assert [row.key for row in rows[:30]] == [row.key for row in first]


@pytest.mark.slow  # a Ray cluster
def test_a_model_that_does_not_resolve_is_one_line(cluster, data, tmp_path, monkeypatch, capsys):
    """Workers build the dispatchers, so the error comes from them, as the one-line message."""
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    missing = tmp_path / "missing.json"
    argv = ["eval", "hotpotqa", "--data", str(data / "hotpot.json"), "--limit", "5"]
    argv += ["--model", f"scripted/{missing}", "--out", str(tmp_path / "bad"), "--quiet"]
    assert agot.cli.main([*argv, "--ray", "--ray-workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agot: error:") and "not found" in err and "Traceback" not in err
    assert read_results(tmp_path / "bad" / "results.jsonl") == []  # no item written as failed


@pytest.mark.local_model
@pytest.mark.skipif(not HAVE_LOCAL, reason=NEEDS_LOCAL)
async def test_embedded_model_served_by_a_model_actor(cluster, tmp_path):
    """The real llama.cpp backend (grammar-constrained JSON included) inside a Ray actor."""
    from agot.evals.records import EvalRecord

    records = [
        EvalRecord(id=f"m{i}", dataset="hotpotqa", question=q, gold=g)
        for i, (q, g) in enumerate([("What is 2 + 3?", "5"), ("What colour is the sky?", "blue")])
    ]
    executor = RayExecutor(workers=1, model_actors=ModelActors(replicas=1, num_cpus=1))
    await run_eval(
        "hotpotqa",
        records=records,
        strategies=["direct", "sc"],
        per_strategy_params={"sc": {"n": 2}},
        models=["local"],
        limits=Limits(max_concurrency=2),
        out=str(tmp_path / "local"),
        progress=False,
        executor=executor,
    )
    rows = read_results(tmp_path / "local" / "results.jsonl")
    assert len(rows) == 4 and not any(row.error for row in rows)
    assert all(row.usage.completion_tokens > 0 and row.raw for row in rows)
    (stats,) = executor.worker_stats
    assert stats["units"] == 4 and stats["actor_calls"] >= 6  # direct 1 + sc 2, per item


@pytest.mark.slow
async def test_transformers_model_served_by_a_model_actor(cluster, data, tmp_path, tiny_model_dir):
    """The in-process transformers engine inside a Ray actor gives the replies it gives here."""
    from agot.backends.registry import BackendOptions

    options = BackendOptions(
        device="cpu",
        extra={"kv_cache_tokens": 4096, "max_batch_tokens": 256, "page_size": 16, "max_batch": 8},
    )
    from agot.backends.registry import resolve_backend

    model = f"transformers/{tiny_model_dir}"
    common = {"limit": 6, "strategy_params": {"max_tokens": 8}}
    executor = RayExecutor(
        workers=1, model_actors=ModelActors(replicas=1, num_cpus=1, backend_options=options)
    )
    hosted = await run(data, tmp_path / "hosted", model, executor=executor, **common)
    backend = resolve_backend(model, options=options)
    try:
        here = await run(data, tmp_path / "here", backend, **common)
    finally:
        await backend.aclose()
    assert not any(row.error for row in hosted) and len(hosted) == 6
    assert all(row.model == model for row in hosted)
    assert {row.id: row.raw for row in hosted} == {row.id: row.raw for row in here}
    assert all(row.usage.completion_tokens > 0 for row in hosted)
    assert executor.worker_stats[0]["actor_calls"] == 6


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ray-workers", "2"], "need --ray"),
        (["--ray", "--ray-workers", "0"], "workers must be at least 1"),
        (["--ray", "--gpus-per-actor", "0.5"], "--gpus-per-actor needs --model-actors"),
        (["--ray", "--model-actors", "0"], "replicas"),
    ],
)
def test_cli_ray_flag_errors(flags, message, data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    argv = ["eval", "hotpotqa", "--data", str(data / "hotpot.json"), "--model", "scripted"]
    code = agot.cli.main([*argv, "--out", str(tmp_path / "x"), "--quiet", *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_model_actor_settings_are_checked_before_any_actor_starts():
    from agot.backends.registry import BackendOptions
    from agot.errors import ConfigError
    from agot.evals.executors.ray_executor import _host_options

    with pytest.raises(ConfigError, match="unknown routing policy 'fastest'"):
        ModelActors(replica_policy="fastest")
    with pytest.raises(ConfigError, match="num_gpus"):
        ModelActors(num_gpus=-1)
    # The run's options for the model, with those given for the actors laid over them.
    run = {
        "api_base": "http://127.0.0.1:9/v1",
        "n_ctx": 2048,
        "limits": None,
        "replica_policy": None,
    }
    options = _host_options(run, BackendOptions(n_ctx=4096, device="cpu"))
    assert (options.api_base, options.n_ctx, options.device) == (run["api_base"], 4096, "cpu")


def test_missing_ray_is_a_clear_error(monkeypatch):
    from agot.errors import ConfigError

    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    with pytest.raises(ConfigError, match=r"pip install \"agot\[ray\]\""):
        RayExecutor()._connect()


def test_nothing_imports_ray_without_the_flag(data, tmp_path):
    code = (
        "import sys, agot, agot.cli, agot.evals.executors\n"
        "argv = sys.argv[1:]\n"
        "assert agot.cli.main(argv) == 0\n"
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if 'ray' in m)\n"
    )
    argv = ["eval", "hotpotqa", "--data", str(data / "hotpot.json"), "--model", "scripted"]
    argv += ["--limit", "3", "--out", str(tmp_path / "plain"), "--quiet"]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
