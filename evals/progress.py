"""The status line of an eval run: items done, running headline score, tokens, cost, ETA.

Kept apart from the runner so orchestration and display change independently; the line is
drawn by the core's :class:`agot.progress.Progress` (the eval library never imports the CLI).
"""

from __future__ import annotations

import time
from typing import TextIO

from agot.evals.run_folder import ResultRow
from agot.evals.scorers.metrics import item_score
from agot.progress import Progress, clock_text, tokens_text


class EvalProgress:
    """Counts finished units and renders the status line (via :class:`agot.progress.Progress`)."""

    def __init__(
        self,
        *,
        total: int,
        already: int,
        headline: str,
        labels: list[str],
        stream: TextIO,
        enabled: bool,
    ) -> None:
        self.total, self.already, self.headline = total, already, headline
        self.done = self.errors = self.tokens = 0
        self.cost = 0.0
        self.sums: dict[str, list[float]] = {label: [0.0, 0.0] for label in labels}
        self.started = time.monotonic()
        self._progress = Progress(self.describe, stream=stream, enabled=enabled and total > already)

    def add(self, row: ResultRow) -> None:
        self.done += 1
        self.errors += bool(row.error)
        self.tokens += row.usage.total_tokens
        self.cost += row.usage.cost
        score = item_score(row.scores, row.error, self.headline)
        if score is not None:
            acc = self.sums.setdefault(row.strategy, [0.0, 0.0])
            acc[0] += score
            acc[1] += 1

    def describe(self) -> str:
        finished = self.already + self.done
        width = 20
        filled = int(width * finished / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        parts = [f"[{bar}] {finished}/{self.total}"]
        scores = [f"{label} {s / n:.3f}" for label, (s, n) in self.sums.items() if n]
        if scores:
            parts.append(f"{self.headline} " + ", ".join(scores))
        parts.append(f"{tokens_text(self.tokens)} tok")
        parts.append(f"${self.cost:.4f}")
        if self.errors:
            parts.append(f"{self.errors} errors")
        elapsed = time.monotonic() - self.started
        remaining = self.total - finished
        if self.done and remaining:
            parts.append(f"ETA {clock_text(elapsed / self.done * remaining)}")
        return " | ".join(parts)

    async def __aenter__(self) -> EvalProgress:
        await self._progress.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._progress.__aexit__(*exc)
