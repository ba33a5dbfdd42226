"""A task: the question plus whatever the setting supplies (context passages, choices)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from agot.types import require_text


class Task(BaseModel):
    """What a strategy solves. A bare string question becomes ``Task(question=...)``.

    ``context`` holds passages the setting provides (multi-hop QA); ``choices`` are shown as
    lettered options; ``answer_format`` is an instruction on how to state the final answer
    (e.g. ``"End with 'Answer: X' where X is A, B, C or D."``). ``verifier`` scores a
    candidate reply without the gold (``text -> score``, higher is better; best-of-N keeps the
    sample it scores highest, see :mod:`agot.strategies.verifier`); it is never serialised.
    """

    question: str
    context: str | None = None
    choices: list[str] | None = None
    answer_format: str | None = None
    id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    verifier: Callable[[str], float | bool | Awaitable[float | bool]] | None = Field(
        None, exclude=True, repr=False
    )

    @classmethod
    def coerce(cls, value: str | Task) -> Task:
        if isinstance(value, Task):
            require_text(value.question)
            return value
        return cls(question=require_text(value))

    def render(self) -> str:
        """The full problem statement shown to the model."""
        parts = []
        if self.context:
            parts.append(f"Context:\n{self.context.strip()}")
        parts.append(f"Question: {self.question.strip()}")
        if self.choices:
            letters = "ABCDEFGHIJ"
            parts.append("\n".join(f"({letters[i]}) {c}" for i, c in enumerate(self.choices)))
        if self.answer_format:
            parts.append(self.answer_format)
        return "\n\n".join(parts)
