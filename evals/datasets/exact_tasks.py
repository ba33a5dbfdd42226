"""The exact-verifier tasks (Game of 24, mini crosswords) as datasets of the registry.

An :class:`agot.evals.tasks.ExactTask` bundles its loader, answer format and verifier; this
module registers each one as a dataset whose scorer is the task's verifier.
"""

from __future__ import annotations

from pathlib import Path

from agot.evals.datasets import register_dataset
from agot.evals.records import EvalRecord
from agot.evals.scorers import ExactTaskScorer
from agot.evals.tasks import ExactTask
from agot.evals.tasks.crosswords import CROSSWORDS
from agot.evals.tasks.game24 import GAME24


def _register(task: ExactTask) -> None:
    def load(*, data: Path | None, split: str | None) -> list[EvalRecord]:
        return task.load(data, split=split)

    register_dataset(
        task.name,
        load,
        scorers=(ExactTaskScorer(task),),
        default_split=task.default_split,
        answer_format=task.answer_format,
        description=task.description,
    )


for _task in (GAME24, CROSSWORDS):
    _register(_task)
