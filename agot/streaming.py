"""A model call's reply as it is written: :class:`GenerationStream`, what
:meth:`agot.dispatcher.Dispatcher.stream` returns.

The call behind it is an ordinary ``Dispatcher.generate`` (the same limits, retries, budget,
cache and trace event); the dispatcher hands each piece of text a streaming backend writes to
the sink current in the call's task (:data:`delta_sink`), and this iterator gives them to the
caller as :class:`TextDelta` s. A call that is retried after some text was given starts over:
its next delta has ``restart`` set, meaning "discard what came before". Whatever happened, the
text given since the last restart ends up equal to the call's final reply (a backend that
cannot stream, a cached reply or a hedge's other copy gives it as one last delta), so a caller
that applies restarts always holds the reply the dispatcher returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agot.types import Generation, GenerationRequest

#: Receives the text pieces of the calls made in this context, with the request each belongs
#: to; a piece ``None`` marks a new attempt of that request (what it gave before is void).
DeltaSink = Callable[[GenerationRequest, str | None], None]

delta_sink: contextvars.ContextVar[DeltaSink | None] = contextvars.ContextVar(
    "agot_delta_sink", default=None
)


@dataclass(frozen=True)
class TextDelta:
    """A piece of a reply; ``restart``: drop the text given before this piece (a retry)."""

    text: str
    restart: bool = False


_DONE: Any = object()


class GenerationStream:
    """``async for delta in stream`` gives :class:`TextDelta` s; afterwards ``generation`` is
    the finished :class:`~agot.types.Generation` (the call's error is raised by the loop).

    To leave early, use it as a context manager (``async with dispatcher.stream(r) as s:``):
    leaving the block cancels the call (Python does not close an async iterator a ``break``
    leaves, so without the block the call runs on until the iterator is collected).
    """

    def __init__(
        self,
        generate: Callable[[GenerationRequest], Awaitable[Generation]],
        request: GenerationRequest,
    ) -> None:
        self._generate = generate
        self.request = request
        self.generation: Generation | None = None
        self._iterator: Any = None
        #: The text given since the last restart.
        self.text_so_far = ""

    def __aiter__(self) -> AsyncIterator[TextDelta]:
        if self._iterator is None:
            self._iterator = self._deltas()
        return self._iterator

    def partial(self) -> Any:
        """The reply so far read as JSON by pydantic-core's partial parser (an unfinished
        trailing string included), for a structured request's fields as they are written;
        None while nothing parses (or for a reply that is not JSON)."""
        from pydantic_core import from_json

        try:
            return from_json(self.text_so_far, allow_partial="trailing-strings")
        except ValueError:
            return None

    async def aclose(self) -> None:
        """Stop: the call is cancelled if it is still running."""
        if self._iterator is not None:
            await self._iterator.aclose()

    async def __aenter__(self) -> GenerationStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def text(self) -> str:
        """Consume the stream; the final reply's text."""
        async for _ in self:
            pass
        assert self.generation is not None
        return self.generation.text

    async def _deltas(self) -> AsyncIterator[TextDelta]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        token = delta_sink.set(lambda _request, piece: queue.put_nowait(piece))
        try:
            task = asyncio.ensure_future(self._generate(self.request))
        finally:
            delta_sink.reset(token)
        task.add_done_callback(lambda _: queue.put_nowait(_DONE))
        shown: list[str] = []  # the text given since the last restart
        restart = False
        try:
            while (piece := await queue.get()) is not _DONE:
                if piece is None:  # a new attempt: what was given is void
                    restart = restart or bool(shown)
                    shown = []
                    continue
                shown.append(piece)
                self.text_so_far = "".join(shown)
                yield TextDelta(piece, restart)
                restart = False
            generation = task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.generation = generation
        if "".join(shown) != generation.text:
            self.text_so_far = generation.text
            yield TextDelta(generation.text, restart or bool(shown))
