"""The native-kernel check of the embedded model (``agot.backends.llamacpp_check``).

A native llama.cpp build can die with SIGSEGV on CPUs that list AVX-512/AMX without allowing
them. These tests run real child processes that really die by a signal, so the verdict logic,
its cache and the one-line error are exercised as a crash would exercise them; the first test
runs the real embedded model's multi-token prompt in a child and names the signal if it dies.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agot.backends import llamacpp_check
from agot.backends.llamacpp_check import (
    PORTABLE_REBUILD,
    ChildOutcome,
    native_kernel_verdict,
    safe_load_kwargs,
)
from agot.errors import ConfigError
from agot.testing.local_model import HAVE_LOCAL, NEEDS_LOCAL


@pytest.mark.local_model
@pytest.mark.skipif(not HAVE_LOCAL, reason=NEEDS_LOCAL)
def test_the_embedded_model_runs_a_multi_token_prompt_in_a_child_process():
    """The crash the issue measured, asked directly: a native build that dies on this CPU fails
    this test with the signal's name instead of taking the test session down."""
    from agot.backends.llamacpp import default_model_path

    kwargs = {"model_path": default_model_path(), "n_threads": 2, "n_gpu_layers": 0}
    outcome = llamacpp_check.run_child({**kwargs, "n_ctx": 256, "verbose": False})
    assert outcome.returncode == 0, (
        f"the embedded model died in a child process with {outcome.describe()}: "
        f"{outcome.stderr_tail[-500:]}"
    )


def _crashing_runner(crash_when: str, calls: list[dict[str, Any]]):
    """A runner whose child process kills itself with SIGSEGV when ``crash_when`` holds:
    ``"always"``, or ``"extra-buffers"`` (only while the repacked layouts are on)."""
    code = (
        "import json, os, signal, sys\n"
        "k = json.loads(sys.argv[1])\n"
        f"if {crash_when!r} == 'always' or k.get('use_extra_bufts') is not False:\n"
        "    os.kill(os.getpid(), signal.SIGSEGV)\n"
    )

    def run(kwargs: dict[str, Any]) -> ChildOutcome:
        calls.append(kwargs)
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(kwargs)], capture_output=True, text=True
        )
        return ChildOutcome(done.returncode, done.stderr)

    return run


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF stand-in: the runners here never read it")
    return path


def test_a_crash_in_the_repacked_layouts_loads_without_them_and_is_remembered(model_file, tmp_path):
    calls: list[dict[str, Any]] = []
    cache = tmp_path / "cache" / "check.json"
    runner = _crashing_runner("extra-buffers", calls)
    kwargs = {"model_path": str(model_file), "n_ctx": 8192}

    verdict, reason = native_kernel_verdict(model_file, kwargs, cache_file=cache, runner=runner)
    assert verdict == "no-extra-buffers"
    assert "SIGSEGV" in reason
    assert [c.get("use_extra_bufts") for c in calls] == [None, False]
    assert all(c["n_ctx"] == 256 for c in calls), "the check runs on a small context"

    again = native_kernel_verdict(model_file, kwargs, cache_file=cache, runner=runner)
    assert again == (verdict, reason)
    assert len(calls) == 2, "a cached verdict starts no child process"


def test_a_crash_everywhere_is_one_config_error_naming_the_signal_and_the_rebuild(
    model_file, tmp_path, monkeypatch
):
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("AGOT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(llamacpp_check, "run_child", _crashing_runner("always", calls))
    with pytest.raises(ConfigError) as info:
        safe_load_kwargs(model_file, {"model_path": str(model_file), "n_gpu_layers": 0})
    message = str(info.value)
    assert "\n" not in message
    assert "SIGSEGV" in message and "cannot run on this CPU" in message
    assert PORTABLE_REBUILD in message and "-DGGML_NATIVE=OFF" in message
    assert len(calls) == 2
    # The verdict is cached: the next load refuses at once, with the same line.
    with pytest.raises(ConfigError, match="SIGSEGV"):
        safe_load_kwargs(model_file, {"model_path": str(model_file), "n_gpu_layers": 0})
    assert len(calls) == 2


def test_the_fallback_kwargs_turn_the_extra_buffers_off(model_file, tmp_path, monkeypatch):
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("AGOT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(llamacpp_check, "run_child", _crashing_runner("extra-buffers", calls))
    kwargs = safe_load_kwargs(model_file, {"model_path": str(model_file), "n_ctx": 8192})
    assert kwargs == {"model_path": str(model_file), "n_ctx": 8192, "use_extra_bufts": False}


def test_an_ordinary_error_in_the_child_is_no_verdict(model_file, tmp_path):
    """A bad model file or a missing library fails the child with exit 1: the real load then
    reports its own error, and nothing is cached against the kernels."""
    cache = tmp_path / "check.json"
    seen: list[int] = []

    def runner(kwargs: dict[str, Any]) -> ChildOutcome:
        seen.append(1)
        return ChildOutcome(1, "ValueError: failed to load model\n")

    assert native_kernel_verdict(model_file, {}, cache_file=cache, runner=runner)[0] == "native"
    assert not cache.exists()
    native_kernel_verdict(model_file, {}, cache_file=cache, runner=runner)
    assert len(seen) == 2


def test_a_changed_build_or_model_is_checked_again(model_file, tmp_path):
    calls: list[dict[str, Any]] = []
    cache = tmp_path / "check.json"
    runner = _crashing_runner("extra-buffers", calls)
    native_kernel_verdict(model_file, {}, cache_file=cache, runner=runner)
    model_file.write_bytes(b"another model, another size")
    native_kernel_verdict(model_file, {}, cache_file=cache, runner=runner)
    assert len(calls) == 4
    assert len(json.loads(cache.read_text())["verdicts"]) == 2


def test_the_check_can_be_switched_off_and_skips_gpu_offload(model_file, monkeypatch):
    def refuse(kwargs: dict[str, Any]) -> ChildOutcome:
        raise AssertionError("no child process should start")

    monkeypatch.setattr(llamacpp_check, "run_child", refuse)
    assert safe_load_kwargs(model_file, {"n_gpu_layers": -1}) == {"n_gpu_layers": -1}
    monkeypatch.setenv("AGOT_LLAMACPP_CHECK", "0")
    assert safe_load_kwargs(model_file, {"n_gpu_layers": 0}) == {"n_gpu_layers": 0}


def test_a_signal_is_described_by_its_name():
    assert ChildOutcome(-int(signal.SIGSEGV)).describe() == "SIGSEGV"
    assert ChildOutcome(-int(signal.SIGILL)).describe() == "SIGILL"
    assert ChildOutcome(1, "boom\nValueError: bad\n").describe() == "exit code 1 (ValueError: bad)"


@pytest.mark.skipif(not HAVE_LOCAL, reason=NEEDS_LOCAL)
def test_agot_solve_on_a_crashing_build_prints_one_error_line(tmp_path, monkeypatch, capsys):
    """The command a new user runs first: on a CPU where the build dies, one ``agot: error:``
    line naming the cause and the remedy, exit 2, instead of a silent segmentation fault."""
    from agot.cli import main

    monkeypatch.setenv("AGOT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(llamacpp_check, "run_child", _crashing_runner("always", []))
    code = main(["solve", "What is 2 + 2?", "--strategy", "direct", "--model", "local"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("agot: error: ")]
    assert code == 2
    assert len(errors) == 1 and "Traceback" not in err
    assert "SIGSEGV" in errors[0] and "GGML_NATIVE=OFF" in errors[0]
