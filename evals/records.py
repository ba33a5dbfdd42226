"""The one record shape every dataset loader yields."""

from __future__ import annotations

import re
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_invalid_text(record: EvalRecord) -> tuple[EvalRecord, list[str]]:
    """``record`` with lone surrogates (``"\\ud800"``, text no UTF-8 file can hold) replaced by
    U+FFFD, and the fields that held them (empty: the record was valid).

    JSON lets a dataset row spell a lone surrogate, and Python reads it into a ``str``, but it
    cannot be written back: one such row used to stop an eval with a serialisation traceback
    when its result was written, and every ``--resume`` stopped on the same row. The runner
    records such an item as an error instead (the model never sees it), with valid text in the
    row so the run folder stays readable.
    """
    found: list[str] = []

    def walk(value: Any, where: str) -> Any:
        if isinstance(value, str):
            if _SURROGATE.search(value):
                found.append(where)
                return _SURROGATE.sub("\ufffd", value)
            return value
        if isinstance(value, dict):
            return {walk(k, where): walk(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    data = {name: walk(value, name) for name, value in record.model_dump().items()}
    if not found:
        return record, []
    return EvalRecord.model_validate(data), sorted(set(found))
