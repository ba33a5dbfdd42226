"""A status line on stderr for work that takes more than a second.

On a terminal the line is rewritten in place; otherwise (logs, CI) a plain line is printed every
few seconds, so piped output stays readable.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


class Progress:
    """Runs ``describe()`` periodically in a background task while the block runs."""

    def __init__(
        self,
        describe: Callable[[], str],
        *,
        stream: TextIO | None = None,
        delay_s: float = 1.0,
        enabled: bool = True,
    ) -> None:
        self.describe = describe
        self.stream = stream or sys.stderr
        self.delay_s = delay_s
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.interval_s = 0.5 if self.tty else 5.0
        self._task: asyncio.Task[None] | None = None
        self._shown = False
        self.started = time.monotonic()

    async def _loop(self) -> None:
        await asyncio.sleep(self.delay_s)
        while True:
            self._emit()
            await asyncio.sleep(self.interval_s)

    def _emit(self) -> None:
        line = f"[{time.monotonic() - self.started:6.1f}s] {self.describe()}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._shown = True

    async def __aenter__(self) -> Progress:
        if self.enabled:
            self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_with_status(
    label: str, dispatcher: Any, work: Callable[[], Awaitable[T]], *, enabled: bool = True
) -> T:
    """Run ``work()`` to completion with a calls/tokens status line, then close ``dispatcher``."""
    from agot.sync import run_sync

    async def go() -> T:
        def status() -> str:
            u = dispatcher.usage
            return f"{label}: {u.calls} calls, {u.total_tokens} tokens"

        try:
            async with Progress(status, enabled=enabled):
                return await work()
        finally:
            await dispatcher.aclose()

    return run_sync(go())
