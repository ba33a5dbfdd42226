"""The command line behaves the same way in every subcommand: ``python -m agot``, ``--json``
everywhere it is offered, one meaning of ``--concurrency``, ``-M key=value``, named models with
their own endpoint, ``--no-store-text``, and answers without JSON debris."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agot.answers import strip_json_debris
from agot.cli import build_parser, main
from agot.cli.eval import build_config
from agot.cli.models import parse_model_args, parse_model_list
from agot.errors import ConfigError
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

HOTPOT = Path(__file__).parent / "fixtures" / "hotpotqa" / "hotpot_dev_distractor_v1.json"


def test_python_dash_m_agot_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "agot", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("agot ")


def test_eval_list_honours_json(capsys):
    assert main(["eval", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    gpqa = next(d for d in listing if d["name"] == "gpqa")
    assert "diamond" in gpqa["subsets"] and gpqa["description"]
    assert {d["name"] for d in listing} >= {"hotpotqa", "game24", "sst5"}


def _eval_args(*extra: str):
    return build_parser().parse_args(["eval", "hotpotqa", "--out", "unused", *extra])


def test_concurrency_means_model_calls_in_flight_in_eval_too():
    config = build_config(_eval_args("--concurrency", "12"))
    assert config.limits.max_concurrency == 12 and config.concurrency == 12
    config = build_config(_eval_args("--concurrency", "12", "--items-in-flight", "3"))
    assert config.limits.max_concurrency == 12 and config.concurrency == 3
    config = build_config(_eval_args("--calls-in-flight", "5"))  # the older spelling
    assert config.limits.max_concurrency == 5
    assert build_config(_eval_args()).concurrency == 8 and build_config(_eval_args()).limits is None
    solve = build_parser().parse_args(["solve", "q", "--concurrency", "4"])
    assert solve.concurrency == 4


def test_eval_rejects_non_positive_concurrency(capsys):
    assert main(["eval", "hotpotqa", "--items-in-flight", "0"]) == 2
    assert "--items-in-flight must be at least 1" in capsys.readouterr().err


def test_model_args_and_named_models_with_their_own_endpoints():
    assert parse_model_args(["n_ctx=4096", "native_schema=false", "device=cuda:1"]) == {
        "n_ctx": 4096,
        "device": "cuda:1",
        "extra": {"native_schema": False},
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_model_args(["n_ctx"])
    with pytest.raises(ConfigError, match="environment variable"):
        parse_model_args(["api_key=sk-x"])
    specs = parse_model_list("a=openai/x@http://h1:8000/v1,b=openai/x@http://h2:8000/v1,local")
    assert [(s.name, s.model, s.api_base) for s in specs] == [
        ("a", "openai/x", "http://h1:8000/v1"),
        ("b", "openai/x", "http://h2:8000/v1"),
        ("local", "local", None),
    ]
    with pytest.raises(ConfigError, match="more than once"):
        parse_model_list("a=local,a=scripted")
    config = build_config(
        _eval_args("--model", "a=openai/x@http://h1:8000/v1,local", "-M", "n_ctx=2048")
    )
    assert config.models == ["a", "local"]
    assert config.model_options == {
        "a": {"model": "openai/x", "api_base": "http://h1:8000/v1", "n_ctx": 2048},
        "local": {"n_ctx": 2048},
    }


def test_solve_sends_to_the_models_own_endpoint(capsys):
    with OpenAIStubServer(StubResponse.chat("Answer: 4")) as stub:
        code = main(
            [
                "solve",
                "What is 2 + 2?",
                "--strategy",
                "direct",
                "--model",
                f"mine=openai/stub-model@{stub.base_url}",
                "--quiet",
                "--json",
            ]
        )
        assert code == 0
        assert json.loads(capsys.readouterr().out)["answer"] == "4"
        assert len(stub.chat_requests) == 1


def test_eval_names_rows_by_model_name_and_reaches_each_endpoint(tmp_path, capsys):
    from agot.evals.run_folder import RunFolder
    from agot.testing.eval_workload import eval_argv

    with OpenAIStubServer(StubResponse.chat("Answer: no")) as one:
        with OpenAIStubServer(StubResponse.chat("Answer: yes")) as two:
            spec = f"a=openai/stub@{one.base_url},b=openai/stub@{two.base_url}"
            code = main(eval_argv(HOTPOT, spec, tmp_path / "run", "--limit", "2", traces=True))
            assert code == 0, capsys.readouterr().err
            assert len(one.chat_requests) == 2 and len(two.chat_requests) == 2
    rows = RunFolder(tmp_path / "run").rows()
    assert sorted({(r.model, r.prediction) for r in rows}) == [("a", "no"), ("b", "yes")]


def test_no_store_text_keeps_counts_but_not_text(tmp_path, capsys):
    trace = tmp_path / "t.json"
    args = ["solve", "q", "--strategy", "cot", "--model", "scripted", "--quiet"]
    assert main([*args, "--trace", str(trace), "--no-store-text"]) == 0
    events = json.loads(trace.read_text())["events"]
    assert events and all(e["messages"] is None and e["completion"] is None for e in events)
    assert main([*args, "--trace", str(trace)]) == 0
    events = json.loads(trace.read_text())["events"]
    assert events[0]["messages"] and "q" in events[0]["messages"][-1]["content"]
    assert events[0]["completion"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("} 8", "8"),
        ('"8"}', "8"),
        ('{"answer": "8"}', "8"),
        (', "Paris"', "Paris"),
        ("42]", "42"),
        ("[1, 2]", "[1, 2]"),
        ("f(x) = {a}", "f(x) = {a}"),
        ('{"a": 1, "b": 2}', '{"a": 1, "b": 2}'),
        ("}", "}"),
        ("B", "B"),
    ],
)
def test_json_debris_is_stripped_from_text_answers(raw, clean):
    assert strip_json_debris(raw) == clean


def test_a_solved_answer_comes_back_without_debris():
    import agot
    from agot.backends import ScriptedBackend

    result = agot.solve("q", strategy="direct", model=ScriptedBackend({"*": "Answer: } 8"}))
    assert result.answer == "8"
