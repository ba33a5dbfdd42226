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
import os
import re
import shlex
import zipfile
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
    node = {"local": 1, "layer": 0, "depth": 0, "title": "t", "question": "q"}
    cyclic = {"nodes": [{**node, "id": "a"}, {**node, "id": "b"}],
              "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}  # fmt: skip
    (root / "cyclic.json").write_text(json.dumps({**graphless, "graph": cyclic}))
    idless = {"nodes": [node], "edges": []}
    (root / "idless.json").write_text(json.dumps({**graphless, "graph": idless}))
    dangling = {"nodes": [{**node, "id": "a"}], "edges": [{"source": "a", "target": "zz"}]}
    (root / "dangling.json").write_text(json.dumps({**graphless, "graph": dangling}))
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
    (root / "gpqa-latin1").mkdir()  # invented text, no GPQA row
    with zipfile.ZipFile(root / "gpqa-latin1" / "dataset.zip", "w") as archive:
        archive.writestr("dataset/gpqa_main.csv", (gpqa + "r1,caf\xe9,a,b,c,d\n").encode("latin-1"))
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
    ep = '[[endpoints]]\napi_base = "http://127.0.0.1:9/v1"\n'
    (root / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (root / "garbage.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 10 + b"PAR1")
    (root / "fleet-port.toml").write_text('[[endpoints]]\napi_base = "http://127.0.0.1:99999/v1"\n')
    (root / "fleet-weight.toml").write_text(ep + "weight = inf\n")
    (root / "fleet-slots.toml").write_text(ep + "max_concurrency = 100000000000000000000\n")
    (root / "fleet-latin1.toml").write_bytes((ep + 'name = "caf\xe9"\n').encode("latin-1"))
    (root / "fleet-binary.json").write_bytes(bytes(range(256)) * 4)
    (root / "fleet-deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "fleet-key.toml").write_text(ep + 'api_key = "SEKRIT-fleet-key"\n')
    field = "x" * 200_000  # one CSV field of 200 KB, above the csv module's default limit
    (root / "bigfield24.csv").write_text(header + f"1,{field},5.5,99%,5,1\n")
    return {p.name: str(p) for p in root.iterdir()} | {"root": str(root)}


# (id, command line with {name} placeholders, regex the first stderr line must match after
# "agot: error: "; a regex starting "usage: " is argparse's own message). Every case exits 2.
# Each runs on the scripted model unless it names one.
CLI_CASES: list[tuple[str, str, str]] = [
    # -- solve: the question and the strategy
    ("solve-empty", "solve ''", r"the question is empty"),
    ("solve-blank", "solve '   '", r"the question is empty"),
    ("solve-strategy", "solve q --strategy nope", r".*nope"),
    ("solve-depth-cot", "solve q --strategy cot --max-depth 2", r"--max-depth/--max-layers/--max-nodes.* apply to --strategy agot only"),
    ("solve-samples-agot", "solve q --samples 3", r"--samples applies to --strategy sc only"),
    ("solve-sc-zero", "solve q --strategy sc --samples 0", r".*n"),
    ("solve-depth-neg", "solve q --max-depth -1", r".*max_depth"),
    ("solve-layers-zero", "solve q --max-layers 0", r".*max_layers"),
    ("solve-nodes-zero", "solve q --max-nodes 0", r".*max_nodes"),
    # -- solve: limits, budgets, sampling
    ("solve-concurrency", "solve q --concurrency 0", r"invalid Limits setting: max_concurrency=0"),
    ("solve-rpm", "solve q --rpm -1", r"invalid Limits setting: requests_per_minute=-1"),
    ("solve-tpm", "solve q --tpm 0", r"invalid Limits setting: tokens_per_minute"),
    ("solve-timeout", "solve q --timeout 0", r"invalid Limits setting: timeout_s"),
    ("solve-max-calls", "solve q --max-calls 0", r"invalid Budget setting: max_calls"),
    ("solve-tokens", "solve q --budget-tokens -5", r"invalid Budget setting: max_tokens"),
    ("solve-cost", "solve q --max-cost 0", r"invalid Budget setting: max_cost"),
    ("solve-wall", "solve q --max-wall -1", r"invalid Budget setting: max_wall_s"),
    ("solve-temperature", "solve q --strategy direct --temperature 3", r".*temperature"),
    ("solve-max-tokens", "solve q --strategy direct --max-tokens 0", r".*max_tokens"),
    ("solve-concurrency-text", "solve q --concurrency many", r"usage: agot solve"),
    # -- solve: output paths, checked before any call
    ("solve-trace-dir", "solve q --trace {adir}", r"--trace .* is a folder"),
    ("solve-trace-slash", "solve q --trace {root}/new/", r"--trace .* is a folder"),
    ("solve-trace-under-file", "solve q --trace {afile}/t.json", r"--trace .*afile' is a file, not a folder"),
    ("solve-cache-file", "solve q --cache {afile}", r"cache .*afile' is a file, not a directory"),
    ("solve-cache-under-file", "solve q --cache {afile}/c", r"cannot create cache directory"),
    # -- solve: models and endpoints
    ("solve-gguf-missing", "solve q --model llamacpp/{root}/missing.gguf", r".*missing\.gguf"),
    ("solve-scripted-missing", "solve q --model scripted/{root}/nope.json", r"scripted table .* not found"),
    ("solve-scripted-bad-json", "solve q --model scripted/{scripted-bad.json}", r"scripted table .* is not valid JSON"),
    ("solve-scripted-not-object", "solve q --model scripted/{scripted-list.json}", r"scripted table .* must be a JSON object"),
    ("solve-scripted-latency", "solve q --model scripted/{scripted-latency.json}", r"scripted table .*latency values must be numbers"),
    ("solve-api-base-scheme", "solve q --model openai/m --api-base ftp://h/v1", r"invalid --api-base 'ftp://h/v1': it must start with http:// or https://"),
    ("solve-api-base-space", "solve q --model openai/m --api-base 'http://a b/v1'", r"invalid --api-base .*: a URL has no spaces"),
    ("solve-api-base-port", "solve q --model openai/m --api-base http://h:99999", r"invalid --api-base 'http://h:99999'"),
    ("solve-api-base-key", "solve q --model openai/m --api-base ftp://h/?key=SEKRIT", r"invalid --api-base 'ftp://h/\?key=\*\*\*'"),
    ("solve-hosted-no-base", "solve q --model hosted_vllm/m", r"model 'hosted_vllm/m' needs the address of your server"),
    # -- every flag that names an endpoint: one check (agot.endpoints), a one-line error naming
    #    the flag, before any model is built (#25: these used to reach api.openai.com)
    ("model-endpoint-ftp", "solve q --model openai/fake@ftp://127.0.0.1:8799/v1", r"--model 'openai/fake@ftp://127\.0\.0\.1:8799/v1': invalid endpoint .*: it must start with http:// or https://"),
    ("model-endpoint-no-scheme", "solve q --model openai/fake@127.0.0.1:8799/v1", r"--model .*: invalid endpoint '127\.0\.0\.1:8799/v1': it has no scheme; write http://127\.0\.0\.1:8799/v1"),
    ("model-endpoint-htp", "solve q --model openai/fake@htp://h/v1", r"--model .*: invalid endpoint 'htp://h/v1': it must start with http:// or https://"),
    ("model-endpoint-userinfo", "solve q --model openai/fake@http://u:SEKRIT@h/v1", r"--model 'openai/fake@http://\*\*\*@h/v1': .*user name or password in the URL .* is not sent"),
    ("model-endpoint-query", "solve q --model 'openai/x@http://h/v1?key=SEKRIT'", r"--model 'openai/x@http://h/v1\?key=\*\*\*': .*a query or fragment"),
    ("model-endpoint-port", "solve q --model openai/x@http://h:99999/v1", r"--model .*: invalid endpoint 'http://h:99999/v1': Port out of range"),
    ("model-endpoint-no-model", "solve q --model @http://h/v1", r"invalid --model '@http://h/v1': no model before @URL"),
    ("model-is-a-url", "solve q --model http://h:8000/v1", r"invalid --model 'http://h:8000/v1': that is a URL, not a model string"),
    ("eval-model-endpoint", "eval hotpotqa --data {hotpot} --model a=openai/x@ftp://h/v1 --out {root}/e1", r"--model 'openai/x@ftp://h/v1': invalid endpoint"),
    ("route-endpoint-ftp", "solve q --route assess=openai/fake@ftp://h/v1", r"--route assess='openai/fake@ftp://h/v1': invalid endpoint 'ftp://h/v1'"),
    ("route-endpoint-userinfo", "solve q --route assess=openai/fake@http://u:SEKRIT@h/v1", r"--route assess='openai/fake@http://\*\*\*@h/v1': .*user name or password"),
    ("escalate-endpoint-htp", "solve q --route assess=scripted --escalate-to openai/fake@htp://h/v1", r"--escalate-to 'openai/fake@htp://h/v1': invalid endpoint"),
    ("escalate-endpoint-no-scheme", "solve q --route assess=scripted --escalate-to openai/fake@h.example.com/v1", r"--escalate-to .*: invalid endpoint 'h\.example\.com/v1': it has no scheme"),
    ("judge-endpoint-ftp", "eval hotpotqa --data {hotpot} --judge openai/fake@ftp://h/v1 --out {root}/e2", r"--judge 'openai/fake@ftp://h/v1': invalid endpoint"),
    ("judge-endpoint-query", "eval hotpotqa --data {hotpot} --judge 'openai/fake@http://h/v1?k=SEKRIT' --out {root}/e3", r"--judge 'openai/fake@http://h/v1\?k=\*\*\*': .*a query or fragment"),
    ("api-base-userinfo", "solve q --model openai/m --api-base http://u:SEKRIT@h/v1", r"invalid --api-base 'http://\*\*\*@h/v1': a user name or password"),
    ("api-base-list", "solve q --model openai/m --api-base http://h1/v1,htp://h2/v1", r"invalid --api-base 'htp://h2/v1': it must start with http://"),
    ("fleet-port", "solve q --model openai/m --api-base {fleet-port.toml}", r"invalid endpoint api_base 'http://127\.0\.0\.1:99999/v1': Port out of range"),
    ("fleet-weight-inf", "solve q --model openai/m --api-base {fleet-weight.toml}", r"invalid Endpoint setting: weight=inf: Input should be a finite number"),
    ("fleet-slots-huge", "solve q --model openai/m --api-base {fleet-slots.toml}", r"invalid Endpoint setting: max_concurrency=.*less than or equal to 100000"),
    ("fleet-latin1", "solve q --model openai/m --api-base {fleet-latin1.toml}", r"fleet file .* is not UTF-8 text \(byte \d+\): save it as UTF-8"),
    ("fleet-binary", "solve q --model openai/m --api-base {fleet-binary.json}", r"fleet file .* is not UTF-8 text"),
    ("fleet-deep", "solve q --model openai/m --api-base {fleet-deep.json}", r"fleet file .* is nested too deeply"),
    ("fleet-key", "solve q --model openai/m --api-base {fleet-key.toml}", r"invalid Endpoint setting: api_key: Extra inputs are not permitted"),
    ("fleet-dir", "solve q --model openai/m --api-base {adir}/f.toml", r"cannot read fleet file"),
    ("solve-rpm-inf", "solve q --rpm inf", r"invalid Limits setting: requests_per_minute=inf: Input should be a finite number"),
    ("solve-timeout-nan", "solve q --timeout nan", r"invalid Limits setting: timeout_s=nan"),
    # -- counts a typo makes unbounded (#25 item 7), refused before any call
    ("classify-agents-huge", "classify t --labels a,b --agents 1000000", r"agents must be between 1 and 100 \(a whole number\), got 1000000"),
    ("eval-resamples-huge", "eval hotpotqa --data {hotpot} --resamples 1000000000 --out {root}/b1", r"invalid eval setting: resamples=1000000000: Input should be less than or equal to 100000"),
    ("eval-seed-negative", "eval hotpotqa --data {hotpot} --seed -1 --out {root}/b2", r"invalid eval setting: seed=-1"),
    ("report-seed-negative", "report {adir} --seed -1", r"--seed must be 0 or more"),
    ("solve-n-ctx-huge", "solve q -M n_ctx=1000000000", r"invalid BackendOptions setting: n_ctx=1000000000: Input should be less than or equal to 2097152"),
    # -- -M values and keys (#25 item 11): a key no backend reads is a typo, named with the
    #    keys the model's backend does read
    ("model-arg-unknown", "solve q -M nosuch=1", r"unknown backend option nosuch \(-M\): the scripted backend reads n_ctx, n_threads, device$"),
    ("model-arg-typo", "solve q --model openai/x@http://127.0.0.1:9/v1 -M native_schem=false", r"unknown backend option native_schem \(-M\): the litellm backend reads .*native_schema, request_timeout_s"),
    ("model-arg-timeout-text", "solve q --model openai/x@http://127.0.0.1:9/v1 -M request_timeout_s=abc", r"-M request_timeout_s='abc': give seconds as a number above 0"),
    ("model-arg-native-maybe", "solve q --model openai/x@http://127.0.0.1:9/v1 -M native_schema=maybe", r"-M native_schema='maybe': write true or false"),
    ("model-comma-only", "solve q --model ,", r"--model ',' names no model"),
    ("eval-model-comma-only", "eval hotpotqa --data {hotpot} --model , --out {root}/b3", r"--model ',' names no model"),
    # -- agot show on graphs no run writes, --ray addresses (#25 item 11)
    ("show-cyclic-graph", "show {cyclic.json}", r"the trace's graph has a cycle \(a -> b -> a\)"),
    ("show-node-without-id", "show {idless.json}", r"the trace's graph is malformed \(graph node setting: id: Field required\)"),
    ("show-edge-to-no-node", "show {dangling.json}", r"the trace's graph has an edge to no node \('zz'\)"),
    ("eval-ray-not-address", "eval hotpotqa --data {hotpot} --ray 'not an address' --out {root}/b4", r"--ray 'not an address' is not a Ray address"),
    ("eval-ray-bad-port", "eval hotpotqa --data {hotpot} --ray h:99999 --out {root}/b5", r"--ray 'h:99999' is not a Ray address"),
    ("eval-ray-unreachable", "eval hotpotqa --data {hotpot} --limit 1 --ray 127.0.0.1:1 --out {root}/b6", r"(--ray 127\.0\.0\.1:1: cannot reach the Ray cluster|running on Ray needs the ray extra)"),
    ("eval-data-deep-json", "eval hotpotqa --data {deep.json} --out {root}/b7", r"hotpotqa: .*deep\.json is nested too deeply to hold dataset rows"),
    ("eval-data-garbage-parquet", "eval hotpotqa --data {garbage.parquet} --out {root}/b8", r"hotpotqa: (.*garbage\.parquet is not a readable Parquet file|reading garbage\.parquet needs pyarrow)"),
    ("eval-gpqa-zip-latin1", "eval gpqa --data {gpqa-latin1} --subset main --out {root}/b9", r"gpqa: .*dataset\.zip's gpqa_main\.csv is not UTF-8 text \(byte \d+\)"),
    ("classify-model-endpoint", "classify t --labels a,b --model openai/x@ftp://h/v1", r"--model 'openai/x@ftp://h/v1': invalid endpoint"),
    # -- show
    ("show-dir", "show {adir}", r".*adir' is a folder"),
    ("show-missing", "show {root}/none.json", r"trace file .* not found"),
    ("show-bad-json", "show {bad.json}", r".*bad\.json' is not an agot trace"),
    ("show-not-trace", "show {list.json}", r".*list\.json' is not an agot trace"),
    ("show-no-graph", "show {graphless.json} --format mermaid", r".* has no graph"),
    ("show-out-dir", "show {graphless.json} --out {adir}", r"--out .* is a folder"),
    ("show-out-under-file", "show {graphless.json} --out {afile}/x.txt", r"--out .* is a file, not a folder"),
    ("show-format", "show {graphless.json} --format png", r"usage: agot show"),
    # -- eval: flags
    ("eval-dataset", "eval nosuch", r".*nosuch"),
    ("eval-limit", "eval hotpotqa --limit 0", r"--limit must be at least 1"),
    ("eval-concurrency", "eval hotpotqa --concurrency 0", r"--concurrency must be at least 1"),
    ("eval-resume-no-out", "eval hotpotqa --resume", r"--resume needs --out DIR"),
    ("eval-retry-no-resume", "eval hotpotqa --data {hotpot} --retry-errors --out {root}/r1", r"--retry-errors works with --resume"),
    ("eval-sample-no-limit", "eval hotpotqa --sample", r"--sample needs --limit N"),
    ("eval-preset", "eval hotpotqa --data {hotpot} --preset nope --out {root}/r2", r".*nope"),
    ("eval-depth-cot", "eval hotpotqa --data {hotpot} --max-depth 2 --out {root}/r3", r"--max-depth/--max-layers/--max-nodes need --strategy agot"),
    ("eval-agents-cot", "eval hotpotqa --data {hotpot} --agents 3 --out {root}/r4", r"--agents/--idobata-at need a Kairanban strategy"),
    ("eval-samples-cot", "eval hotpotqa --data {hotpot} --samples 3 --out {root}/r5", r"--samples needs --strategy sc"),
    ("eval-resamples", "eval hotpotqa --data {hotpot} --resamples 10 --out {root}/r6", r"invalid eval setting: resamples"),
    ("eval-no-strategy", "eval hotpotqa --data {hotpot} --strategy , --out {root}/r7", r"no strategy given"),
    ("eval-strategy-twice", "eval hotpotqa --data {hotpot} --strategy cot,cot --out {root}/r8", r"strategy 'cot' is listed twice"),
    ("eval-kairanban-qa", "eval hotpotqa --data {hotpot} --strategy single --out {root}/r9", r"strategy 'single' classifies texts into labels"),
    ("eval-calls-in-flight", "eval hotpotqa --data {hotpot} --calls-in-flight 0 --out {root}/r10", r"(--concurrency must be at least 1|invalid Limits setting: max_concurrency=0)"),
    ("eval-timeout", "eval hotpotqa --data {hotpot} --timeout -1 --out {root}/r11", r"invalid Limits setting: timeout_s"),
    ("eval-max-calls", "eval hotpotqa --data {hotpot} --max-calls 0 --out {root}/r12", r"invalid Budget setting: max_calls"),
    # -- eval: output folders, checked before any call
    ("eval-out-file", "eval hotpotqa --data {hotpot} --out {afile}", r"--out .*afile' is a file, not a folder"),
    ("eval-out-under-file", "eval hotpotqa --data {hotpot} --out {afile}/run", r"--out .*: .*afile' is a file, not a folder"),
    ("eval-out-unwritable", "eval hotpotqa --data {hotpot} --out {unwritable}", r"--out '/proc/agot-cannot-write-here'"),
    ("eval-resume-corrupt-run-json", "eval hotpotqa --data {hotpot} --resume --out {corrupt-run}", r".*run\.json is not readable JSON"),
    ("eval-resume-bad-rows", "eval hotpotqa --data {hotpot} --resume --out {torn-results}", r".*results\.jsonl:1 is not a valid result row"),
    ("eval-cache-file", "eval hotpotqa --data {hotpot} --cache {afile} --out {root}/r13", r"cache .*afile' is a file, not a directory"),
    # -- eval: data files
    ("eval-data-missing", "eval hotpotqa --data {root}/none.json --out {root}/r14", r".*none\.json"),
    ("eval-data-bad-json", "eval hotpotqa --data {bad.json} --out {root}/r15", r".*bad\.json"),
    ("eval-data-not-rows", "eval hotpotqa --data {notrows.json} --out {root}/r16", r".*notrows\.json"),
    ("eval-row-no-question", "eval hotpotqa --data {noq.json} --out {root}/r17", r"hotpotqa: noq\.json row 0: missing field 'question'"),
    ("eval-row-int-question", "eval hotpotqa --data {intq.json} --out {root}/r18", r"hotpotqa: intq\.json row 0: field 'question' must be text, got int"),
    ("eval-row-empty-question", "eval hotpotqa --data {emptyq.json} --out {root}/r19", r"hotpotqa: emptyq\.json row 0: field 'question' is empty"),
    ("eval-gpqa-no-question-column", "eval gpqa --data {gpqa} --subset main --out {root}/r20", r"gpqa: gpqa_main\.csv row 0: missing field 'Question'"),
    ("eval-game24-negative", "eval game24 --data {neg24.csv} --split all --out {root}/r21", r".*line 2: Game of 24 numbers and ranks are positive integers"),
    ("eval-game24-three", "eval game24 --data {three24.csv} --split all --out {root}/r22", r".*line 2: a puzzle has four numbers"),
    ("eval-game24-words", "eval game24 --data {word24.csv} --split all --out {root}/r23", r".*line 2: Rank must be an integer"),
    ("eval-game24-field-200kb", "eval game24 --data {bigfield24.csv} --split all --out {root}/r25", r".*bigfield24\.csv' line 2: Rank must be an integer .* got '1', 'x{37}\.\.\.'$"),
    ("eval-budget-per-item-kind", "eval hotpotqa --data {hotpot} --budget-per-item bogus=1 --out {root}/r26", r"--budget-per-item 'bogus=1': name calls, tokens, cost or wall"),
    ("eval-budget-per-item-number", "eval hotpotqa --data {hotpot} --budget-per-item tokens=abc --out {root}/r27", r"--budget-per-item 'tokens=abc': 'abc' is not a number"),
    ("eval-budget-per-item-twice", "eval hotpotqa --data {hotpot} --budget-per-item 3 --max-calls 4 --out {root}/r28", r"--budget-per-item '3' and --max-calls both set that budget"),
    ("eval-game24-no-header", "eval game24 --data {noheader24.csv} --split all --out {root}/r24", r".*noheader24\.csv"),
    # -- report
    ("report-missing", "report {root}/none", r"no results\.jsonl in"),
    ("report-empty-dir", "report {adir}", r"no results\.jsonl in"),
    ("report-file", "report {afile}", r".*afile' is a file, not a results folder"),
    ("report-format", "report {adir} --format xml", r"usage: agot report"),
    # -- classify
    ("classify-empty", "classify '' --labels a,b", r"the text to classify is empty"),
    ("classify-one-label", "classify t --labels a", r"need at least 2 distinct labels"),
    ("classify-repeated", "classify t --labels a,a", r"labels must be distinct"),
    ("classify-agents", "classify t --labels a,b --agents 0", r"agents must be between 1 and 100"),
    ("classify-idobata", "classify t --labels a,b --agents 3 --idobata-at 9", r"idobata_at must be between 1 and agents"),
    ("classify-trace-dir", "classify t --labels a,b --trace {adir}", r"--trace .* is a folder"),
]  # fmt: skip


def _argv(command: str, files: dict[str, str]) -> list[str]:
    """Split ``command`` as a shell would and fill in its ``{name}`` placeholders."""
    paths = files | {"hotpot": HOTPOT, "unwritable": UNWRITABLE}
    return [re.sub(r"\{([\w.-]+)\}", lambda m: paths[m[1]], arg) for arg in shlex.split(command)]


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("command", "first_line"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_bad_input(
    command: str, first_line: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(command, files)
    if "--model" not in argv and argv[0] in ("solve", "eval", "classify"):
        argv += ["--model", "scripted"]
    argv += ["--quiet"] if argv[0] in ("solve", "eval", "classify") else []
    got, out, err = _run_cli(argv, capsys)
    assert got == 2, err
    assert "SEKRIT" not in out + err  # a key planted in a URL is never echoed
    lines = err.strip().splitlines()
    assert lines, "no message"
    expected = first_line if first_line.startswith("usage: ") else f"agot: error: {first_line}"
    assert re.match(expected, lines[0]), lines[0]
    assert "Traceback" not in err
    if lines[0].startswith("agot: error"):
        assert len(lines) == 1, err  # one line, nothing after it
        assert len(lines[0]) < 600, lines[0][:600]  # no input echoed whole


# -- the API ----------------------------------------------------------------------------------


def _api_cases() -> list[tuple[str, Callable[[dict[str, str]], Any], type, str]]:
    import agot
    from agot.backends.scripted import FaultModel, ScriptedBackend
    from agot.budget import Budget
    from agot.cache import ResponseCache
    from agot.dispatcher import Dispatcher
    from agot.errors import AgotError, ConfigError, DatasetError
    from agot.evals.records import EvalRecord
    from agot.evals.runner import run_eval
    from agot.kairanban import Kairanban
    from agot.limits import Limits
    from agot.result import Result
    from agot.strategies import Direct
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
        ("dispatcher-empty-model", lambda f: Dispatcher(""), ConfigError, r"model is empty"),
        ("dispatcher-int-model", lambda f: Dispatcher(5), ConfigError,
         r"model must be a model string or a Backend, got int"),
        ("dispatcher-limits-dict", lambda f: Dispatcher("scripted", limits={"bogus": 1}), ConfigError,
         r"invalid Limits setting: bogus=1"),
        ("dispatcher-endpoint-ftp", lambda f: Dispatcher("openai/x", endpoints=["ftp://h/v1"]),
         ConfigError, r"invalid endpoint api_base 'ftp://h/v1': it must start with http://"),
        ("dispatcher-api-base-query", lambda f: Dispatcher("openai/x", api_base="http://h/v1?key=SEKRIT"),
         ConfigError, r"invalid api_base 'http://h/v1\?key=\*\*\*': a query or fragment"),
        ("solve-int-strategy", lambda f: agot.solve("q", model="scripted", strategy=5), ConfigError,
         r"strategy must be a strategy name such as 'agot' or a Strategy, got int"),
        ("solve-many-str", lambda f: asyncio.run(Direct().solve_many("abc", model="scripted")),
         ConfigError, r"solve_many takes a list of questions"),
        ("eval-dataset", lambda f: asyncio.run(run_eval("nosuch", progress=False)), AgotError,
         r".*nosuch"),
        ("eval-data-missing", lambda f: asyncio.run(run_eval(
            "hotpotqa", data=f["root"] + "/none.json", models=["scripted"], progress=False,
            out=f["root"] + "/api5")), DatasetError, r".*none\.json"),
    ]  # fmt: skip


API_CASES = _api_cases()


@pytest.mark.parametrize(
    ("make", "error", "first_line"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input(
    make: Callable[[dict[str, str]], Any], error: type, first_line: str, files: dict[str, str]
) -> None:
    with pytest.raises(error) as info:
        make(files)
    message = str(info.value)
    assert re.match(first_line, message.splitlines()[0]), message
    assert "\n" not in message.strip(), message


def test_the_table_is_large_enough() -> None:
    assert len(CLI_CASES) + len(API_CASES) >= 60


# -- one-off cases: a dataset row with invalid text, links in a run folder, a model's context ---


def test_a_lone_surrogate_row_is_an_item_error_and_resume_works(tmp_path, capsys):
    """#25 item 6: one ``"\\ud800"`` in a row stopped the eval with a traceback on writing
    its result, and every --resume stopped on the same row."""
    rows = json.loads(Path(HOTPOT).read_text())[:3]
    rows[1] = {**rows[1], "question": "What \ud800 is this?"}
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(rows))  # json.dumps spells it as the escape \ud800
    out = tmp_path / "run"
    argv = ["eval", "hotpotqa", "--data", str(data), "--model", "scripted", "--out", str(out)]
    for extra in ([], ["--resume"], ["--resume", "--retry-errors"]):
        got, _, err = _run_cli([*argv, *extra, "--quiet"], capsys)
        assert got == 0 and "Traceback" not in err, err
        written = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        errors = [r["error"] for r in written if r["error"]]
        assert len({r["id"] for r in written}) == 3
        assert errors and all("invalid Unicode (a lone surrogate" in e for e in errors), errors
        assert all("in question" in e for e in errors)


@pytest.mark.parametrize("link", [".lock", "results.jsonl", "traces", "traces-inside"])
def test_links_in_a_run_folder_are_refused_on_resume(tmp_path, capsys, link):
    """#25 item 8: a .lock link truncated its target, a results.jsonl link appended to it, a
    traces link wrote into another folder."""
    out, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim.txt"
    victim.write_text("keep me\n")
    argv = ["eval", "hotpotqa", "--data", HOTPOT, "--limit", "1", "--model", "scripted",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert _run_cli(argv, capsys)[0] == 0
    if link == "traces-inside":
        inner = next((out / "traces").rglob("*.json"))
        inner.unlink()
        inner.symlink_to(victim)
    elif link == "traces":
        import shutil

        shutil.rmtree(out / "traces")
        (out / "traces").symlink_to(elsewhere, target_is_directory=True)
    else:
        (out / link).unlink()
        (out / link).symlink_to(victim)
    got, _, err = _run_cli([*argv[:5], "2", *argv[6:], "--resume"], capsys)
    assert got == 2, err
    assert re.match(r"agot: error: .* is a symbolic link: a run writes through nothing", err), err
    assert err.count("\n") == 1
    assert victim.read_text() == "keep me\n" and sorted(os.listdir(elsewhere)) == ["victim.txt"]


@pytest.mark.parametrize(("spec", "calls"), [("3", 3), ("calls=2", 2), ("tokens=1", 1)])
def test_budget_per_item_caps_every_strategy_alike(tmp_path, capsys, spec, calls):
    """#29: --budget-per-item is the matched budget of a comparison (calls by default)."""
    out = tmp_path / "run"
    argv = ["eval", "hotpotqa", "--data", HOTPOT, "--limit", "2", "--model", "scripted",
            "--strategy", "sc,cot", "--out", str(out), "--quiet", "--budget-per-item", spec]  # fmt: skip
    assert _run_cli(argv, capsys)[0] == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    sc = [row for row in rows if row["strategy"] == "sc"]
    assert len(sc) == 2 and all(row["usage"]["calls"] == calls for row in sc)
    assert all(row["stopped"] and not row["error"] for row in sc)  # stopped, and answered


def test_view_export_shows_extreme_numbers_and_skips_a_fifo(tmp_path, capsys):
    """#25 item 11: a latency of -1e300 and a score of 1e308 in a results row, and a FIFO
    among a run's files (which a plain read would block on forever), still export."""
    out = tmp_path / "run"
    argv = ["eval", "hotpotqa", "--data", HOTPOT, "--limit", "2", "--model", "scripted",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert _run_cli(argv, capsys)[0] == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    rows[0]["latency_s"] = -1e300
    rows[1]["scores"] = {name: 1e308 for name in rows[1]["scores"]}
    (out / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    os.mkfifo(out / "traces" / "stuck.json")
    os.mkfifo(out / "notes.jsonl")
    page = tmp_path / "export.html"
    got, _, err = _run_cli(["view", str(out), "--export", str(page)], capsys)
    assert got == 0 and "Traceback" not in err, err
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size > 1000
    assert "-1e+300 s" in text and "1e+308" in text  # shown short, in e-notation
    assert not re.search(r"\d{30}", text)  # never as 300 digits (table, plot axes)


def test_n_ctx_above_the_models_trained_context_is_refused(tmp_path):
    """#25 item 7: -M n_ctx=1000000000 on a model trained for 8,192 allocated gigabytes."""
    gguf = pytest.importorskip("gguf")
    pytest.importorskip("llama_cpp")
    from agot.dispatcher import Dispatcher
    from agot.errors import ConfigError

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(512)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ConfigError, match=r"^n_ctx=4096 is above the 512 tokens tiny\.gguf was "
                       r"trained for: pass -M n_ctx=512 or less$"):  # fmt: skip
        Dispatcher(f"llamacpp/{path}", n_ctx=4096)


def test_the_extra_keys_table_names_what_each_backend_reads():
    """-M refuses keys outside EXTRA_KEYS, so the table must list every key a backend reads."""
    from agot.backends.registry import EXTRA_KEYS
    from agot.backends.transformers_engine import TransformersSettings

    assert set(EXTRA_KEYS["transformers"]) == set(TransformersSettings.model_fields)
    assert EXTRA_KEYS["local"] == EXTRA_KEYS["llamacpp"]
    sources = {
        "litellm": ["backends/litellm_backend.py", "backends/openai_http.py",
                    "backends/registry.py"],
        "llamacpp": ["backends/llamacpp.py"],
    }  # fmt: skip
    root = Path(__file__).parent.parent
    for prefix, files in sources.items():
        text = "".join((root / f).read_text() for f in files)
        read = set(re.findall(r"extra\.get\(\"(\w+)\"", text))
        assert read <= set(EXTRA_KEYS[prefix]), (prefix, read - set(EXTRA_KEYS[prefix]))
