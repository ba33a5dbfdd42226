"""Verifiers: a score for one candidate answer text, as best-of-N uses them.

A verifier is a callable ``text -> score`` (a float, a bool, or an awaitable of either), where
``text`` is the model's raw reply and a higher score means more likely right. It must not know
the gold answer: best-of-N picks among its own samples by it, so a verifier that compares with
the gold turns best-of-N into an oracle. The eval harness hands a task its exact verifier only
where that verifier needs no gold (Game of 24's: the expression, the puzzle's numbers and 24);
elsewhere best-of-N asks the model to rate each sample (:data:`agot.prompts.bon.VERIFY`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable

from agot.errors import ConfigError

#: ``text -> score``; see the module docstring.
Verifier = Callable[[str], float | bool | Awaitable[float | bool]]


def check_verifier(verifier: object, what: str = "verifier") -> Verifier | None:
    """``verifier`` itself when it is None or callable; a ConfigError naming it otherwise."""
    if verifier is None or callable(verifier):
        return verifier
    raise ConfigError(f"{what} must be a callable text -> score, got {type(verifier).__name__}")


async def verify(verifier: Verifier, text: str) -> float:
    """The score ``verifier`` gives ``text``, as a finite float (bool: 1.0 / 0.0).

    A verifier that raises or returns something that is not a finite number is a ConfigError:
    it is the caller's code, and a silent 0 would hide the bug behind a worse score.
    """
    try:
        value = verifier(text)
        if inspect.isawaitable(value):
            value = await value
    except Exception as exc:
        raise ConfigError(f"the verifier failed on a sample: {type(exc).__name__}: {exc}") from exc
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"the verifier must return a finite number, got {value!r}")
    return float(value)


__all__ = ["Verifier", "check_verifier", "verify"]
