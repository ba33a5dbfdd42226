"""A table of bad inputs, each answered by a clear one-line error (never a traceback).

CLI cases run ``agot.cli.main`` in-process and assert the exit code and the first line of
stderr (``agot: error: ...`` for agot's own checks, ``usage: ...`` for argparse's); API cases
assert the exception type and the first line of its message. Inputs come from the paths a user
can get wrong: empty or non-text questions, numbers out of range, unknown names, output paths
that are folders, files, under a file or unwritable, corrupt or foreign input files, and data
rows without what they need. Models are scripted, so no case waits on a model.
"""

# ruff: noqa: E501 (the tables read best one case to a line)

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agot.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
HOTPOT = str(FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json")
UNWRITABLE = "/proc/agot-cannot-write-here"  # /proc refuses new entries, even to root


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad")
    (root / "afile").write_text("not a folder")
    (root / "adir").mkdir()
    (root / "bad.json").write_text("{not json")
    (root / "list.json").write_text("[1, 2, 3]")
    graphless = {"question": "q", "strategy": "direct", "model": "scripted", "answer": "a"}
    (root / "graphless.json").write_text(json.dumps(graphless))
    hotpot = {"_id": "a", "answer": "x", "context": [], "supporting_facts": []}
    (root / "noq.json").write_text(json.dumps([hotpot]))
    (root / "intq.json").write_text(json.dumps([{**hotpot, "question": 7}]))
    (root / "emptyq.json").write_text(json.dumps([{**hotpot, "question": "  "}]))
    (root / "notrows.json").write_text(json.dumps({"data": 5}))
    header = "Rank,Puzzles,AMT (s),Solved rate,1-sigma Mean (s),1-sigma STD (s)\n"
    (root / "neg24.csv").write_text(header + "1,-1 1 1 24,5.5,99%,5,1\n")
    (root / "three24.csv").write_text(header + "1,1 2 3,5.5,99%,5,1\n")
    (root / "word24.csv").write_text(header + "1,a b c d,5.5,99%,5,1\n")
    (root / "noheader24.csv").write_text("1,2 3 4 4\n")
    gpqa = "Record ID,Foo,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3\n"
    (root / "gpqa").mkdir()
    (root / "gpqa" / "gpqa_main.csv").write_text(gpqa + "r1,x,a,b,c,d\n")
    corrupt = root / "corrupt-run"
    corrupt.mkdir()
    (corrupt / "run.json").write_text("{corrupt")
    (corrupt / "results.jsonl").write_text("")
    torn = root / "torn-results"
    torn.mkdir()
    (torn / "results.jsonl").write_text('{"id": 1}\n{"also": "bad"}\n')
    (root / "scripted-bad.json").write_text("{nope")
    (root / "scripted-list.json").write_text("[1]")
    (root / "scripted-latency.json").write_text(
        json.dumps({"replies": {"*": "x"}, "latency": {"fixed_s": "slow"}})
    )
    return {p.name: str(p) for p in root.iterdir()} | {"root": str(root)}


# (id, argv with {name} placeholders, exit code, regex the first stderr line must match)
CLI_CASES: list[tuple[str, list[str], int, str]] = [
    # -- solve: the question and the strategy
    ("solve-empty", ["solve", ""], 2, r"agot: error: the question is empty"),
    ("solve-blank", ["solve", "   "], 2, r"agot: error: the question is empty"),
    ("solve-strategy", ["solve", "q", "--strategy", "nope"], 2, r"agot: error: .*nope"),
    ("solve-depth-cot", ["solve", "q", "--strategy", "cot", "--max-depth", "2"], 2,
     r"agot: error: --max-depth/--max-layers/--max-nodes.* apply to --strategy agot only"),
    ("solve-samples-agot", ["solve", "q", "--samples", "3"], 2,
     r"agot: error: --samples applies to --strategy sc only"),
    ("solve-sc-zero", ["solve", "q", "--strategy", "sc", "--samples", "0"], 2,
     r"agot: error: .*n"),
    ("solve-depth-neg", ["solve", "q", "--max-depth", "-1"], 2, r"agot: error: .*max_depth"),
    ("solve-layers-zero", ["solve", "q", "--max-layers", "0"], 2, r"agot: error: .*max_layers"),
    ("solve-nodes-zero", ["solve", "q", "--max-nodes", "0"], 2, r"agot: error: .*max_nodes"),
    # -- solve: limits, budgets, sampling
    ("solve-concurrency", ["solve", "q", "--concurrency", "0"], 2,
     r"agot: error: invalid Limits setting: max_concurrency=0"),
    ("solve-rpm", ["solve", "q", "--rpm", "-1"], 2, r"agot: error: invalid Limits setting: requests_per_minute=-1"),
    ("solve-tpm", ["solve", "q", "--tpm", "0"], 2, r"agot: error: invalid Limits setting: tokens_per_minute"),
    ("solve-timeout", ["solve", "q", "--timeout", "0"], 2, r"agot: error: invalid Limits setting: timeout_s"),
    ("solve-max-calls", ["solve", "q", "--max-calls", "0"], 2, r"agot: error: invalid Budget setting: max_calls"),
    ("solve-tokens", ["solve", "q", "--budget-tokens", "-5"], 2, r"agot: error: invalid Budget setting: max_tokens"),
    ("solve-cost", ["solve", "q", "--max-cost", "0"], 2, r"agot: error: invalid Budget setting: max_cost"),
    ("solve-wall", ["solve", "q", "--max-wall", "-1"], 2, r"agot: error: invalid Budget setting: max_wall_s"),
    ("solve-temperature", ["solve", "q", "--strategy", "direct", "--temperature", "3"], 2,
     r"agot: error: .*temperature"),
    ("solve-max-tokens", ["solve", "q", "--strategy", "direct", "--max-tokens", "0"], 2,
     r"agot: error: .*max_tokens"),
    ("solve-concurrency-text", ["solve", "q", "--concurrency", "many"], 2, r"usage: agot solve"),
    # -- solve: output paths, checked before any call
    ("solve-trace-dir", ["solve", "q", "--trace", "{adir}"], 2, r"agot: error: --trace .* is a folder"),
    ("solve-trace-slash", ["solve", "q", "--trace", "{root}/new/"], 2,
     r"agot: error: --trace .* is a folder"),
    ("solve-trace-under-file", ["solve", "q", "--trace", "{afile}/t.json"], 2,
     r"agot: error: --trace .*afile' is a file, not a folder"),
    ("solve-cache-file", ["solve", "q", "--cache", "{afile}"], 2,
     r"agot: error: cache .*afile' is a file, not a directory"),
    ("solve-cache-under-file", ["solve", "q", "--cache", "{afile}/c"], 2,
     r"agot: error: cannot create cache directory"),
    # -- solve: models and endpoints
    ("solve-gguf-missing", ["solve", "q", "--model", "llamacpp/{root}/missing.gguf"], 2,
     r"agot: error: .*missing\.gguf"),
    ("solve-scripted-missing", ["solve", "q", "--model", "scripted/{root}/nope.json"], 2,
     r"agot: error: scripted table .* not found"),
    ("solve-scripted-bad-json", ["solve", "q", "--model", "scripted/{scripted-bad.json}"], 2,
     r"agot: error: scripted table .* is not valid JSON"),
    ("solve-scripted-not-object", ["solve", "q", "--model", "scripted/{scripted-list.json}"], 2,
     r"agot: error: scripted table .* must be a JSON object"),
    ("solve-scripted-latency", ["solve", "q", "--model", "scripted/{scripted-latency.json}"], 2,
     r"agot: error: scripted table .*latency values must be numbers"),
    ("solve-api-base-scheme", ["solve", "q", "--model", "openai/m", "--api-base", "ftp://h/v1"], 2,
     r"agot: error: invalid --api-base 'ftp://h/v1': it must start with http:// or https://"),
    ("solve-api-base-space", ["solve", "q", "--model", "openai/m", "--api-base", "http://a b/v1"], 2,
     r"agot: error: invalid --api-base .*: a URL has no spaces"),
    ("solve-api-base-port", ["solve", "q", "--model", "openai/m", "--api-base", "http://h:99999"], 2,
     r"agot: error: invalid --api-base 'http://h:99999'"),
    ("solve-api-base-key", ["solve", "q", "--model", "openai/m", "--api-base", "ftp://h/?key=SEKRIT"], 2,
     r"agot: error: invalid --api-base 'ftp://h/\?key=\*\*\*'"),
    ("solve-hosted-no-base", ["solve", "q", "--model", "hosted_vllm/m"], 2,
     r"agot: error: model 'hosted_vllm/m' needs the address of your server"),
    # -- show
    ("show-dir", ["show", "{adir}"], 2, r"agot: error: .*adir' is a folder"),
    ("show-missing", ["show", "{root}/none.json"], 2, r"agot: error: trace file .* not found"),
    ("show-bad-json", ["show", "{bad.json}"], 2, r"agot: error: .*bad\.json' is not an agot trace"),
    ("show-not-trace", ["show", "{list.json}"], 2, r"agot: error: .*list\.json' is not an agot trace"),
    ("show-no-graph", ["show", "{graphless.json}", "--format", "mermaid"], 2,
     r"agot: error: .* has no graph"),
    ("show-out-dir", ["show", "{graphless.json}", "--out", "{adir}"], 2,
     r"agot: error: --out .* is a folder"),
    ("show-out-under-file", ["show", "{graphless.json}", "--out", "{afile}/x.txt"], 2,
     r"agot: error: --out .* is a file, not a folder"),
    ("show-format", ["show", "{graphless.json}", "--format", "png"], 2, r"usage: agot show"),
    # -- eval: flags
    ("eval-dataset", ["eval", "nosuch"], 2, r"agot: error: .*nosuch"),
    ("eval-limit", ["eval", "hotpotqa", "--limit", "0"], 2, r"agot: error: --limit must be at least 1"),
    ("eval-concurrency", ["eval", "hotpotqa", "--concurrency", "0"], 2,
     r"agot: error: --concurrency must be at least 1"),
    ("eval-resume-no-out", ["eval", "hotpotqa", "--resume"], 2,
     r"agot: error: --resume needs --out DIR"),
    ("eval-retry-no-resume", ["eval", "hotpotqa", "--data", HOTPOT, "--retry-errors", "--out", "{root}/r1"], 2,
     r"agot: error: --retry-errors works with --resume"),
    ("eval-sample-no-limit", ["eval", "hotpotqa", "--sample"], 2,
     r"agot: error: --sample needs --limit N"),
    ("eval-preset", ["eval", "hotpotqa", "--data", HOTPOT, "--preset", "nope", "--out", "{root}/r2"], 2,
     r"agot: error: .*nope"),
    ("eval-depth-cot", ["eval", "hotpotqa", "--data", HOTPOT, "--max-depth", "2", "--out", "{root}/r3"], 2,
     r"agot: error: --max-depth/--max-layers/--max-nodes need --strategy agot"),
    ("eval-agents-cot", ["eval", "hotpotqa", "--data", HOTPOT, "--agents", "3", "--out", "{root}/r4"], 2,
     r"agot: error: --agents/--idobata-at need a Kairanban strategy"),
    ("eval-samples-cot", ["eval", "hotpotqa", "--data", HOTPOT, "--samples", "3", "--out", "{root}/r5"], 2,
     r"agot: error: --samples needs --strategy sc"),
    ("eval-resamples", ["eval", "hotpotqa", "--data", HOTPOT, "--resamples", "10", "--out", "{root}/r6"], 2,
     r"agot: error: invalid eval setting: resamples"),
    ("eval-no-strategy", ["eval", "hotpotqa", "--data", HOTPOT, "--strategy", ",", "--model", "scripted", "--out", "{root}/r7"], 2,
     r"agot: error: no strategy given"),
    ("eval-strategy-twice", ["eval", "hotpotqa", "--data", HOTPOT, "--strategy", "cot,cot", "--model", "scripted", "--out", "{root}/r8"], 2,
     r"agot: error: strategy 'cot' is listed twice"),
    ("eval-kairanban-qa", ["eval", "hotpotqa", "--data", HOTPOT, "--strategy", "single", "--model", "scripted", "--out", "{root}/r9"], 2,
     r"agot: error: strategy 'single' classifies texts into labels"),
    ("eval-calls-in-flight", ["eval", "hotpotqa", "--data", HOTPOT, "--calls-in-flight", "0", "--out", "{root}/r10"], 2,
     r"agot: error: (--concurrency must be at least 1|invalid Limits setting: max_concurrency=0)"),
    ("eval-timeout", ["eval", "hotpotqa", "--data", HOTPOT, "--timeout", "-1", "--out", "{root}/r11"], 2,
     r"agot: error: invalid Limits setting: timeout_s"),
    ("eval-max-calls", ["eval", "hotpotqa", "--data", HOTPOT, "--max-calls", "0", "--out", "{root}/r12"], 2,
     r"agot: error: invalid Budget setting: max_calls"),
    # -- eval: output folders, checked before any call
    ("eval-out-file", ["eval", "hotpotqa", "--data", HOTPOT, "--model", "scripted", "--out", "{afile}"], 2,
     r"agot: error: --out .*afile' is a file, not a folder"),
    ("eval-out-under-file", ["eval", "hotpotqa", "--data", HOTPOT, "--model", "scripted", "--out", "{afile}/run"], 2,
     r"agot: error: --out .*: .*afile' is a file, not a folder"),
    ("eval-out-unwritable", ["eval", "hotpotqa", "--data", HOTPOT, "--model", "scripted", "--out", UNWRITABLE], 2,
     r"agot: error: --out '/proc/agot-cannot-write-here'"),
    ("eval-resume-corrupt-run-json", ["eval", "hotpotqa", "--data", HOTPOT, "--model", "scripted", "--resume", "--out", "{corrupt-run}"], 2,
     r"agot: error: .*run\.json is not readable JSON"),
    ("eval-resume-bad-rows", ["eval", "hotpotqa", "--data", HOTPOT, "--model", "scripted", "--resume", "--out", "{torn-results}"], 2,
     r"agot: error: .*results\.jsonl:1 is not a valid result row"),
    ("eval-cache-file", ["eval", "hotpotqa", "--data", HOTPOT, "--model", "scripted", "--cache", "{afile}", "--out", "{root}/r13"], 2,
     r"agot: error: cache .*afile' is a file, not a directory"),
    # -- eval: data files
    ("eval-data-missing", ["eval", "hotpotqa", "--data", "{root}/none.json", "--model", "scripted", "--out", "{root}/r14"], 2,
     r"agot: error: .*none\.json"),
    ("eval-data-bad-json", ["eval", "hotpotqa", "--data", "{bad.json}", "--model", "scripted", "--out", "{root}/r15"], 2,
     r"agot: error: .*bad\.json"),
    ("eval-data-not-rows", ["eval", "hotpotqa", "--data", "{notrows.json}", "--model", "scripted", "--out", "{root}/r16"], 2,
     r"agot: error: .*notrows\.json"),
    ("eval-row-no-question", ["eval", "hotpotqa", "--data", "{noq.json}", "--model", "scripted", "--out", "{root}/r17"], 2,
     r"agot: error: hotpotqa: noq\.json row 0: missing field 'question'"),
    ("eval-row-int-question", ["eval", "hotpotqa", "--data", "{intq.json}", "--model", "scripted", "--out", "{root}/r18"], 2,
     r"agot: error: hotpotqa: intq\.json row 0: field 'question' must be text, got int"),
    ("eval-row-empty-question", ["eval", "hotpotqa", "--data", "{emptyq.json}", "--model", "scripted", "--out", "{root}/r19"], 2,
     r"agot: error: hotpotqa: emptyq\.json row 0: field 'question' is empty"),
    ("eval-gpqa-no-question-column", ["eval", "gpqa", "--data", "{gpqa}", "--subset", "main", "--model", "scripted", "--out", "{root}/r20"], 2,
     r"agot: error: gpqa: gpqa_main\.csv row 0: missing field 'Question'"),
    ("eval-game24-negative", ["eval", "game24", "--data", "{neg24.csv}", "--split", "all", "--model", "scripted", "--out", "{root}/r21"], 2,
     r"agot: error: .*line 2: Game of 24 numbers and ranks are positive integers"),
    ("eval-game24-three", ["eval", "game24", "--data", "{three24.csv}", "--split", "all", "--model", "scripted", "--out", "{root}/r22"], 2,
     r"agot: error: .*line 2: a puzzle has four numbers"),
    ("eval-game24-words", ["eval", "game24", "--data", "{word24.csv}", "--split", "all", "--model", "scripted", "--out", "{root}/r23"], 2,
     r"agot: error: .*line 2: Rank must be an integer"),
    ("eval-game24-no-header", ["eval", "game24", "--data", "{noheader24.csv}", "--split", "all", "--model", "scripted", "--out", "{root}/r24"], 2,
     r"agot: error: .*noheader24\.csv"),
    # -- report
    ("report-missing", ["report", "{root}/none"], 2, r"agot: error: no results\.jsonl in"),
    ("report-empty-dir", ["report", "{adir}"], 2, r"agot: error: no results\.jsonl in"),
    ("report-file", ["report", "{afile}"], 2, r"agot: error: .*afile' is a file, not a results folder"),
    ("report-format", ["report", "{adir}", "--format", "xml"], 2, r"usage: agot report"),
    # -- classify
    ("classify-empty", ["classify", "", "--labels", "a,b"], 2,
     r"agot: error: the text to classify is empty"),
    ("classify-one-label", ["classify", "t", "--labels", "a"], 2,
     r"agot: error: need at least 2 distinct labels"),
    ("classify-repeated", ["classify", "t", "--labels", "a,a"], 2,
     r"agot: error: labels must be distinct"),
    ("classify-agents", ["classify", "t", "--labels", "a,b", "--agents", "0"], 2,
     r"agot: error: agents must be an integer >= 1"),
    ("classify-idobata", ["classify", "t", "--labels", "a,b", "--agents", "3", "--idobata-at", "9"], 2,
     r"agot: error: idobata_at must be between 1 and agents"),
    ("classify-trace-dir", ["classify", "t", "--labels", "a,b", "--trace", "{adir}"], 2,
     r"agot: error: --trace .* is a folder"),
]  # fmt: skip


def _fill(argv: list[str], files: dict[str, str]) -> list[str]:
    return [re.sub(r"\{([\w.-]+)\}", lambda m: files[m[1]], arg) for arg in argv]


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "code", "first_line"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_bad_input(
    argv: list[str],
    code: int,
    first_line: str,
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = _fill(argv, files)
    if argv[0] in ("solve", "classify") and "--model" not in argv:
        argv += ["--model", "scripted"]
    argv += ["--quiet"] if argv[0] in ("solve", "eval", "classify") else []
    got, _, err = _run_cli(argv, capsys)
    assert got == code, err
    lines = err.strip().splitlines()
    assert lines, "no message"
    assert re.match(first_line, lines[0]), lines[0]
    assert "Traceback" not in err
    if lines[0].startswith("agot: error"):
        assert len(lines) == 1, err  # one line, nothing after it


# -- the API ----------------------------------------------------------------------------------


def _api_cases() -> list[tuple[str, Callable[[dict[str, str]], Any], type, str]]:
    import agot
    from agot.backends.scripted import FaultModel, ScriptedBackend
    from agot.budget import Budget
    from agot.cache import ResponseCache
    from agot.dispatcher import Dispatcher
    from agot.errors import ConfigError, DatasetError
    from agot.evals.records import EvalRecord
    from agot.evals.runner import run_eval
    from agot.kairanban import Kairanban
    from agot.limits import Limits
    from agot.result import Result
    from agot.types import GenerationRequest, SamplingParams

    record = EvalRecord(id="a", dataset="hotpotqa", question="Q?", gold="A")

    def evaluate(**kwargs: Any) -> Any:
        return asyncio.run(run_eval("hotpotqa", records=[record], progress=False, **kwargs))

    return [
        ("dispatcher-cache-file", lambda f: Dispatcher("scripted", cache=f["afile"]), ConfigError,
         r"cache .*afile' is a file, not a directory"),
        ("cache-under-file", lambda f: ResponseCache(f["afile"] + "/c"), ConfigError,
         r"cannot create cache directory"),
        ("dispatcher-unknown-model", lambda f: Dispatcher("nosuch-backend-xyz"), ConfigError, r".*nosuch"),
        ("load-trace-dir", lambda f: Result.load_trace(f["adir"]), ConfigError, r".*adir' is a folder"),
        ("load-trace-bad", lambda f: Result.load_trace(f["bad.json"]), ConfigError,
         r".*bad\.json' is not an agot trace"),
        ("save-trace-dir", lambda f: Result(question="q", strategy="s", model="m").save_trace(f["adir"]),
         ConfigError, r"cannot write the trace to .*adir': it is a folder"),
        ("save-trace-under-file", lambda f: Result(question="q", strategy="s", model="m").save_trace(
            f["afile"] + "/t.json"), ConfigError, r"cannot write the trace to"),
        ("solve-int-question", lambda f: agot.solve(5, model="scripted"), ConfigError,
         r"the question must be text \(str\), got int"),
        ("solve-empty-question", lambda f: agot.solve("", model="scripted"), ConfigError,
         r"the question is empty"),
        ("limits-concurrency", lambda f: Limits(max_concurrency=0), ConfigError,
         r"invalid Limits setting: max_concurrency=0"),
        ("limits-floor", lambda f: Limits(timeout_floor_s=0), ConfigError,
         r"invalid Limits setting: timeout_floor_s=0"),
        ("limits-multiple", lambda f: Limits(timeout_multiple=0.5), ConfigError,
         r"invalid Limits setting: timeout_multiple=0.5"),
        ("limits-unknown", lambda f: Limits(concurrency=3), ConfigError,
         r"invalid Limits setting: concurrency=3"),
        ("budget-calls", lambda f: Budget(max_calls=0), ConfigError, r"invalid Budget setting: max_calls=0"),
        ("sampling-temperature", lambda f: SamplingParams(temperature=-1), ConfigError,
         r"invalid SamplingParams setting: temperature=-1"),
        ("sampling-max-tokens", lambda f: GenerationRequest.chat("hi", params=SamplingParams(max_tokens=0)),
         ConfigError, r"invalid SamplingParams setting: max_tokens=0"),
        ("scripted-empty-list", lambda f: ScriptedBackend({"*": []}), ConfigError,
         r"scripted reply list for key '\*' is empty"),
        ("fault-rate", lambda f: FaultModel(transient=2), ConfigError,
         r"fault rate transient must be within \[0, 1\], got 2"),
        ("kairanban-labels", lambda f: Kairanban([]), ConfigError, r"need at least 2 distinct labels"),
        ("eval-models-empty", lambda f: evaluate(models=[], out=f["root"] + "/api1"), ConfigError,
         r"invalid eval setting: models"),
        ("eval-strategies-empty", lambda f: evaluate(strategies=[], models=["scripted"],
         out=f["root"] + "/api2"), ConfigError, r"invalid eval setting: strategies|no strategy given"),
        ("eval-out-file", lambda f: evaluate(models=["scripted"], out=f["afile"]), ConfigError,
         r".*afile' is a file, not a folder"),
        ("eval-out-under-file", lambda f: evaluate(models=["scripted"], out=f["afile"] + "/run"),
         ConfigError, r".*afile' is a file, not a folder"),
        ("eval-concurrency", lambda f: evaluate(models=["scripted"], concurrency=0,
         out=f["root"] + "/api3"), ConfigError, r"invalid eval setting: concurrency"),
        ("eval-unknown-option", lambda f: evaluate(models=["scripted"], concurency=3,
         out=f["root"] + "/api4"), ConfigError, r"invalid eval setting: concurency"),
        ("eval-dataset", lambda f: asyncio.run(run_eval("nosuch", progress=False)), AgotError_,
         r".*nosuch"),
        ("eval-data-missing", lambda f: asyncio.run(run_eval(
            "hotpotqa", data=f["root"] + "/none.json", models=["scripted"], progress=False,
            out=f["root"] + "/api5")), DatasetError, r".*none\.json"),
    ]  # fmt: skip


class AgotError_:  # placeholder replaced below (any AgotError)
    pass


API_CASES = _api_cases()


@pytest.mark.parametrize(
    ("make", "error", "first_line"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input(
    make: Callable[[dict[str, str]], Any], error: type, first_line: str, files: dict[str, str]
) -> None:
    from agot.errors import AgotError

    expected = AgotError if error is AgotError_ else error
    with pytest.raises(expected) as info:
        make(files)
    message = str(info.value)
    assert re.match(first_line, message.splitlines()[0]), message
    assert "\n" not in message.strip(), message


def test_the_table_is_large_enough() -> None:
    assert len(CLI_CASES) + len(API_CASES) >= 60
