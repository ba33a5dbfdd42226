"""The final answer written as the model generates it: ``agot solve`` on a terminal, and the
final-text deltas of ``Strategy.stream`` (so it sits below both, beside :mod:`agot.streaming`).

The run's calls stream (:mod:`agot.streaming`); this sink watches the one call whose reply is
the answer (AGoT's top-level synthesis, role ``final`` on node ``final``; a single-call
strategy's ``answer``) and writes its text as it arrives. A structured reply (AGoT's
synthesis is ``{"reasoning": ..., "answer": ...}``) is read as it grows with pydantic-core's
partial JSON parser, and only its ``answer`` string is written. When a call is retried, what
was written is left and a new line starts. The status line on stderr stops at the first piece,
so the two never share a terminal row. Output that is not a terminal is unchanged: solve
prints the answer once, at the end.
"""

from __future__ import annotations

from typing import Any, TextIO

from agot.types import GenerationRequest

#: (role, node id) of the calls whose reply is the run's answer.
ANSWER_CALLS = {("final", "final"), ("answer", "answer")}


class AnswerEcho:
    """A :data:`agot.streaming.DeltaSink` writing the answer call's text to ``out``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.progress: Any = None
        self._text = ""
        self._shown = ""
        #: Everything written, across restarts.
        self.written = ""

    def __call__(self, request: GenerationRequest, piece: str | None) -> None:
        if (request.role, request.node_id) not in ANSWER_CALLS or request.sample_index:
            return
        if piece is None:  # a new attempt
            if self._shown:
                self._write("\n")
            self._text = self._shown = ""
            return
        self._text += piece
        visible = self._visible(request)
        if visible.startswith(self._shown) and len(visible) > len(self._shown):
            self._write(visible[len(self._shown) :])
            self._shown = visible

    def _visible(self, request: GenerationRequest) -> str:
        if request.output_schema is None:
            return self._text
        from pydantic_core import from_json

        try:
            data = from_json(self._text, allow_partial="trailing-strings")
        except ValueError:
            return ""
        answer = data.get("answer") if isinstance(data, dict) else None
        return answer if isinstance(answer, str) else ""

    def _write(self, text: str) -> None:
        if self.progress is not None and not self.written:
            self.progress.pause()  # the status line would overwrite the answer's row
        self.out.write(text)
        self.out.flush()
        self.written += text

    def finish(self, answer: str | None) -> str | None:
        """What solve still prints after the run: nothing more when the answer was written as
        it came (a line end), else the answer on a line of its own."""
        if not self.written:
            return answer
        if answer is not None and self.written.rstrip().endswith(answer.strip()):
            return ""
        return "" if answer is None else "\n" + answer
