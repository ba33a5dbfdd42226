"""The status line of ``agot solve`` and ``agot classify``: the phase (``loading model`` while
the embedded model loads), then calls, tokens and cost, drawn by :class:`agot.progress.Progress`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TextIO, TypeVar

from agot.progress import Progress, tokens_text

T = TypeVar("T")


class RunStatus:
    """What ``solve``/``classify`` show: the phase, then calls, tokens and cost so far."""

    def __init__(self, label: str, dispatcher: Any) -> None:
        self.label = label
        self.dispatcher = dispatcher
        self.phase: str | None = None

    def __call__(self) -> str:
        if self.phase is not None:
            return f"{self.label}: {self.phase}"
        u = self.dispatcher.usage
        parts = [f"{self.label}: {u.calls} calls"]
        counts = getattr(self.dispatcher, "cache_counts", None)
        if u.cached_calls and counts is None:
            parts.append(f"{u.cached_calls} cached")
        if u.cancelled:
            parts.append(f"{u.cancelled} cancelled")
        parts.append(f"{tokens_text(u.total_tokens)} tokens")
        if u.cached_share is not None:
            parts.append(f"{u.cached_share:.0%} of prompt cached")
        if u.cost:
            parts.append(f"${u.cost:.4f}")
        if counts is not None and counts.text():
            parts.append(counts.text())
        return " · ".join(parts)


async def load_models(dispatcher: Any, status: RunStatus, progress: Progress | None = None) -> None:
    """Load the default backend now if it loads weights on first use (the embedded model, a
    local GGUF, a transformers model), so the status line can say so while it happens."""
    backend = dispatcher.backend()
    load = getattr(backend, "load", None)
    if load is None or getattr(backend, "loaded", True):
        return
    status.phase = f"loading model {getattr(backend, 'model', '')}…".replace("  ", " ")
    if progress is not None:
        progress.announce()
    try:
        await load()
    finally:
        status.phase = None


def run_with_status(
    label: str,
    dispatcher: Any,
    work: Callable[[], Awaitable[T]],
    *,
    enabled: bool = True,
    stream: TextIO | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> T:
    """Run ``work()`` to completion with a status line, then close ``dispatcher``."""
    from agot.sync import run_sync

    async def go() -> T:
        status = RunStatus(label, dispatcher)
        try:
            async with Progress(status, enabled=enabled, stream=stream) as progress:
                if on_progress is not None:
                    on_progress(progress)
                await load_models(dispatcher, status, progress)
                return await work()
        finally:
            await dispatcher.aclose()

    return run_sync(go())
