"""What ``--help`` and the Python API tell a new user: defaults for every number they may
want to change, plain text (no reST markup), and options that mean the same in Python."""

from __future__ import annotations

import inspect
import re

import pytest
from pydantic import BaseModel

import agot
from agot.backends import ScriptedBackend
from agot.backends.scripted import LatencyModel
from agot.cli import build_parser
from agot.controller.bounds import DEFAULT_MAX_THOUGHTS, Bounds


def _help(*command: str) -> str:
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # the subcommand parsers
        if command[0] in action.choices:
            return action.choices[command[0]].format_help()
    raise AssertionError(command)


def _flag_help(text: str, flag: str) -> str:
    """The help of ``flag``: its lines up to the next option."""
    start = re.search(rf"^  {re.escape(flag)}[\s,]", text, re.M)
    assert start, f"no {flag} in the help"
    rest = text[start.start() + 2 :]
    end = rest.find("\n  -")
    return " ".join((rest if end < 0 else rest[:end]).split())


@pytest.mark.parametrize("command", ["solve", "eval"])
def test_numbers_a_user_may_change_name_their_defaults(command):
    text = _help(command)
    shape = Bounds()
    n = inspect.signature(agot.SelfConsistency.__init__).parameters["n"].default
    assert f"(default {shape.max_depth})" in _flag_help(text, "--max-depth D")
    assert f"(default {shape.max_layers})" in _flag_help(text, "--max-layers L")
    assert f"(default {shape.max_nodes})" in _flag_help(text, "--max-nodes N")
    assert f"(default {n})" in _flag_help(text, "--samples N")
    assert "default" in _flag_help(text, "--concurrency C")
    assert "default" in _flag_help(text, "--temperature TEMPERATURE")
    if command == "solve":
        assert f"(default {DEFAULT_MAX_THOUGHTS})" in _flag_help(text, "--max-thoughts T")


def test_show_format_is_explained():
    help_text = _flag_help(_help("show"), "--format {text,mermaid,dot,svg}")
    assert all(word in help_text for word in ("text", "mermaid", "dot", "svg", "default"))


@pytest.mark.parametrize("command", ["solve", "eval", "show", "classify", "report", "view"])
def test_help_is_plain_text(command):
    text = _help(command)
    assert "``" not in text and ":class:" not in text and ":mod:" not in text


def test_timeout_is_a_python_option_as_on_the_command_line():
    slow = ScriptedBackend({"*": "Answer: 4"}, latency=LatencyModel(fixed_s=5.0))
    with pytest.raises(agot.RunFailedError) as failed:
        agot.solve("What is 2 + 2?", strategy="cot", model=slow, timeout=0.2)
    assert "no reply within 0.2 s" in str(failed.value)
    quick = agot.solve("What is 2 + 2?", strategy="cot", model="scripted", timeout=30)
    assert quick.answer is not None
    with pytest.raises(agot.ConfigError, match="timeout_s"):
        agot.solve("q", strategy="cot", model="scripted", timeout=-1)


def test_an_option_a_strategy_does_not_take_is_a_config_error():
    class Reply(BaseModel):
        answer: str

    with pytest.raises(agot.ConfigError, match=r"CoT does not take 'final_schema': it takes .*"):
        agot.CoT(final_schema=Reply)
    with pytest.raises(agot.ConfigError, match=r"SelfConsistency does not take 'depth'.*\bn\b"):
        agot.SelfConsistency(3, depth=2)
    assert agot.AGoT(final_schema=Reply).name == "agot"  # the strategy that takes it
