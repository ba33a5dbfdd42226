"""The one record shape every dataset loader yields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
