"""Observed call latency per backend and role, and the per-call timeout learned from it.

A fixed timeout is wrong in both directions: 300 s lets a hung call on a fast API hold a
concurrency slot for five minutes (with 8 slots, a few hangs stall a whole eval), while a
short one cuts legitimately slow calls. So each remote backend keeps a window of recent attempt
durations per role (a ``decompose`` call and a ``final`` call differ), and an attempt's timeout
is a multiple of that window's p99, never below a floor and never above the user's timeout.

These rules keep it from cutting good calls, and from drifting up to the ceiling:

* A call whose attempt was cut retries with twice the previous timeout (up to the ceiling), so
  a server that became uniformly slower is still reached, and the durations of those retries,
  once they come back, move the p99. A cut is not itself a sample: with a few percent of calls
  hanging, cut times would become the p99, each cut would set the next timeout to 4 x the
  last one and the timeout would climb to the ceiling (a 400-item storm with 4% hangs took
  56.7 s against 21.9 s with ``--timeout 10`` before this rule).
* An attempt that starts before the window is trusted (a cold start: the first wave of an
  eval) is re-timed the moment the window becomes trusted, to the deadline it would have had
  (from its own start): a call hung in the first wave is cut seconds after enough of its wave
  came back. A streamed attempt starts with the ceiling (its first-token deadline catches a
  hang); one that is not streamed (``--no-stream``, or a backend that cannot stream) starts
  with ``Limits.cold_timeout_s`` (30 s), since a small run may never see enough replies to
  trust the window: a hang then costs 30 s, not the 300 s ceiling, and a legitimately long
  reply cut there is retried with twice that (60 s, 120 s, ... up to the ceiling).
* Embedded backends (llama.cpp, transformers: ``Capabilities.remote`` false) are never timed
  adaptively: their latency is queueing plus prompt length on the user's own machine, and a
  hang there is not the failure mode this guards against.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from agot.percentile import percentile

#: Samples kept per role; the p99 of the last 256 attempts.
WINDOW = 256
#: Samples needed before the window is trusted; until then the ceiling applies.
MIN_SAMPLES = 20


class LatencyWindow:
    """The last :data:`WINDOW` attempt durations (seconds) of one backend and role."""

    __slots__ = ("_cache", "_samples", "_since", "_waiting")

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=WINDOW)
        self._cache: dict[float, float | None] = {}
        self._since = 0
        self._waiting: set[Callable[[], None]] = set()

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)
        self._since += 1
        if self._since >= 8:  # quantiles are re-sorted at most every 8 samples
            self._cache.clear()
            self._since = 0
        if self._waiting and len(self._samples) >= MIN_SAMPLES:
            waiting, self._waiting = self._waiting, set()
            for callback in waiting:
                callback()

    def when_trusted(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (once, synchronously, from :meth:`add`) when the window reaches
        :data:`MIN_SAMPLES`; returns a function that withdraws it. Runs it at once if the
        window is already trusted."""
        if len(self._samples) >= MIN_SAMPLES:
            callback()
            return lambda: None
        self._waiting.add(callback)
        return lambda: self._waiting.discard(callback)

    def __len__(self) -> int:
        return len(self._samples)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0 to 1; :func:`agot.percentile.percentile`) of the window, or
        None before MIN_SAMPLES."""
        if len(self._samples) < MIN_SAMPLES:
            return None
        cached = self._cache.get(q)
        if cached is None:
            cached = self._cache[q] = percentile(self._samples, q * 100)
        return cached


class LatencyBook:
    """One :class:`LatencyWindow` per role, for one backend."""

    def __init__(self) -> None:
        self._roles: dict[str, LatencyWindow] = {}

    def window(self, role: str) -> LatencyWindow:
        window = self._roles.get(role)
        if window is None:
            window = self._roles[role] = LatencyWindow()
        return window


def adaptive_timeout(
    window: LatencyWindow,
    *,
    ceiling: float | None,
    floor: float,
    multiple: float,
    previous_cut: float | None = None,
    cold: float | None = None,
) -> float | None:
    """The timeout for the next attempt: ``multiple`` x p99, within [floor, ceiling].

    ``previous_cut`` is the timeout that cut this call's last attempt: the next one gets at
    least twice that. Until the window has enough samples the timeout is ``cold`` (a whole
    reply that is not streamed, see :data:`agot.limits.Limits.cold_timeout_s`), or
    ``ceiling`` (which may be None: no timeout) when ``cold`` is None.
    """
    p99 = window.quantile(0.99)
    if p99 is None and cold is None:
        return ceiling
    timeout = cold if p99 is None else max(floor, multiple * p99)
    assert timeout is not None
    if previous_cut is not None:
        timeout = max(timeout, 2.0 * previous_cut)
    return timeout if ceiling is None else min(timeout, ceiling)


def first_token_timeout(
    window: LatencyWindow,
    *,
    cold: float,
    floor: float,
    multiple: float,
    ceiling: float | None,
    previous_cut: float | None = None,
) -> float:
    """The deadline for a streamed attempt's first token: ``cold`` until the window of observed
    times to first token has enough samples, then ``multiple`` x their p95 (at least
    ``floor``); at least twice ``previous_cut`` (this call's last attempt cut there), never
    above ``ceiling`` (the whole-reply timeout).

    A hung server is recognised within this deadline instead of the whole-reply timeout, which
    before enough replies have been seen is the user's ceiling (300 s by default). The p95,
    not the p99: cut attempts enter the window at their deadline (censored samples), and with
    a few percent of calls hanging the p99 would be such a sample, so one hang would stretch
    the deadline for the next (a server that became slower for every call still moves the
    p95 within a few calls).
    """
    p95 = window.quantile(0.95)
    deadline = cold if p95 is None else max(floor, multiple * p95)
    if previous_cut is not None:
        deadline = max(deadline, 2.0 * previous_cut)
    return deadline if ceiling is None else min(deadline, ceiling)
