"""Every Python block of the README runs as written, as a script: each on the scripted model
here (fast: the embedded model is swapped for canned replies, the code is otherwise the
README's), and each verbatim on the embedded model in under a minute (``local_model``)."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
#: A minute per block on the embedded model on 2 CPU cores, as the README promises, measured
#: as the script's CPU time (llama.cpp decodes on both cores: 2 x 60 s), which unlike wall time
#: does not grow when other work shares the machine.
LOCAL_CPU_BUDGET_S = 120.0


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _needs(code: str) -> list[str]:
    """Optional modules a block imports (it is skipped where they are missing)."""
    return ["ray"] if "RayExecutor" in code else []


def _run(code: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    script = cwd / "example.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def _on_scripted(code: str, cwd: Path) -> str:
    return code.replace('"local"', '"scripted"').replace("~/.cache/agot", str(cwd / "cache"))


def test_the_readme_has_its_python_blocks():
    blocks = _blocks()
    assert len(blocks) >= 4
    for code in blocks:
        compile(code, "README.md", "exec")  # a script: no top-level await
        assert "await " not in code or "asyncio.run(" in code
        # each block names its model, so it runs with no key and no setup
        assert '"local"' in code


@pytest.mark.parametrize("number", range(len(_blocks())))
def test_each_readme_block_runs_on_the_scripted_model(number, tmp_path):
    code = _blocks()[number]
    for module in _needs(code):
        pytest.importorskip(module)
    done = _run(_on_scripted(code, tmp_path), tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "each block prints what it shows"


def test_async_example_prints_an_answer_then_the_batch(tmp_path):
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- async-example -->\n```python\n(.*?)```", text, re.S)
    assert found, "no python block after <!-- async-example --> in README.md"
    done = _run(_on_scripted(found.group(1), tmp_path), tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("[")


def test_the_graph_example_saves_its_picture(tmp_path):
    code = next(b for b in _blocks() if "g.save(" in b)
    done = _run(_on_scripted(code, tmp_path), tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<")


@pytest.mark.local_model
@pytest.mark.parametrize("number", range(len(_blocks())))
def test_each_readme_block_runs_as_written_on_the_embedded_model(number, tmp_path, smol_gguf):
    code = _blocks()[number]
    for module in _needs(code):
        pytest.importorskip(module)
    code = code.replace("~/.cache/agot", str(tmp_path / "cache"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = _run(code, tmp_path, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert done.returncode == 0, done.stderr[-3000:]
    took = f"{cpu:.0f} s CPU, {time.monotonic() - start:.0f} s wall"
    assert cpu < LOCAL_CPU_BUDGET_S, f"block {number} took {took}"
