"""The README's test command (what ``.ci/run`` runs): named steps that together run every test.

The tests run in three ``pytest -m`` steps: fast, ``slow``, and ``local_model`` last (a native
crash of the embedded model then fails that step alone). Whatever markers a test carries, exactly
one step must select it, or a test would silently never run in CI (or run twice). ``.ci/step``
names each step with its time and exit status, and passes a pytest step that selects nothing.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

ROOT = Path(__file__).resolve().parent.parent
STEP = ROOT / ".ci" / "step"
#: The markers that choose a test's step.
STEP_MARKERS = ("slow", "local_model")
#: The step table of the .ci/run this session runs under, if any (as it was at import).
_RUN_TABLE = os.environ.get("CI_STEPS")


def readme_test_command() -> list[list[str]]:
    """The lines of the README block that ``.ci/run`` extracts, split as bash would."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- test-command -->\n```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no test-command block"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


def test_every_line_is_a_named_step() -> None:
    lines = readme_test_command()
    assert all(words[0] == ".ci/step" and len(words) >= 3 for words in lines)
    names = [words[1] for words in lines]
    assert len(set(names)) == len(names)
    assert names[-1] == "local-model-tests"  # the real model's tests run last


def test_the_pytest_steps_select_each_test_exactly_once() -> None:
    expressions = [
        Expression.compile(args[args.index("-m") + 1])
        for words in readme_test_command()
        if "pytest" in words
        for args in [words[words.index("pytest") :]]
    ]
    assert len(expressions) == 3
    for marks in itertools.product((False, True), repeat=len(STEP_MARKERS)):
        carried = {name for name, on in zip(STEP_MARKERS, marks, strict=True) if on}
        chosen = [e.evaluate(carried.__contains__) for e in expressions]
        assert sum(chosen) == 1, f"a test marked {sorted(carried)} runs in {sum(chosen)} steps"


def test_the_step_markers_are_declared() -> None:
    declared = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert all(f'"{name}: ' in declared for name in STEP_MARKERS)


def step(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a demo step; under .ci/run it must not add rows to the real run's step table, so
    CI_STEPS reaches it only when a test set it (monkeypatch) to a file of its own."""
    env = dict(os.environ)
    if env.get("CI_STEPS") == _RUN_TABLE:
        del env["CI_STEPS"]
    return subprocess.run(
        [str(STEP), "demo", *command], capture_output=True, text=True, timeout=60, env=env
    )


def test_a_step_prints_its_name_status_and_time(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "steps.tsv"
    monkeypatch.setenv("CI_STEPS", str(log))
    done = step("true")
    assert done.returncode == 0
    assert re.search(r"^ci step demo: ok in \d+ s$", done.stdout, re.M)
    failed = step("bash", "-c", "exit 3")
    assert failed.returncode == 3 and "ci step demo: FAILED (exit 3) in" in failed.stdout
    crashed = step("bash", "-c", "kill -SEGV $$")
    assert crashed.returncode == 139 and "FAILED (exit 139, SIGSEGV)" in crashed.stdout
    rows = [line.split("\t") for line in log.read_text().splitlines()]
    assert [row[:2] for row in rows] == [
        ["demo", "ok"],
        ["demo", "FAILED (exit 3)"],
        ["demo", "FAILED (exit 139, SIGSEGV)"],
    ]


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("exit 5  # pytest", 0),  # pytest's "no tests collected": an empty step passes
        ("exit 5", 5),  # any other command's 5 is a failure
    ],
)
def test_only_pytest_may_select_nothing(command: str, code: int) -> None:
    done = step("bash", "-c", command)
    assert done.returncode == code
