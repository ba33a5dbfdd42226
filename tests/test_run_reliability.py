"""Run folders under stress: one writer, same inputs on resume, exit codes that mean something,
failed thoughts as item errors, and exactly-once results through a storm of crashes.

The fault storm runs ``agot eval`` as a subprocess against the scripted backend's fault model
(transient errors and hangs), SIGKILLs it three times mid-run, resumes, and checks that every
item x strategy ended up in ``results.jsonl`` exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agot.backends.scripted import ScriptedBackend
from agot.cli import main
from agot.cli.eval import _exit_status
from agot.errors import BackendError, ConfigError
from agot.evals.records import EvalRecord
from agot.evals.run_folder import RunFolder
from agot.evals.run_lock import RunLock
from agot.evals.runner import run_eval
from agot.strategies import get_strategy
from agot.testing.agot_scripts import agot_script
from agot.testing.eval_workload import AGOT, eval_argv, write_city_items
from agot.types import GenerationRequest

ROOT = Path(__file__).resolve().parents[1]


def table(path: Path, **extra: object) -> Path:
    path.write_text(json.dumps({"replies": {"*": "Answer: Corvin City"}, **extra}))
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


# -- one writer -------------------------------------------------------------------------------


def test_a_second_run_on_a_locked_folder_fails_naming_the_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    holder = RunLock(out)
    holder.acquire()
    try:
        data = write_city_items(tmp_path / "d" / "hotpot_dev_distractor_v1.json", 2)
        code, err = run_cli(eval_argv(data, "scripted", out, "--resume"), capsys)
    finally:
        holder.release()
    assert code == 2
    assert err.strip() == (
        f"agot: error: {out} is in use by another agot run (PID {os.getpid()}): wait for it "
        "to finish, or choose another --out"
    )
    assert not (out / "results.jsonl").exists()


def test_two_resumes_launched_together_run_each_item_once(tmp_path: Path) -> None:
    data = write_city_items(tmp_path / "d" / "hotpot_dev_distractor_v1.json", 40)
    # 10 waves of 0.5 s: long enough that the second process starts while the first runs.
    model = f"scripted/{table(tmp_path / 't.json', latency={'fixed_s': 0.5})}"
    out = tmp_path / "run"
    argv = [*AGOT, *eval_argv(data, model, out, "--resume", "--concurrency", "4")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [
        subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    refused = next(err for code, err in outcomes if code == 2)
    assert "is in use by another agot run (PID " in refused
    rows = RunFolder(out).read_results()
    assert sorted(r.id for r in rows) == [f"h{i:03d}" for i in range(40)]


# -- same inputs on resume --------------------------------------------------------------------


def test_resume_refuses_another_data_file_saying_what_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_city_items(tmp_path / "a" / "hotpot_dev_distractor_v1.json", 3)
    second = write_city_items(
        tmp_path / "b" / "hotpot_dev_distractor_v1.json",
        3,
        question="Which town is item {i} about?",
    )
    out = tmp_path / "run"
    assert run_cli(eval_argv(first, "scripted", out), capsys)[0] == 0
    before = (out / "run.json").read_text()
    code, err = run_cli(eval_argv(second, "scripted", out, "--resume"), capsys)
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(f"agot: error: --resume: {out} was run with other inputs: data_path")
    assert "data_sha256" in line and "data_size" not in line  # same size, other content
    assert (out / "run.json").read_text() == before  # nothing overwritten
    code, err = run_cli(eval_argv(first, "scripted", out, "--resume", strategy="cot"), capsys)
    assert code == 2 and "strategies" in err


def test_resume_with_the_same_inputs_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_city_items(tmp_path / "a" / "hotpot_dev_distractor_v1.json", 4)
    out = tmp_path / "run"
    assert run_cli(eval_argv(data, "scripted", out, "--limit", "2"), capsys)[0] == 0
    assert run_cli(eval_argv(data, "scripted", out, "--resume"), capsys)[0] == 0
    assert len(RunFolder(out).read_results()) == 4
    info = json.loads((out / "run.json").read_text())
    assert info["fingerprint"]["data_size"] == data.stat().st_size


# -- exit codes and item errors ---------------------------------------------------------------


def test_eval_exits_1_when_every_item_errored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = write_city_items(tmp_path / "a" / "hotpot_dev_distractor_v1.json", 2)
    argv = eval_argv(
        data, "openai/m", tmp_path / "run", "--api-base", f"http://127.0.0.1:{port}/v1"
    )
    code, err = run_cli(argv, capsys)
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("agot: error: every item failed (2 of 2); most common (2x): ")
    assert "connection refused" in line


def records(n: int) -> list[EvalRecord]:
    return [
        EvalRecord(id=f"r{i}", dataset="hotpotqa", question=f"Item {i}?", gold="Corvin City")
        for i in range(n)
    ]


def test_some_errors_exit_0_with_the_error_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def reply(request: GenerationRequest) -> object:
        if "Item 1?" in request.messages[-1].content:
            return BackendError("model refused")
        return "Answer: Corvin City"

    out = tmp_path / "run"
    asyncio.run(
        run_eval(
            "hotpotqa", records=records(4), strategies=["direct"], progress=False,
            models=[ScriptedBackend(reply)], out=str(out),
        )
    )  # fmt: skip
    assert _exit_status(str(out)) == 0
    assert capsys.readouterr().err.strip() == (
        f"agot: warning: 1 of 4 items errored (25.0%); run them again with --resume "
        f"--retry-errors --out {out}"
    )


def test_agot_failed_thoughts_are_item_errors_that_keep_the_answer(tmp_path: Path) -> None:
    healthy = agot_script(fanout=2, answer_at_layer=0)
    broken = {"on": True}

    def reply(request: GenerationRequest) -> object:
        if broken["on"] and request.role == "solve" and request.node_id == "2":
            return BackendError("thought model refused")
        return healthy(request)

    backend = ScriptedBackend(reply)
    agot = get_strategy("agot", max_layers=2, max_nodes=2)
    out = tmp_path / "run"

    def run(**kwargs: object) -> None:
        asyncio.run(
            run_eval(
                "hotpotqa", records=records(2), strategies=[("agot", agot)], models=[backend],
                progress=False, out=str(out), **kwargs,
            )
        )  # fmt: skip

    run()
    rows = RunFolder(out).rows()
    assert len(rows) == 2
    for row in rows:
        assert row.error is not None and row.error.startswith("1 failed step(s), answer kept: ")
        assert row.raw and "final of" in row.raw  # the answer is kept ...
        assert "em" in row.scores  # ... and scored
    summary = json.loads((out / "summary.json").read_text())
    assert summary["groups"][0]["errors"] == 2
    broken["on"] = False
    run(resume=True, retry_errors=True)
    rows = RunFolder(out).rows()
    assert len(rows) == 2 and all(row.error is None for row in rows)


# -- the fault storm --------------------------------------------------------------------------


@pytest.mark.slow  # three SIGKILLed processes
@pytest.mark.timeout(300)
def test_fault_storm_with_crashes_leaves_every_result_exactly_once(tmp_path: Path) -> None:
    items = 60
    data = write_city_items(tmp_path / "d" / "hotpot_dev_distractor_v1.json", items)
    faults = {"transient": 0.15, "hang": 0.03, "hang_s": 0.5, "seed": 7}
    model = f"scripted/{table(tmp_path / 't.json', latency={'fixed_s': 0.05}, faults=faults)}"
    out = tmp_path / "run"
    # Traces are written with the rows: they must survive the kills too.
    more = ["--resume", "--concurrency", "4"]
    argv = [*AGOT, *eval_argv(data, model, out, *more, strategy="direct,cot", traces=True)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    kills = 0
    for _ in range(3):  # three SIGKILLs, each once some new rows are on disk
        before = len(RunFolder(out).read_results()) if out.exists() else 0
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            results = out / "results.jsonl"
            if results.exists() and results.read_bytes().count(b"\n") >= before + 10:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
    final = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=200)
    assert final.returncode == 0, final.stderr
    assert kills == 3
    rows = RunFolder(out).read_results()
    keys = [(r.id, r.strategy) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * items  # exactly once, none lost
    for row in rows:
        assert row.trace and (out / row.trace).is_file()
        assert row.error is None  # every transient fault and hang was retried through


def test_run_folder_creation_errors_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        RunFolder(tmp_path / "file" / "run").acquire()
