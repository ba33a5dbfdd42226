"""What a call costs: the backend's own figure, a model's list price, or hours of a machine.

A pilot records the cost each backend reported (litellm prices its calls from its bundled table;
local engines report 0). A plan may price the same calls otherwise: at another model's list
price (``--what-if price=openai/gpt-4o``), read from litellm's table (imported only then, with
``LITELLM_LOCAL_MODEL_COST_MAP`` so it reads the copy it ships with), or at a price per hour of
the machine that serves a local engine (``price-per-hour=2.5``), charged on the simulated wall
time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from agot.errors import ConfigError


@dataclass(frozen=True)
class Price:
    """USD per prompt and completion token (a model's list price), or per hour of wall time."""

    label: str
    input_per_token: float = 0.0
    output_per_token: float = 0.0
    per_hour: float | None = None

    def tokens_cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token

    def describe(self) -> dict[str, Any]:
        if self.per_hour is not None:
            return {"label": self.label, "per_hour": self.per_hour}
        return {
            "label": self.label,
            "input_per_token": self.input_per_token,
            "output_per_token": self.output_per_token,
        }


def per_hour(value: float) -> Price:
    if not value >= 0:
        raise ConfigError(f"price-per-hour must be a number >= 0, got {value!r}")
    return Price(label=f"${value:g}/hour", per_hour=float(value))


def list_price(model: str) -> Price:
    """``model``'s price per token from litellm's bundled table; a ConfigError when the model
    is not a litellm model or the table does not know it."""
    from agot.backends.registry import parse_model_string

    prefix, rest = parse_model_string(model)
    if prefix != "litellm":
        raise ConfigError(
            f"price={model}: {prefix!r} models have no list price; give price-per-hour=USD "
            "for a local engine"
        )
    table = _litellm_table()
    for key in (rest, rest.split("/", 1)[-1]):
        entry = table.get(key)
        if isinstance(entry, dict) and "input_cost_per_token" in entry:
            return Price(
                label=model,
                input_per_token=float(entry.get("input_cost_per_token") or 0.0),
                output_per_token=float(entry.get("output_cost_per_token") or 0.0),
            )
    raise ConfigError(f"price={model}: litellm's price table does not list {rest!r}")


def _litellm_table() -> dict[str, Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from agot.registry import require_modules

    require_modules(
        "a model's list price (price=MODEL)", ["litellm"], "pip install 'agot[litellm]'"
    )
    import litellm

    return dict(litellm.model_cost)
