"""Validated settings objects that fail with :class:`~agot.errors.ConfigError`.

pydantic does the checking; this base turns its ``ValidationError`` into a one-line
``ConfigError`` naming the field and the rule, so bad numbers (negative concurrency, a zero
budget) reach users as a clear message rather than a validation dump.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agot.errors import ConfigError

#: Field names whose values are never echoed in a message.
_SECRET_FIELD = re.compile(
    r"(?:^|[._])(?:\w*_)?(?:key|token|secret|password|passwd|auth|credentials?)$", re.IGNORECASE
)


def describe_validation_error(owner: str, error: ValidationError) -> str:
    """One line naming each bad field, its value and the rule; a field check that raised a
    :class:`ConfigError` (an endpoint, say) speaks for itself. Values are written through
    :func:`~agot.url_secrets.redact_text`, so a URL with a key in it is never echoed whole."""
    from agot.url_secrets import redact_text

    own, parts = [], []
    for item in error.errors():
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigError):
            own.append(str(cause))
            continue
        field = ".".join(str(p) for p in item["loc"]) or owner
        if _SECRET_FIELD.search(field) or item["type"] == "missing":
            # A key is never echoed, not even in the error that refuses it; a missing field
            # has no value of its own (the input is the whole object around it).
            parts.append(f"{field}: {item['msg']}")
            continue
        parts.append(f"{field}={redact_text(repr(item.get('input')))}: {item['msg']}")
    if not parts:
        return "; ".join(own)
    return f"invalid {owner} setting: " + "; ".join(parts + own)


class Settings(BaseModel):
    """Frozen, extra-forbidding settings model whose validation errors are ConfigErrors."""

    # No inf or nan anywhere: ``--rpm inf`` or ``weight = inf`` is a typo, not a setting (None
    # is how a limit is left off), and either breaks the arithmetic that spaces calls.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(type(self).__name__, exc)) from None


def check_count(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int within ``[minimum, maximum]``; a ConfigError naming ``name`` otherwise.

    One rule for every count a user passes (agents, samples, workers, calls in flight, graph
    bounds), so each reads the same: a bool is refused although Python counts it as an int
    (``agents=True`` is a mistake, not one agent), and the message states the allowed range.
    """
    rule = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise ConfigError(f"{name} must be {rule} (a whole number), got {value!r}")
    return value
