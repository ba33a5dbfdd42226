"""``agot view --export``: time and size of the one-file export as a run grows.

Builds the viewer's test runs (agot.testing.view_runs: AGoT with a nested graph and CoT on the
HotpotQA fixture, scripted), then a run of N rows made by repeating their rows under new ids
(each row keeps its own trace file), and times ``export_html`` on it. Targets (issue #31):
a 10,000-item run in under 30 s and 20 MB. Run:
``.venv/bin/python benchmarks/bench_view_export.py [N ...]`` (default 200 2000).
Rows alternate AGoT and CoT as in the fixture run (one in two is an AGoT item of 22 calls).
Each size is exported twice in the same run: on one process, then on one per CPU core.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from agot.testing.view_runs import build_runs
from agot.view import export
from agot.view.data import Catalog
from agot.view.export import export_html

HOTPOT = (
    Path(__file__).resolve().parents[1] / "tests/fixtures/hotpotqa/hotpot_dev_distractor_v1.json"
)


def grow(source: Path, target: Path, rows: int) -> None:
    """A run folder at ``target`` with ``rows`` rows cycled from ``source``'s."""
    target.mkdir(parents=True)
    shutil.copy(source / "run.json", target / "run.json")
    base = [json.loads(line) for line in (source / "results.jsonl").read_text().splitlines()]
    lines = []
    for n in range(rows):
        row = dict(base[n % len(base)])
        row["id"] = f"{row['id']}-{n}"
        trace = Path(row["trace"])
        copy = trace.with_name(f"{trace.stem}-{n}.json")
        (target / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / trace, target / copy)
        row["trace"] = str(copy)
        lines.append(json.dumps(row))
    (target / "results.jsonl").write_text("\n".join(lines) + "\n")


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first, _, _ = asyncio.run(build_runs(root / "fixture", HOTPOT))
        for size in sizes:
            folder = root / f"grown-{size}" / "run"
            grow(first, folder, size)
            for mode, parallel_from in (("1 process", 10**9), ("processes", export.PARALLEL_FROM)):
                saved, export.PARALLEL_FROM = export.PARALLEL_FROM, parallel_from
                started = time.perf_counter()
                html = export_html(Catalog([folder]))
                took = time.perf_counter() - started
                export.PARALLEL_FROM = saved
                mb = len(html.encode("utf-8")) / 1e6
                print(
                    f"{size:>6} rows, {mode}: {took:7.1f} s, {mb:7.1f} MB "
                    f"({took / size * 1000:.1f} ms/row)",
                    flush=True,
                )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 2000])
