"""The faithfulness replays of benchmarks/ on small inputs: agot's search makes the same steps
as the published code on the same scripted replies (the published side recorded from a run of
that code, outside this repository, by the benchmark's ``--record``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _replay(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_crosswords_dfs_explores_the_states_the_published_search_explores(tmp_path) -> None:
    recorded = FIXTURES / "crosswords" / "dfs_replay.json"
    args = ["--data", str(FIXTURES / "crosswords" / "mini0505.json"), "--puzzles", "0:2"]
    run = _replay("bench_crosswords_dfs_replay.py", *args, "--recorded", str(recorded))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "identical search (states, counts, calls): 2/2 puzzles" in run.stdout
    first = json.loads(run.stdout.splitlines()[0].split(": ", 1)[1])
    # 100 states (the search's limit), 31 boards proposed for with 8 samples each
    assert first["states"] == [100, 100] and first["propose"] == [248, 248]

    # one state fewer on the published side: the comparison says so and fails
    data = json.loads(recorded.read_text())
    data["1"]["states"] = data["1"]["states"][:-1]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    run = _replay("bench_crosswords_dfs_replay.py", *args, "--recorded", str(tampered))
    assert run.returncode == 1 and "1/2 puzzles" in run.stdout


def test_aot_makes_the_published_round_of_steps_on_hotpotqa() -> None:
    recorded = FIXTURES / "hotpotqa" / "aot_replay.json"
    run = _replay("bench_aot_hotpotqa_replay.py", "--recorded", str(recorded))
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.splitlines()[-1])

    def steps(scenario: str, who: str) -> dict:
        return report[scenario][who]

    published = json.loads(recorded.read_text())
    for scenario in ("agree", "chain", "third"):
        theirs, one_round = published[scenario], steps(scenario, "agot_one_round")
        assert theirs["contractions"] == one_round["contractions"] == 1
        # the published round, with decompose + solve where it has decompose + label, and the
        # ensemble asked only when the direct and chain answers differ
        mapped = [{"label dependencies": "solve"}.get(s, s) for s in theirs["steps"]]
        if scenario == "agree":
            mapped.remove("ensemble")
        assert sorted(one_round["steps"]) == sorted(mapped)
        assert one_round["steps"][-1] == mapped[-1]
        # by default the loop asks once more whether the contracted question decomposes
        assert steps(scenario, "agot")["steps"].count("decompose") == 2
    # the same answer in every scenario, a third ensemble answer included (the direct answer
    # is kept: the candidates are scored against the ensemble's answer, ties to direct)
    assert "same answer in 3/3 scenarios" in run.stdout
    assert steps("third", "agot")["answer"] == published["third"]["answer"] == "the Tarn"
