"""ARCHITECTURE.md's worked examples (a backend, a strategy, a dataset, a scorer) run as
written, in order, in one namespace: the guide for extending agot cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "ARCHITECTURE.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_there_is_a_worked_example_for_each_extension_point() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in ("### A backend", "### A strategy", "### A dataset", "### A scorer"):
        assert heading in text
    assert len(_python_blocks()) == 4


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_worked_examples_run() -> None:
    namespace: dict[str, object] = {"__name__": "architecture_examples"}
    for block in _python_blocks():
        exec(compile(block, str(DOC), "exec"), namespace)  # each block asserts its own outcome
