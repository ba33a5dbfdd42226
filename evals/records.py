"""The one record shape every dataset loader yields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agot.task import Task


class EvalRecord(BaseModel):
    """One dataset item.

    ``id`` is the dataset's own id. ``gold`` is the reference answer (a choice letter for
    multiple choice, a label for classification, the answer string for QA; a list/dict where
    the dataset has several acceptable forms). ``choices`` holds the options in the order shown
    to the model (already shuffled with the recorded seed); ``context`` the passages the setting
    provides, rendered as text. ``metadata`` keeps everything else the dataset carries (gold
    decompositions, supporting facts, difficulty, ...).
    """

    id: str
    dataset: str
    question: str
    gold: Any
    choices: list[str] | None = None
    context: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_task(self, answer_format: str | None = None) -> Task:
        """The Task a strategy solves for this item: what the model is shown (question,
        passages, options) plus the dataset's ``answer_format``; never the gold."""
        return Task(
            question=self.question,
            context=self.context,
            choices=self.choices,
            answer_format=answer_format,
            id=self.id,
        )
