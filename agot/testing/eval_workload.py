"""The ``agot eval`` workload shared by the run-folder tests, the eval tests and the benchmarks.

A HotpotQA-layout file of trivial questions (every answer is "Corvin City", so a scripted or
stub model answers them all right) and the command line that puts a data file through
``agot eval hotpotqa``. Keeping both here means a test and a benchmark that claim to run the
same workload really do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: ``agot`` as a subprocess, for runs a test kills or a benchmark times whole.
AGOT = [sys.executable, "-m", "agot.cli"]


def write_city_items(
    path: Path, items: int, *, question: str = "Which city is item {i} about?"
) -> Path:
    """Write ``items`` HotpotQA rows to ``path`` (its folder made as needed), each asking
    ``question`` (``{i}`` is the item's number) about a one-sentence context naming the city."""
    rows = [
        {
            "_id": f"h{i:03d}",
            "question": question.format(i=i),
            "answer": "Corvin City",
            "supporting_facts": [],
            "context": [[f"Item {i}", [f"Item {i} is about Corvin City."]]],
            "type": "bridge",
            "level": "easy",
        }
        for i in range(items)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def eval_argv(
    data: Path,
    model: str,
    out: Path,
    *more: str,
    strategy: str = "direct",
    traces: bool = False,
) -> list[str]:
    """Arguments for a quiet ``agot eval hotpotqa`` of ``data`` by ``model`` into ``out``, then
    ``more``. Traces are off unless asked for: most checks read only the result rows."""
    argv = ["eval", "hotpotqa", "--data", str(data), "--strategy", strategy, "--model", model,
            "--out", str(out), "--quiet"]  # fmt: skip
    return [*argv, *([] if traces else ["--no-traces"]), *more]
