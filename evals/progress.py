"""The status line of an eval run: items done, running headline score, tokens, cost, ETA.

Kept apart from the runner so orchestration and display change independently; the line is
drawn by the core's :class:`agot.progress.Progress` (the eval library never imports the CLI).
"""

from __future__ import annotations

import shutil
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
        width: int | None = None,
    ) -> None:
        self.total, self.already, self.headline = total, already, headline
        self.done = self.errors = self.tokens = 0
        self.cost = 0.0
        self.sums: dict[str, list[float]] = {label: [0.0, 0.0] for label in labels}
        self.started = time.monotonic()
        #: The terminal's columns (None: not a terminal, so every line is written whole).
        self.width = width or (shutil.get_terminal_size().columns if stream.isatty() else None)
        self._progress = Progress(
            self.describe, stream=stream, enabled=enabled and total > already, width=width
        )

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
        """The widest form of the line that fits the terminal, so that tokens, cost and ETA
        stay in view at 80 columns however many strategies have scores: first the bar goes,
        then scores are abbreviated (``cot .412``), then only the best scores are shown with a
        count of the rest (``+2``). Off a terminal the line is always the full form."""
        forms = [self._line(bar=True, names=None, scores=None)]
        if self.width is not None:
            # What Progress puts before the line: a spinner frame and the [m:ss] clock.
            clock = clock_text(time.monotonic() - self._progress.started)
            room = self.width - len(f"[{clock}] ") - 2
            ranked = sorted(self._scores().items(), key=lambda kv: -kv[1])
            for keep in range(len(ranked), -1, -1):
                for names in (None, 6, 4):
                    for sep in (" | ", "|"):
                        shown = dict(ranked[:keep])
                        forms.append(self._line(bar=False, names=names, scores=shown, sep=sep))
            forms = [f for f in forms if len(f) <= room] or forms[-1:]
        return forms[0]

    def _scores(self) -> dict[str, float]:
        return {label: s / n for label, (s, n) in self.sums.items() if n}

    def _line(
        self,
        *,
        bar: bool,
        names: int | None,
        scores: dict[str, float] | None,
        sep: str = " | ",
    ) -> str:
        finished = self.already + self.done
        parts = [f"{finished}/{self.total}"]
        if bar:
            width = 20
            filled = int(width * finished / self.total) if self.total else width
            parts[0] = f"[{'#' * filled}{'.' * (width - filled)}] {parts[0]}"
        shown = self._scores() if scores is None else scores
        if shown:
            if names is None and scores is None:
                text = ", ".join(f"{label} {v:.3f}" for label, v in shown.items())
            else:
                text = " ".join(f"{label[:names]} {_short(v)}" for label, v in shown.items())
            hidden = len(self._scores()) - len(shown)
            parts.append(f"{self.headline} {text}" + (f" +{hidden}" if hidden else ""))
        elif self._scores():
            parts.append(f"{self.headline} +{len(self._scores())}")
        parts.append(f"{tokens_text(self.tokens)} tok")
        parts.append(f"${self.cost:.4f}" if bar else f"${self.cost:.4g}")
        if self.errors:
            parts.append(f"{self.errors} errors" if bar else f"{self.errors} err")
        elapsed = time.monotonic() - self.started
        remaining = self.total - finished
        if self.done and remaining:
            parts.append(f"ETA {clock_text(elapsed / self.done * remaining)}")
        return sep.join(parts)

    async def __aenter__(self) -> EvalProgress:
        await self._progress.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._progress.__aexit__(*exc)


def _short(score: float) -> str:
    """``.412`` for 0.412 (a score in [0, 1] needs no leading zero)."""
    text = f"{score:.3f}"
    return text[1:] if text.startswith("0.") else text
