"""Where simple-evals' choice extraction and agot's lenient reader disagree, on 40 replies.

Reads ``tests/fixtures/mc_replies/replies.json`` (invented replies with gold letters) and
prints how many extracted letters and how many scores differ between simple-evals'
first-match regex (agot's default ``mc`` scorer) and a second reader (agot's lenient
``mc_lenient`` by default). Run: ``.venv/bin/python benchmarks/bench_choice_extraction.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

REPLIES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mc_replies" / "replies.json"


def compare(other: Callable[[str], str | None], label: str) -> None:
    from agot.evals.scorers import simple_evals_choice

    items = json.loads(REPLIES.read_text())
    letters = scores = 0
    for item in items:
        a, b = simple_evals_choice(item["reply"]), other(item["reply"])
        letters += a != b
        scores += (a == item["gold"]) != (b == item["gold"])
    print(
        f"{label}: letter differs from simple-evals on {letters}/{len(items)} replies, "
        f"score on {scores}/{len(items)}"
    )


def main() -> None:
    from agot.evals.scorers import MultipleChoiceScorer, extract_choice

    default = MultipleChoiceScorer()
    compare(lambda text: default.extract(text, "ABCD"), "agot default (mc)")
    compare(extract_choice, "agot lenient (mc_lenient)")


if __name__ == "__main__":
    sys.exit(main())
