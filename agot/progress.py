"""A live status line on stderr for work that takes more than a second (rich on a terminal).

On a terminal, rich draws one line with a spinner, rewritten in place and cut to the
terminal's width with an ellipsis (it never wraps, so 80 columns stay one line). Anywhere else
(logs, CI, a pipe) a plain line is printed every few seconds, so captured output stays
readable. ``describe()`` supplies the text: items done and errored, tokens, cost and ETA for an
eval (:mod:`agot.evals.progress`); the phase, calls, tokens and cost for ``solve`` and
``classify`` (:mod:`agot.cli.progress`).

It lives in the core, beside no command line, so the eval harness can draw its line without
importing ``agot.cli`` (``tests/test_layering.py``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Progress:
    """Runs ``describe()`` periodically in a background task while the block runs."""

    def __init__(
        self,
        describe: Callable[[], str],
        *,
        stream: TextIO | None = None,
        delay_s: float = 1.0,
        enabled: bool = True,
        width: int | None = None,
    ) -> None:
        self.describe = describe
        self.stream = stream or sys.stderr
        self.delay_s = delay_s
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.interval_s = 0.25 if self.tty else 5.0
        self.width = width
        self._task: asyncio.Task[None] | None = None
        self._live: Any = None
        self._shown = False
        self.started = time.monotonic()

    def line(self) -> str:
        return f"[{clock_text(time.monotonic() - self.started)}] {self.describe()}"

    async def _loop(self) -> None:
        await asyncio.sleep(self.delay_s)
        while True:
            self._emit()
            await asyncio.sleep(self.interval_s)

    def _renderable(self) -> Any:
        from rich.text import Text

        # A spinner frame then the line, as one Text: rich's Spinner widget would wrap a long
        # line onto more rows, while a no-wrap Text is cut at the width with an ellipsis.
        frame = _FRAMES[int(time.monotonic() * 8) % len(_FRAMES)]
        text = Text.assemble((frame, "cyan"), " ", self.line())
        text.no_wrap, text.overflow = True, "ellipsis"
        return text

    def _emit(self) -> None:
        if not self.tty:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._shown = True
            return
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, width=self.width, force_terminal=True)
            self._live = Live(
                self._renderable(), console=console, auto_refresh=False, transient=False
            )
            self._live.start()
        self._live.update(self._renderable(), refresh=True)
        self._shown = True

    def announce(self) -> None:
        """Show the line now, before the usual delay: for a phase worth seeing at once (a
        model loading can hold the event loop, so the periodic task may not get to run)."""
        if self.enabled:
            self._emit()

    def pause(self) -> None:
        """Stop drawing for the rest of the block (another writer takes the terminal)."""
        self.enabled = False
        if self._task is not None:
            self._task.cancel()
        if self._live is not None:
            self._live.transient = True  # erase the line: the other writer takes its row
            self._live.stop()
            self._live = None

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
        if self._live is not None:
            self._live.update(self._renderable(), refresh=True)
            self._live.stop()
            self._live = None


def tokens_text(n: int) -> str:
    """``1.2k`` for 1,234 tokens, ``3.4M`` for 3,412,345, ``999`` below a thousand."""
    if n >= 999_950:
        return f"{n / 1_000_000:.1f}M"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def clock_text(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    seconds_int = int(seconds)
    h, rest = divmod(seconds_int, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
