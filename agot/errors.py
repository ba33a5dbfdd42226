"""The agot exception hierarchy.

Every error a user can cause or meet is an :class:`AgotError`, so callers (and the CLI, which
turns these into one-line messages with exit code 2) can catch one type. Each message names the
input at fault and, where there is one, the fix.
"""

from __future__ import annotations

from typing import Any


class AgotError(Exception):
    """Root of every error agot raises on purpose."""


class ConfigError(AgotError, ValueError):
    """A bad argument or setting: empty question, unknown model string, negative limit, ..."""


class BackendError(AgotError):
    """A model backend failed in a way retrying will not fix (or retries ran out)."""

    def __init__(self, message: str, *, backend: str | None = None, status: int | None = None):
        super().__init__(message)
        self.backend = backend
        self.status = status


class TransientBackendError(BackendError):
    """A failure worth retrying: HTTP 429/5xx, a timeout, a dropped connection.

    Backends raise it; the dispatcher retries it with backoff, honouring ``retry_after``
    (seconds, from a Retry-After header) when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        backend: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, backend=backend, status=status)
        self.retry_after = retry_after


class UnreachableBackendError(BackendError):
    """The server could not be reached at all: connection refused, unknown host.

    Not retried against a single endpoint (a wrong address or a stopped server stays so for a
    while), but where several replicas serve a model it says that replica is down, and the call
    moves to another (see :mod:`agot.fleet`).
    """


class BudgetExceeded(AgotError):
    """A run hit one of its budget limits; strategies turn this into a partial result."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SchemaError(AgotError):
    """A model reply did not satisfy the requested output schema, even after re-asking."""

    def __init__(self, message: str, *, raw: str | None = None):
        super().__init__(message)
        self.raw = raw


class DatasetError(AgotError):
    """A dataset could not be found or read; the message says where to get it and which flag."""


class RunFailedError(BackendError):
    """Every model call of a run failed, so there is no answer at all.

    Raised instead of returning a Result whose answer is None: a run that never reached a
    model is an error the caller must see. ``result`` keeps the failed run (its trace events
    say what each call met), so nothing is lost.
    """

    def __init__(self, message: str, *, result: Any = None):
        super().__init__(message)
        self.result = result
