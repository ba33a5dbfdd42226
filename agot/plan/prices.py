"""What a call costs: the backend's own figure, a model's list price, or hours of a machine.

A pilot records the cost each backend reported (litellm prices its calls from its bundled table;
local engines report 0). A plan may price the same calls otherwise: at another model's list
price (``--what-if price=openai/gpt-4o``), read from the price map litellm ships as a JSON file
(:mod:`agot.backends.price_map`, read as data: litellm itself, seconds to import, is not imported),
or at a price per hour of the machine that serves a local engine (``price-per-hour=2.5``),
charged on the simulated wall time.
"""

from __future__ import annotations

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
    """``model``'s price per token from litellm's bundled price map; a ConfigError when the
    model is not a litellm model or the map does not know it.

    The map's keys are not uniform (``gpt-4o`` but ``anthropic/...`` or a bare Claude name
    with ``litellm_provider: anthropic``), so the name is looked up under its aliases, as
    litellm would: ``provider/name``, then the bare name of that provider, then as given."""
    from agot.backends.price_map import model_price
    from agot.backends.registry import parse_model_string, split_endpoint

    prefix, rest = parse_model_string(split_endpoint(model, what="price")[0])
    if prefix != "litellm":
        raise ConfigError(
            f"price={model}: {prefix!r} models have no list price; give price-per-hour=USD "
            "for a local engine"
        )
    provider, _, name = rest.partition("/")
    aliases = [(provider, name)] if name else [("openai", rest), ("anthropic", rest)]
    if name and "/" in name:  # e.g. openrouter/openai/gpt-4o: the last two parts too
        aliases.append(tuple(name.split("/", 1)))  # type: ignore[arg-type]
    for provider_name, bare in aliases:
        found = model_price(provider_name, bare)
        if found is not None:
            return Price(
                label=model,
                input_per_token=found.input_per_token,
                output_per_token=found.output_per_token,
            )
    raise ConfigError(f"price={model}: litellm's price map does not list {rest!r}")
