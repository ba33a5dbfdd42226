"""The eval runner and ``agot eval``: scripted backend end to end, failures, resume, SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import agot.cli
from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.errors import BackendError, ConfigError
from agot.evals.datasets import load_dataset
from agot.evals.progress import EvalProgress
from agot.evals.records import EvalRecord
from agot.evals.run_folder import ResultRow, ResultsWriter, read_results
from agot.evals.runner import run_eval
from agot.limits import Limits
from agot.result import Result
from agot.strategies import Outcome, Strategy
from agot.testing.eval_workload import AGOT, eval_argv
from agot.testing.local_model import HAVE_LOCAL, NEEDS_LOCAL

FIXTURES = Path(__file__).parent / "fixtures"
HOTPOT = FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json"

# Replies keyed "<role>:<text in prompt>" (the baselines ask with role "answer").
HOTPOT_REPLIES = {
    "answer:Which river flows": "The capital is Corvin City.\nAnswer: Amsel River",
    "answer:Are the Lumen Stadium": "Answer: yes",
    "answer:founder of Brightwater": "She was born in 1877.\nAnswer: 1877",
    "*": "I am not sure.",
}
# em per item for the replies above (hp0002: "yes" vs gold "no"; hp0004: no answer line)
EXPECTED_EM = {"hp0001": 1.0, "hp0002": 0.0, "hp0003": 1.0, "hp0004": 0.0}


def write_table(path: Path, replies: dict, latency_s: float = 0.0) -> Path:
    path.write_text(json.dumps({"replies": replies, "latency": {"fixed_s": latency_s}}))
    return path


def run_cli(argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    return agot.cli.main(argv)


def rows_of(out: Path) -> list[ResultRow]:
    return read_results(out / "results.jsonl")


def test_eval_is_a_registered_command():
    assert "eval" in agot.cli.COMMANDS


def test_cli_end_to_end_on_scripted_backend(tmp_path, monkeypatch, capsys):
    table = write_table(tmp_path / "table.json", HOTPOT_REPLIES)
    out = tmp_path / "run"
    argv = eval_argv(HOTPOT, f"scripted/{table}", out, strategy="cot,direct", traces=True)
    code = run_cli(argv, monkeypatch)
    assert code == 0
    printed = capsys.readouterr().out
    assert "em" in printed.splitlines()[1] and "f1" in printed.splitlines()[1]
    assert "cot - direct (em, 4 paired items)" in printed

    rows = rows_of(out)
    assert len(rows) == 8
    assert {(r.id, r.strategy) for r in rows} == {
        (i, s) for i in EXPECTED_EM for s in ("cot", "direct")
    }
    for row in rows:
        assert row.scores["em"] == EXPECTED_EM[row.id]
        assert row.model == f"scripted/{table}"
        assert row.dataset == "hotpotqa" and row.subset == "distractor" and row.seed == 0
        assert row.usage.calls == 1 and row.error is None
        trace = Result.load_trace(out / row.trace)
        assert trace.strategy == row.strategy and trace.events
    by_id = {r.id: r for r in rows if r.strategy == "cot"}
    assert by_id["hp0001"].prediction == "Amsel River"
    assert by_id["hp0001"].raw.endswith("Answer: Amsel River")
    assert by_id["hp0001"].gold == "the Amsel River"

    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"] == "em" and summary["items"] == 4
    cot = next(g for g in summary["groups"] if g["strategy"] == "cot")
    assert cot["metrics"]["em"]["value"] == 0.5
    assert cot["metrics"]["em"]["low"] <= 0.5 <= cot["metrics"]["em"]["high"]
    assert cot["usage"]["calls"] == 4 and cot["errors"] == 0
    assert cot["latency_p50_s"] is not None
    run = json.loads((out / "run.json").read_text())
    assert run["seed"] == 0 and run["items"] == 4


def test_existing_results_need_resume(tmp_path, monkeypatch, capsys):
    table = write_table(tmp_path / "table.json", HOTPOT_REPLIES)
    out = tmp_path / "run"
    argv = [
        "eval",
        "hotpotqa",
        "--data",
        str(HOTPOT),
        "--model",
        f"scripted/{table}",
        "--out",
        str(out),
        "--quiet",
        "--limit",
        "2",
    ]
    assert run_cli(argv, monkeypatch) == 0
    assert run_cli(argv, monkeypatch) == 2
    assert "--resume" in capsys.readouterr().err
    assert len(rows_of(out)) == 2
    assert run_cli([*argv, "--resume", "--seed", "5"], monkeypatch) == 2
    assert "seed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resume"], "--resume needs --out"),
        (["--samples", "3"], "--samples needs --strategy sc"),
        (["--limit", "0"], "--limit"),
        (["--strategy", "nope"], "unknown strategy"),
    ],
)
def test_cli_input_errors(extra, message, monkeypatch, capsys, tmp_path):
    argv = ["eval", "hotpotqa", "--data", str(HOTPOT), "--model", "scripted", "--quiet"]
    if "--resume" not in extra:
        argv += ["--out", str(tmp_path / "run")]
    assert run_cli([*argv, *extra], monkeypatch) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_dataset_is_one_line(monkeypatch, capsys, tmp_path):
    assert run_cli(["eval", "imagenet", "--out", str(tmp_path / "x")], monkeypatch) == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err


def test_list_datasets(monkeypatch, capsys):
    assert run_cli(["eval", "list"], monkeypatch) == 0
    listed = capsys.readouterr().out
    assert "gpqa [main|diamond|extended]" in listed and "hotpotqa" in listed


# -- Python API ------------------------------------------------------------------------------
async def test_gpqa_accuracy_unparsed_and_no_question_text_on_disk(tmp_path):
    records = load_dataset("gpqa", data=FIXTURES / "gpqa", seed=3)
    wrong = "ABCD"[("ABCD".index(records[2].gold) + 1) % 4]
    replies = {
        f"answer:{records[0].question}": f"Reasoning.\nANSWER: ({records[0].gold})",
        f"answer:{records[1].question}": f"**Answer:** **{records[1].gold}**",
        f"answer:{records[2].question}": f"Answer: {wrong}",
        "*": "I cannot decide.",
    }
    backend = ScriptedBackend(replies)
    summary = await run_eval(
        "gpqa",
        data=str(FIXTURES / "gpqa"),
        seed=3,
        strategies=["cot"],
        models=[backend],
        out=str(tmp_path),
        progress=False,
    )
    group = summary.group("cot")
    # simple-evals' regex reads only "Answer: C"-style lines: the bracketed and bold forms
    # are unparsed there, while the lenient reader, reported beside it, accepts them.
    assert group.metrics["accuracy"].value == 0.0
    assert group.unparsed == 0.75
    assert group.metrics["accuracy_lenient"].value == 0.5
    assert group.metrics["unparsed_lenient"].value == 0.25
    assert "unparsed" in summary.table()
    rows = {r.id: r for r in rows_of(tmp_path)}
    assert rows[records[3].id].prediction is None and rows[records[3].id].scores["unparsed"] == 1
    assert rows[records[2].id].prediction == wrong
    assert all(r.seed == 3 for r in rows.values())
    # every row records its scoring time, and the summary reports it per item
    assert all(0 <= r.details["score_s"] < 5 for r in rows.values())
    assert group.score_ms_per_item is not None and "scoring time per item" in summary.table()
    on_disk = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    for record in records:
        assert record.question not in on_disk  # GPQA text never lands in results or traces
    assert "[redacted gpqa:" in on_disk


async def test_item_failures_are_recorded_and_counted(tmp_path):
    class Exploding(Strategy):
        name = "exploding"

        async def run(self, task, ctx):
            if "Lumen" in task.question:
                raise RuntimeError("strategy bug")
            return Outcome(answer="no")

    backend = ScriptedBackend(
        {"answer:Which river flows": BackendError("server said no"), "*": "Answer: no"}
    )
    summary = await run_eval(
        "hotpotqa",
        data=str(HOTPOT),
        strategies=["direct", Exploding()],
        models=[backend],
        out=str(tmp_path),
        progress=False,
    )
    rows = {(r.id, r.strategy): r for r in rows_of(tmp_path)}
    assert len(rows) == 8
    failed = rows[("hp0001", "direct")]
    assert "server said no" in failed.error and failed.scores == {"em": 0.0, "f1": 0.0}
    assert rows[("hp0002", "exploding")].error == "RuntimeError: strategy bug"
    assert rows[("hp0002", "direct")].scores["em"] == 1.0
    assert summary.group("direct").errors == 1
    assert summary.group("exploding").errors == 1


async def test_resume_runs_only_what_is_missing(tmp_path):
    backend = ScriptedBackend(HOTPOT_REPLIES)
    common = dict(
        data=str(HOTPOT), strategies=["cot"], models=[backend], out=str(tmp_path), progress=False
    )
    await run_eval("hotpotqa", limit=2, **common)
    assert len(backend.calls) == 2
    summary = await run_eval("hotpotqa", resume=True, **common)
    assert len(backend.calls) == 4  # only the two new items ran
    assert sorted(r.id for r in rows_of(tmp_path)) == ["hp0001", "hp0002", "hp0003", "hp0004"]
    assert summary.group("cot").n == 4
    await run_eval("hotpotqa", resume=True, **common)
    assert len(backend.calls) == 4  # nothing left to do


async def test_retry_errors_replaces_failed_rows(tmp_path):
    failing = ScriptedBackend({"answer:Which river": BackendError("down"), "*": "Answer: x"})
    common = dict(data=str(HOTPOT), strategies=["direct"], out=str(tmp_path), progress=False)
    await run_eval("hotpotqa", models=[failing], **common)
    assert sum(1 for r in rows_of(tmp_path) if r.error) == 1
    healthy = ScriptedBackend(HOTPOT_REPLIES)
    await run_eval("hotpotqa", models=[healthy], resume=True, retry_errors=True, **common)
    rows = rows_of(tmp_path)
    assert len(rows) == 4 and not any(r.error for r in rows)
    assert len(healthy.calls) == 1


async def test_items_run_concurrently_within_the_bound(tmp_path):
    records = [
        EvalRecord(id=f"i{n}", dataset="hotpotqa", question=f"q{n}?", gold="x") for n in range(20)
    ]
    backend = ScriptedBackend({"*": "Answer: x"}, latency=LatencyModel(fixed_s=0.02))
    summary = await run_eval(
        "hotpotqa",
        records=records,
        strategies=["direct"],
        models=[backend],
        concurrency=4,
        out=str(tmp_path),
        progress=False,
    )
    assert backend.max_in_flight == 4
    assert summary.group("direct").metrics["em"].value == 1.0


async def test_one_dispatcher_per_model_holds_limits_across_items(tmp_path):
    records = [
        EvalRecord(id=f"i{n}", dataset="hotpotqa", question=f"q{n}?", gold="x") for n in range(12)
    ]
    backend = ScriptedBackend({"*": "Answer: x"}, latency=LatencyModel(fixed_s=0.02))
    await run_eval(
        "hotpotqa",
        records=records,
        strategies=["direct", "cot"],
        models=[backend],
        concurrency=12,
        limits=Limits(max_concurrency=2),
        out=str(tmp_path),
        progress=False,
    )
    assert backend.max_in_flight == 2
    assert len(backend.calls) == 24


async def test_two_models_are_compared_item_by_item(tmp_path):
    right = ScriptedBackend(HOTPOT_REPLIES, model="good")
    wrong = ScriptedBackend({"*": "Answer: nothing"}, model="bad")
    summary = await run_eval(
        "hotpotqa",
        data=str(HOTPOT),
        strategies=["direct"],
        models=[right, wrong],
        out=str(tmp_path),
        progress=False,
    )
    assert summary.group("direct", "scripted:good").metrics["em"].value == 0.5
    assert summary.group("direct", "scripted:bad").metrics["em"].value == 0.0
    (comparison,) = summary.comparisons
    assert (comparison.wins, comparison.losses, comparison.ties) == (2, 0, 2)
    assert comparison.difference.value == 0.5


def test_progress_line():
    progress = EvalProgress(
        total=4, already=1, headline="em", labels=["cot"], stream=sys.stderr, enabled=False
    )
    row = ResultRow(id="a", dataset="d", strategy="cot", model="m", seed=0, scores={"em": 1.0})
    progress.add(row)
    line = progress.describe()
    assert "2/4" in line and "em cot 1.000" in line and "ETA" in line and "$0.0000" in line


# -- results file ----------------------------------------------------------------------------
def _row(i: int) -> ResultRow:
    return ResultRow(id=f"r{i}", dataset="d", strategy="s", model="m", seed=0, scores={"em": 1.0})


async def test_writer_appends_whole_lines_and_reader_drops_a_torn_tail(tmp_path):
    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    for i in range(3):
        await writer.append(_row(i))
    await writer.aclose()
    with path.open("ab") as handle:
        handle.write(b'{"id": "r3", "dataset": "d", "strat')  # a kill mid-write
    assert [r.id for r in read_results(path)] == ["r0", "r1", "r2"]
    assert not path.read_bytes().endswith(b"\n")  # reading alone changes nothing
    read_results(path, repair=True)
    assert path.read_bytes().endswith(b"}\n") and path.read_bytes().count(b"\n") == 3


def test_a_bad_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "results.jsonl"
    good = _row(0).model_dump_json()
    path.write_text(f"{good}\nnot json\n{good}\n")
    with pytest.raises(ConfigError, match=r"results.jsonl:2"):
        read_results(path)


# -- SIGKILL and resume, as a real process ---------------------------------------------------
@pytest.mark.slow
def test_sigkill_then_resume_runs_every_item_exactly_once(tmp_path):
    table = write_table(tmp_path / "slow.json", HOTPOT_REPLIES, latency_s=0.5)
    out = tmp_path / "run"
    one_at_a_time = eval_argv(
        HOTPOT, f"scripted/{table}", out, "--concurrency", "1", strategy="cot,direct", traces=True
    )
    argv = [*AGOT, *one_at_a_time]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    results = out / "results.jsonl"
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if results.exists() and results.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    before = read_results(results)
    assert 2 <= len(before) < 8  # killed part-way
    with results.open("ab") as handle:  # what a kill in the middle of a write leaves
        handle.write(b'{"id": "hp0004", "dataset": "hotpotqa", "subs')

    finished = subprocess.run(
        [*argv, "--resume"], env=env, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    assert "cot" in finished.stdout
    lines = results.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    keys = [(json.loads(line)["id"], json.loads(line)["strategy"]) for line in lines]
    assert len(keys) == len(set(keys)) == 8
    assert set(keys) == {(i, s) for i in EXPECTED_EM for s in ("cot", "direct")}
    assert {r.key for r in before} <= {r.key for r in read_results(results)}


# -- the real embedded model -----------------------------------------------------------------


@pytest.mark.local_model
@pytest.mark.skipif(not HAVE_LOCAL, reason=NEEDS_LOCAL)
def test_eval_on_the_embedded_model(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    argv = eval_argv(HOTPOT, "local", out, "--limit", "2", "--max-tokens", "16", traces=True)
    code = run_cli(argv, monkeypatch)
    assert code == 0
    rows = rows_of(out)
    assert len(rows) == 2
    for row in rows:
        assert row.error is None and row.raw
        assert row.usage.calls == 1 and row.usage.completion_tokens > 0
        assert set(row.scores) == {"em", "f1"}
    table_rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["direct", "local", "2"] in [row[:3] for row in table_rows]


# -- sampling and presets ----------------------------------------------------------------------
async def test_sample_is_a_seeded_draw(tmp_path):
    records = [
        EvalRecord(id=f"i{n:02d}", dataset="hotpotqa", question=f"q{n}?", gold="x")
        for n in range(30)
    ]
    backend = ScriptedBackend({"*": "Answer: x"})

    async def ids(out: str, **kw) -> list[str]:
        await run_eval(
            "hotpotqa",
            records=records,
            strategies=["direct"],
            models=[backend],
            limit=5,
            sample=True,
            out=str(tmp_path / out),
            progress=False,
            **kw,
        )
        return sorted(r.id for r in rows_of(tmp_path / out))

    first = await ids("a", seed=1)
    assert first == [records[i].id for i in sorted(random.Random(1).sample(range(30), 5))]
    assert await ids("b", seed=1) == first
    assert await ids("c", seed=1, sample_seed=99) != first
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["sample_seed"] == 1


class NamedBackends(dict):
    """Backends served under ``evaltest/<name>``, with how often each one was created."""

    def __init__(self) -> None:
        super().__init__()
        self.created: dict[str, int] = {}


@pytest.fixture
def named_backends(monkeypatch) -> NamedBackends:
    """Model strings ``evaltest/<name>`` served by backends the test hands in (the CLI builds
    backends from strings, so this is how a CLI test sees the calls)."""
    from agot.backends import registry

    backends = NamedBackends()

    def factory(rest: str, options):
        backends.created[rest] = backends.created.get(rest, 0) + 1
        return backends[rest]

    registry.register_backend("evaltest", factory)
    return backends


def test_preset_agot_paper_end_to_end(tmp_path, monkeypatch, capsys, named_backends):
    from agot.evals.datasets.sources import sample_records
    from agot.evals.presets import PAPER_SAMPLE_SEED
    from agot.evals.tasks.game24 import load_game24
    from agot.testing.agot_scripts import agot_script

    agot_steps = agot_script(fanout=5)  # proposes 5 thoughts: the preset's N=3 must cap them

    def script(request):
        return "Answer: (8 - 4) * 6" if request.role == "answer" else agot_steps(request)

    backend = named_backends["m"] = ScriptedBackend(script)
    out = tmp_path / "paper"
    argv = ["eval", "game24", "--preset", "agot-paper", "--strategy", "agot,cot"]
    argv += ["--model", "evaltest/m", "--limit", "3", "--out", str(out), "--quiet"]
    assert run_cli(argv, monkeypatch) == 0
    printed = capsys.readouterr().out

    # the user's --limit wins; the preset's seeded sample stays, and the seed is recorded
    expected = sample_records(load_game24(split="test"), 3, PAPER_SAMPLE_SEED)
    rows = rows_of(out)
    assert sorted({r.id for r in rows}) == sorted(r.id for r in expected)
    assert len(rows) == 6
    run = json.loads((out / "run.json").read_text())
    assert run["limit"] == 3 and run["sample_seed"] == PAPER_SAMPLE_SEED
    assert run["preset"]["preset"]["name"] == "agot-paper"
    assert run["preset"]["overridden"] == {"limit": 3, "strategies": ["agot", "cot"]}
    assert run["per_strategy_params"]["agot"] == {
        "max_depth": 1,
        "max_layers": 3,
        "max_nodes": 3,
        "temperature": 0.3,
    }
    assert run["strategy_params"] == {}  # nothing applies to every strategy
    summary = json.loads((out / "summary.json").read_text())
    assert summary["preset"]["preset"]["name"] == "agot-paper"
    assert summary["sample_seed"] == PAPER_SAMPLE_SEED
    assert f"3 items (sampled, seed {PAPER_SAMPLE_SEED})" in printed
    assert "preset agot-paper: limit=100" in printed
    assert "overridden by flags: limit=3, strategies=['agot', 'cot']" in printed

    # AGoT runs at the paper's bounds; every strategy at the paper's temperature
    agot_calls = [c.request for c in backend.calls if c.request.role != "answer"]
    cot_calls = [c.request for c in backend.calls if c.request.role == "answer"]
    assert len(cot_calls) == 3 and agot_calls
    assert {r.params.temperature for r in agot_calls} == {0.3}
    assert {r.params.temperature for r in cot_calls} == {0.3}
    layers = {r.node_id for r in agot_calls if r.role == "decompose"}
    assert layers == {"layer0", "layer1", "layer2"}  # L = 3, never more
    traces = sorted((out / "traces" / "agot").rglob("*.json"))
    assert len(traces) == 3
    for trace in traces:
        graph = Result.load_trace(trace).thought_graph()
        assert graph.layers == 3
        assert [len(graph.layer(n)) for n in range(3)] == [3, 3, 3]  # N = 3 of the 5 proposed


def test_flags_override_the_preset(tmp_path, monkeypatch, capsys, named_backends):
    backend = named_backends["m"] = ScriptedBackend({"*": "Answer: (8 - 4) * 6"})
    out = tmp_path / "run"
    argv = ["eval", "game24", "--preset", "agot-paper", "--strategy", "cot"]
    argv += ["--model", "evaltest/m", "--limit", "2", "--sample-seed", "7"]
    argv += ["--temperature", "0.5", "--out", str(out), "--quiet"]
    assert run_cli(argv, monkeypatch) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["sample_seed"] == 7 and run["items"] == 2
    # only the strategy that runs (cot) has its preset temperature overridden
    assert run["preset"]["overridden"] == {
        "limit": 2,
        "sample_seed": 7,
        "strategies": ["cot"],
        "cot.temperature": 0.5,
    }
    assert {c.request.params.temperature for c in backend.calls} == {0.5}
    assert (
        "overridden by flags: limit=2, sample_seed=7, strategies=['cot'], cot.temperature=0.5"
    ) in capsys.readouterr().out


async def test_bad_settings_from_python_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="concurrency"):
        await run_eval("hotpotqa", concurrency=0, out=str(tmp_path))


def test_scripted_table_file_with_latency(tmp_path):
    table = write_table(tmp_path / "t.json", {"*": "Answer: 1"}, latency_s=0.25)
    backend = ScriptedBackend.from_spec(str(table))
    assert backend.latency == LatencyModel(fixed_s=0.25)
    assert backend.model == "scripted/t.json"
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"*": "Answer: 2"}))  # the plain table form still works
    assert ScriptedBackend.from_spec(str(plain)).latency == LatencyModel()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"replies": {"*": "x"}, "latency": {"fixed": 1}}))
    with pytest.raises(ConfigError, match="fixed_s"):
        ScriptedBackend.from_spec(str(bad))


async def test_judge_scorer_adds_a_metric(tmp_path):
    replies = {
        **HOTPOT_REPLIES,
        "judge:Amsel River": {"equivalent": True, "reason": "same river"},
        "judge": {"equivalent": False, "reason": "different"},
    }
    backend = ScriptedBackend(replies)
    summary = await run_eval(
        "hotpotqa",
        data=str(HOTPOT),
        strategies=["cot"],
        models=[backend],
        scorers=["judge"],
        out=str(tmp_path),
        progress=False,
    )
    rows = {r.id: r for r in rows_of(tmp_path)}
    assert rows["hp0001"].scores == {"em": 1.0, "f1": 1.0, "judge": 1.0}
    assert rows["hp0003"].scores["judge"] == 0.0
    assert rows["hp0001"].details["judge_reason"] == "same river"
    assert summary.metrics == ["em", "f1", "judge"]
    assert summary.group("cot").metrics["judge"].value == 0.25
    assert rows["hp0001"].usage.calls == 1  # the judge's calls are not the strategy's


# -- the LLM judge through the runner ----------------------------------------------------------
#: The scripted judge's verdict per prediction (anything else: not equivalent).
JUDGE_SAYS = {"Amsel River": True, "yes": True}


def judge_reply(request) -> dict | str:
    import re

    if request.role != "judge":  # the judge's model also answers when it is under test
        return "Answer: yes"
    prediction = re.search(r"Predicted answer: (.*)", request.messages[-1].content).group(1)
    same = JUDGE_SAYS.get(prediction.strip(), False)
    return {"equivalent": same, "reason": f"scripted: {prediction.strip()}"}


def judge_calls(backend: ScriptedBackend) -> int:
    return sum(1 for c in backend.calls if c.request.role == "judge")


def test_judge_flag_scores_every_row_and_a_cached_rerun_pays_nothing(
    tmp_path, monkeypatch, capsys, named_backends
):
    from agot.prompts.judge import JUDGE

    qa = named_backends["qa"] = ScriptedBackend(HOTPOT_REPLIES)
    judge = named_backends["judge"] = ScriptedBackend(judge_reply)
    base = ["eval", "hotpotqa", "--data", str(HOTPOT), "--strategy", "cot,direct"]
    base += ["--model", "evaltest/qa", "--judge", "evaltest/judge"]
    base += ["--cache", str(tmp_path / "cache"), "--quiet"]

    assert run_cli([*base, "--out", str(tmp_path / "first")], monkeypatch) == 0
    printed = capsys.readouterr().out
    rows = {(r.id, r.strategy): r for r in rows_of(tmp_path / "first")}
    assert len(rows) == 8
    for row in rows.values():
        assert set(row.scores) == {"em", "f1", "judge"}  # EM/F1 stay beside the judge
        assert row.details["judge_prompt"] == JUDGE.id
        assert row.usage.calls == 1  # the judge's calls are kept apart from the item's
    cot = {i: rows[(i, "cot")] for i in EXPECTED_EM}
    assert [cot[i].scores["judge"] for i in sorted(cot)] == [1.0, 1.0, 0.0, 0.0]
    assert cot["hp0002"].details["judge_reason"] == "scripted: yes"
    paid = judge_calls(judge)
    # cot and direct predict alike here: an identical verdict request is paid for once
    assert paid == len({(r.id, r.prediction) for r in rows.values() if r.prediction}) == 4
    assert judge_calls(qa) == 0 and len(judge.calls) == paid  # the judge model answers alone
    assert named_backends.created == {"qa": 1, "judge": 1}  # one judge backend for the run

    run = json.loads((tmp_path / "first" / "run.json").read_text())
    (recorded,) = [s for s in run["scorers"] if s["name"] == "judge"]
    assert recorded["prompt"] == JUDGE.id and recorded["model"] == "evaltest/judge"
    summary = json.loads((tmp_path / "first" / "summary.json").read_text())
    assert summary["metrics"] == ["em", "f1", "judge"]
    group = next(g for g in summary["groups"] if g["strategy"] == "cot")
    judged = group["metrics"]["judge"]
    assert judged["value"] == 0.5 and judged["n"] == 4 and judged["low"] <= 0.5 <= judged["high"]
    agreement = group["agreement"]
    assert (agreement["both_true"], agreement["judge_only"]) == (1, 1)
    assert (agreement["em_only"], agreement["both_false"]) == (1, 1)
    assert agreement["examples"]["judge_only"] == [
        {"id": "hp0002", "prediction": "yes", "gold": "no", "judge_reason": "scripted: yes"}
    ]
    assert group["judge_usage"]["calls"] == sum(1 for r in cot.values() if r.prediction)
    header = printed.splitlines()[1].split()
    assert header[3:6] == ["em", "f1", "judge"]
    assert "judge vs em · cot @ evaltest/qa: agree on 2/4 (0.500" in printed
    assert "judge yes, em no: hp0002: prediction 'yes', gold 'no'" in printed
    assert "em yes, judge no: hp0003: prediction '1877', gold '1877'" in printed

    # the same run again into a new folder: every call, the judge's included, is a cache hit
    qa_paid = len(qa.calls)
    assert run_cli([*base, "--out", str(tmp_path / "again")], monkeypatch) == 0
    assert judge_calls(judge) == paid and len(qa.calls) == qa_paid
    again = {(r.id, r.strategy): r for r in rows_of(tmp_path / "again")}
    assert {k: r.scores for k, r in again.items()} == {k: r.scores for k, r in rows.items()}
    assert all(r.details["judge_cached"] for r in again.values() if r.prediction)
    n_judged = sum(1 for r in cot.values() if r.prediction)
    assert f"judge calls {n_judged} ({n_judged} cached)" in capsys.readouterr().out


async def test_resume_judges_only_the_new_items(tmp_path):
    backend = ScriptedBackend({**HOTPOT_REPLIES, "judge": judge_reply})
    common = dict(
        data=str(HOTPOT),
        strategies=["cot"],
        models=[backend],
        scorers=["judge"],  # no judge model: the model under test judges itself
        out=str(tmp_path),
        progress=False,
    )
    await run_eval("hotpotqa", limit=2, **common)
    assert judge_calls(backend) == 2
    summary = await run_eval("hotpotqa", resume=True, **common)
    rows = rows_of(tmp_path)
    assert len(rows) == 4 and all("judge" in r.scores for r in rows)
    new_predictions = sum(1 for r in rows if r.id in ("hp0003", "hp0004") and r.prediction)
    assert judge_calls(backend) == 2 + new_predictions
    assert summary.group("cot").metrics["judge"].n == 4
    await run_eval("hotpotqa", resume=True, **common)
    assert judge_calls(backend) == 2 + new_predictions  # nothing judged twice


def test_judge_model_shared_across_models_under_test(tmp_path, monkeypatch, named_backends):
    named_backends["a"] = ScriptedBackend(HOTPOT_REPLIES)
    named_backends["b"] = ScriptedBackend({"*": "Answer: yes"})
    judge = named_backends["judge"] = ScriptedBackend(judge_reply)
    argv = ["eval", "hotpotqa", "--data", str(HOTPOT), "--strategy", "direct"]
    argv += ["--model", "evaltest/a,evaltest/b", "--judge", "evaltest/judge"]
    argv += ["--out", str(tmp_path / "run"), "--quiet"]
    assert run_cli(argv, monkeypatch) == 0
    assert named_backends.created == {"a": 1, "b": 1, "judge": 1}
    assert judge_calls(named_backends["a"]) == judge_calls(named_backends["b"]) == 0
    assert judge_calls(judge) == sum(1 for r in rows_of(tmp_path / "run") if r.prediction)
    # judged by the model under test itself: no second backend for the same string
    named_backends.created.clear()
    argv = ["eval", "hotpotqa", "--data", str(HOTPOT), "--strategy", "direct", "--limit", "2"]
    argv += ["--model", "evaltest/judge", "--judge", "evaltest/judge"]
    argv += ["--out", str(tmp_path / "self"), "--quiet"]
    assert run_cli(argv, monkeypatch) == 0
    assert named_backends.created == {"judge": 1}
    assert all("judge" in r.scores for r in rows_of(tmp_path / "self"))
