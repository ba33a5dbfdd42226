"""Streaming for backends whose text is produced off the event loop's await chain.

The embedded llama.cpp backend generates in a worker thread and the transformers engine in its
batching thread (results delivered by callbacks); neither is an async iterator of its own.
:func:`stream_from` turns such a call into the streaming protocol the dispatcher reads
(``Backend.stream``: text pieces, then the :class:`~agot.types.BackendReply`): the call gets an
``emit(piece)`` it may use from any thread, and the pieces come out in the order emitted,
before the reply. Leaving the iterator early cancels the call (the backend's own cancellation
then stops the generation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from agot.types import BackendReply

#: Hands one piece of text on; safe to call from any thread.
Emit = Callable[[str], None]


async def stream_from(
    call: Callable[[Emit], Awaitable[BackendReply]],
) -> AsyncIterator[str | BackendReply]:
    """Run ``call(emit)``; yield what it emits as it does, then its reply."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def emit(piece: str) -> None:
        if piece:
            loop.call_soon_threadsafe(queue.put_nowait, piece)

    task = asyncio.ensure_future(call(emit))
    try:
        while not task.done():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        # Pieces emitted from a thread were scheduled before the call's result: drain them.
        await asyncio.sleep(0)
        while not queue.empty():
            yield queue.get_nowait()
        yield task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
