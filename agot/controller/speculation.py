"""Speculative calls: started before they are known to be needed, kept or thrown away later.

AGoT's speculation starts a thought's answer and its would-be nested graph's first proposal
together with the thought's complexity assessment. Two things make that safe under budgets and
honest in the trace: a speculative call *holds* one call of budget from the moment it is
decided until the dispatcher has reserved it (tasks start a loop step later, and a sibling must
not spend that budget meanwhile), and a losing call is cancelled, or its finished reply marked
``discarded`` in the trace, so the waste is counted and the critical path ignores it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from agot.controller.spending import Spending
from agot.trace import RunRecorder
from agot.types import Generation

T = TypeVar("T")


def held_task(spending: Spending, call: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task for ``call``, which holds one call of ``spending`` until it starts.

    The hold ends in the same step in which the dispatcher reserves the call; a task cancelled
    before its first step never runs ``call`` and releases its hold then.
    """
    began = False

    async def started() -> T:
        nonlocal began
        began = True
        spending.release(1)
        return await call

    task = asyncio.create_task(started())

    def done(_: asyncio.Task[T]) -> None:
        if not began:
            spending.release(1)
            call.close()

    task.add_done_callback(done)
    return task


async def discard(recorder: RunRecorder, task: asyncio.Task[Any]) -> None:
    """Cancel a speculative call, or mark its finished reply as wasted in the trace."""
    if not task.done():
        task.cancel()
    outcome = (await asyncio.gather(task, return_exceptions=True))[0]
    if isinstance(outcome, Generation):
        for event in reversed(recorder.events):
            if event.call_id == outcome.call_id:
                event.discarded = True
                break
