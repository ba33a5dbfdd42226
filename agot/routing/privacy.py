"""Keeping the dataset's context passages on the local side (``keep_local="context"``).

A remote step gets the question and what local steps answered, never the passages: every
message sent to a remote model is scrubbed of the task's context, verbatim, as a whole and
sentence by sentence (whitespace-insensitive, since prompts re-flow text), so a passage quoted
inside a longer prompt is caught too. What local steps *wrote* in their answers is passed on as
written: that is the mode's declared boundary (a local model that copies a passage into its
answer shares that copy, paraphrase is not detected).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agot.types import GenerationRequest, Message

#: What a remote model sees in place of a withheld passage.
WITHHELD = "[context withheld: kept on the local side]"
#: Sentences shorter than this are not matched on their own (too common to be private).
MIN_SENTENCE_CHARS = 24

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class Redactor:
    """Removes the given passages (and each of their sentences) from message text."""

    def __init__(self, passages: Sequence[str], *, min_chars: int = MIN_SENTENCE_CHARS) -> None:
        pieces: set[str] = set()
        for passage in passages:
            passage = passage.strip()
            if not passage:
                continue
            pieces.add(passage)
            for part in re.split(r"\n\s*\n", passage):
                pieces.add(part.strip())
            for sentence in _SENTENCE_END.split(passage):
                if len(sentence.strip()) >= min_chars:
                    pieces.add(sentence.strip())
        pieces.discard("")
        # Longest first, so a whole passage is replaced once rather than sentence by sentence.
        ordered = sorted(pieces, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(r"\s+".join(map(re.escape, p.split())) for p in ordered))
            if ordered
            else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> tuple[str, int]:
        """``text`` with every passage replaced by :data:`WITHHELD`, and how many were."""
        if self._pattern is None:
            return text, 0
        out, count = self._pattern.subn(WITHHELD, text)
        # Adjacent sentences of one passage collapse into one marker.
        out = re.sub(rf"(?:{re.escape(WITHHELD)}\s*){{2,}}", WITHHELD + " ", out)
        return out, count

    def request(self, request: GenerationRequest) -> tuple[GenerationRequest, int]:
        """The request with its messages scrubbed, and the number of passages removed."""
        total = 0
        messages = []
        for message in request.messages:
            content, count = self.text(message.content)
            total += count
            messages.append(message if not count else Message(role=message.role, content=content))
        if not total:
            return request, 0
        return request.model_copy(update={"messages": tuple(messages)}), total
