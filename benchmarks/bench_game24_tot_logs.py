"""Game of 24's default metric against Tree of Thoughts' own published scores.

The Tree of Thoughts repository (princeton-nlp/tree-of-thought-llm) ships the logs of its
Game of 24 runs (``logs/game24/*.json``): every GPT-4 output (``ys``) with the score its
``test_output`` gave it (``infos[i]["r"]``, or ``accs[i]`` in the standard-prompt log). This
script scores the same outputs with agot's reading of that rule (``success``) and with agot's
lenient reader (``success_lenient``) and counts where each agrees with the published score.

Run: ``python benchmarks/bench_game24_tot_logs.py 24.csv LOG.json [LOG.json ...]`` with the
repository's ``src/tot/data/24/24.csv`` (the puzzles, by ``idx``) and its logs.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from agot.evals.tasks.game24_tot import tot_verdict
from agot.evals.tasks.game24_verify import verify_answer


def compare(log_path: Path, puzzles: list[str]) -> None:
    log = json.loads(log_path.read_text(encoding="utf-8"))
    outputs = credited = official = lenient = 0
    for entry in log:
        numbers = puzzles[entry["idx"]].split()
        published = [i["r"] for i in entry["infos"]] if "infos" in entry else entry["accs"]
        for output, r in zip(entry["ys"], published, strict=True):
            outputs += 1
            credited += bool(r)
            official += tot_verdict(output, numbers).ok == bool(r)
            lenient += verify_answer(output, [int(n) for n in numbers]).ok == bool(r)
    print(
        f"{log_path.name}: {outputs} outputs, {credited} credited by ToT; agreeing with the "
        f"published score: success {official}/{outputs}, success_lenient {lenient}/{outputs}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="ToT's 24.csv")
    parser.add_argument("logs", type=Path, nargs="+", help="ToT's logs/game24/*.json")
    args = parser.parse_args()
    with args.csv.open(newline="", encoding="utf-8") as handle:
        puzzles = [row["Puzzles"] for row in csv.DictReader(handle)]
    for log_path in args.logs:
        compare(log_path, puzzles)


if __name__ == "__main__":
    main()
