"""Explorative tasks with exact verifiers: Game of 24 and 5x5 mini crosswords.

These are the AGoT paper's explorative benchmarks (taken from Tree of Thoughts). Unlike QA, a
prediction is checked exactly rather than compared with a gold string, so each task bundles
its loader, the instruction the model gets (``answer_format``), and a scorer that reads the
model's raw text and returns metric values plus the reason for any zero.

An :class:`ExactTask` is used like this (the dataset registry wraps each one the same way)::

    spec = GAME24                                   # agot.evals.tasks.game24
    records = spec.load(path_or_None, split=None)   # list[EvalRecord]
    task = records[0].to_task(spec.answer_format)   # agot.task.Task for Strategy.solve
    score = spec.score(raw_text, records[0])        # TaskScore(scores, prediction, reason)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from agot.evals.records import EvalRecord


class TaskScore(BaseModel):
    """One scored prediction: metric name -> value (0..1), the parsed prediction, and why."""

    scores: dict[str, float]
    prediction: str | None = None
    reason: str = ""
    details: dict[str, object] = Field(default_factory=dict)


Loader = Callable[..., list[EvalRecord]]
#: Checks a model's raw answer text against a record (not a :class:`agot.evals.Scorer`: the
#: registry wraps a task's verifier in an ``ExactTaskScorer``).
Verifier = Callable[[str, EvalRecord], TaskScore]


@dataclass(frozen=True)
class ExactTask:
    """A dataset whose answers are verified exactly.

    ``metrics`` are the keys every :class:`TaskScore` carries; ``headline`` is the one a
    report shows first (ToT's headline: success rate for Game of 24, word accuracy for
    crosswords). ``load(path, split=...)`` reads a local file (or generates the data, when the
    task can), ``score(text, record)`` checks a model's raw answer text.
    """

    name: str
    description: str
    answer_format: str
    metrics: tuple[str, ...]
    headline: str
    default_split: str
    load: Loader
    score: Verifier


def resolve_data_file(path: str | Path, default_name: str, what: str) -> Path:
    """``path`` itself when it is a file, else ``path/default_name``; DatasetError if absent."""
    from agot.errors import DatasetError

    candidate = Path(path).expanduser()
    if candidate.is_dir():
        candidate = candidate / default_name
    if not candidate.is_file():
        raise DatasetError(
            f"{what} file {str(candidate)!r} not found: pass --data with the path to "
            f"{default_name} (or the folder holding it)"
        )
    return candidate


__all__ = [
    "ExactTask",
    "TaskScore",
    "resolve_data_file",
]
