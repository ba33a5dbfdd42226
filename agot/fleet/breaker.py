"""A circuit breaker per endpoint: take a failing replica out, probe it back in.

Why: a replica that refuses connections or times out would otherwise keep receiving a share of
the calls, each one failing (or hanging until its timeout) before it is retried elsewhere. After
``threshold`` consecutive failures the breaker opens: no calls go there for ``cooldown_s``; then
one probe call is let through (half-open). A probe that succeeds closes the breaker; one that
fails opens it again for twice as long (up to ``max_cooldown_s``).
"""

from __future__ import annotations

from typing import Literal

from agot.errors import BackendError, TransientBackendError, UnreachableBackendError

State = Literal["closed", "open", "half-open"]


def is_endpoint_failure(error: BaseException) -> bool:
    """Whether ``error`` says the replica is unwell (not the request, not a rate limit).

    The backends' own classification decides: a replica that cannot be reached
    (:class:`~agot.errors.UnreachableBackendError`: connection refused, unknown host) or fails
    transiently (dropped connection, timeout, 5xx) counts. A 429 means the replica is busy but
    alive (the dispatcher honours its Retry-After), and any other error (a bad request, a
    rejected key, an unknown model) would fail on every replica alike.
    """
    if not isinstance(error, BackendError) or error.status == 429:
        return False
    if isinstance(error, TransientBackendError | UnreachableBackendError):
        return True
    return error.status is not None and error.status >= 500


class CircuitBreaker:
    """Closed -> open after ``threshold`` failures in a row -> half-open probe -> closed."""

    def __init__(
        self, threshold: int = 3, cooldown_s: float = 2.0, max_cooldown_s: float = 60.0
    ) -> None:
        if threshold < 1 or cooldown_s <= 0 or max_cooldown_s < cooldown_s:
            raise ValueError("CircuitBreaker needs threshold >= 1, 0 < cooldown_s <= max")
        self.threshold = threshold
        self.base_cooldown, self.max_cooldown = cooldown_s, max_cooldown_s
        self.state: State = "closed"
        self.failures = 0
        self.cooldown = cooldown_s
        self.opened_at = 0.0
        self.probing = False
        #: Times the breaker opened (for the summary).
        self.trips = 0

    def available(self, now: float) -> bool:
        """Whether a call may be sent now (a half-open breaker admits one probe at a time)."""
        if self.state == "closed":
            return True
        if self.state == "open" and now >= self.opened_at + self.cooldown:
            return True  # due for a probe
        return self.state == "half-open" and not self.probing

    def reopens_at(self) -> float:
        """When an open breaker next lets a probe through."""
        return self.opened_at + self.cooldown

    def on_send(self, now: float) -> None:
        """A call goes out; when the breaker is not closed it is the probe."""
        if self.state != "closed":
            self.state = "half-open"
            self.probing = True

    def on_success(self) -> None:
        self.state, self.failures, self.probing = "closed", 0, False
        self.cooldown = self.base_cooldown

    def on_failure(self, now: float) -> bool:
        """Count a failure; True when this failure opens the breaker."""
        self.failures += 1
        if self.state == "half-open":
            self.cooldown = min(self.cooldown * 2.0, self.max_cooldown)
            self.state, self.opened_at, self.probing = "open", now, False
            self.trips += 1
            return True
        if self.state == "closed" and self.failures >= self.threshold:
            self.state, self.opened_at = "open", now
            self.trips += 1
            return True
        return False

    def on_abandon(self) -> None:
        """A call ended without telling anything about the replica (cancelled)."""
        self.probing = False
