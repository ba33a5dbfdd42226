"""The verifier an eval hands its strategies for an item: the exact task's check, gold-free.

Best-of-N picks the sample its verifier scores highest (:mod:`agot.strategies.verifier`), so a
verifier must not see the gold: one that did would make best-of-N an oracle and the comparison
with the other strategies unfair. Game of 24's verifier needs only the expression, the puzzle's
numbers and 24, so the eval passes it on (run on the record with its gold removed). The
crosswords' scorer compares the grid with the gold, so crosswords get no task verifier and
best-of-N falls back to the model rating its samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agot.evals.records import EvalRecord

#: Exact tasks whose verifier decides without the gold answer.
GOLD_FREE_TASKS = frozenset({"game24"})


def task_verifier(scorers: tuple[Any, ...], record: EvalRecord) -> Callable[[str], float] | None:
    """``text -> headline score`` from the first exact-task scorer in ``scorers`` whose task is
    gold-free, or None."""
    from agot.evals.scorers import ExactTaskScorer

    exact = next(
        (s for s in scorers if isinstance(s, ExactTaskScorer) and s.task.name in GOLD_FREE_TASKS),
        None,
    )
    if exact is None:
        return None
    task, blind = exact.task, record.model_copy(update={"gold": None})

    def verify(text: str) -> float:
        return float(task.score(text, blind).scores[task.headline])

    return verify


__all__ = ["GOLD_FREE_TASKS", "task_verifier"]
