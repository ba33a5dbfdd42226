"""Reading an OpenAI-style streamed chat completion (server-sent events) into text deltas and
one final reply.

A streamed reply (``"stream": true``) is a series of ``data: {chunk}`` lines, each chunk
carrying ``choices[0].delta.content`` (a piece of the text), then one chunk with the
``finish_reason``, one with ``usage`` (asked for with ``stream_options.include_usage``), and
``data: [DONE]``. :class:`ChunkReader` turns the raw bytes into those pieces, whatever way the
network splits them, and keeps what the final :class:`~agot.types.BackendReply` needs. A stream
that ends without ``[DONE]`` and without a finish reason was cut (a dropped connection); a
chunk that is not JSON, or one that carries an ``error``, is a failed reply: the dispatcher
retries both like any transient failure.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

from agot.backends.openai_wire import mean_logprob


class StreamError(Exception):
    """The stream carried something that is not a chat-completion chunk (the reason)."""


class ChunkReader:
    """Feeds on a stream's bytes; :meth:`feed` returns the text deltas they complete."""

    def __init__(self) -> None:
        self._pending = b""
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.logprobs: list[Any] = []
        self.done = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def complete(self) -> bool:
        """Ended as a stream should: ``[DONE]`` or a finish reason was seen."""
        return self.done or self.finish_reason is not None

    def mean_logprob(self) -> float | None:
        return mean_logprob({"content": self.logprobs}) if self.logprobs else None

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        deltas: list[str] = []
        for raw in lines:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue  # blank separators, comments (": keep-alive"), event: names
            payload = line[5:].strip()
            if payload == b"[DONE]":
                self.done = True
                continue
            delta = self._chunk(payload)
            if delta:
                self.parts.append(delta)
                deltas.append(delta)
        return deltas

    def _chunk(self, payload: bytes) -> str:
        try:
            # pydantic-core's parser: a chunk a token, and it reads one in a quarter of the
            # time json.loads takes (1.2 vs 4.3 us), which adds up over a long reply.
            chunk = from_json(payload)
        except ValueError:
            raise StreamError("a streamed chunk is not JSON") from None
        if not isinstance(chunk, dict):
            raise StreamError("a streamed chunk is not a JSON object")
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise StreamError(f"the stream reported an error: {message}")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
            self.logprobs.extend(logprobs["content"])
        delta = choice.get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        return content if isinstance(content, str) else ""
