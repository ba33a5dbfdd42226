"""Prices and context windows of hosted models, read from litellm's bundled price map as data.

The direct HTTP backend must report the same cost and context window as the litellm path for
``openai/<name>`` on an endpoint (an OpenAI-compatible gateway in front of OpenAI prices its
calls like OpenAI), without importing litellm, which takes seconds. litellm ships its map as a
JSON file; it is read (once, on first use) when litellm is installed, and a model it does not
list (any self-hosted model) costs 0.0 with an unknown window, as it does through litellm.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The map's file inside the litellm package (what litellm reads with
#: LITELLM_LOCAL_MODEL_COST_MAP set, as agot always sets it).
MAP_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True)
class ModelPrice:
    """USD per prompt and per completion token, and the model's context window; prompt tokens
    served from the provider's cache at ``cached_input_per_token`` where the map lists it."""

    input_per_token: float
    output_per_token: float
    max_context: int | None
    cached_input_per_token: float | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_rate = (
            self.input_per_token
            if self.cached_input_per_token is None
            else self.cached_input_per_token
        )
        return (
            (prompt_tokens - cached) * self.input_per_token
            + cached * cached_rate
            + completion_tokens * self.output_per_token
        )


@functools.cache
def _price_map() -> dict[str, Any]:
    try:
        spec = importlib.util.find_spec("litellm")  # finds the package without importing it
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MAP_FILE
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        return data if isinstance(data, dict) else {}
    return {}


def model_price(provider: str, name: str) -> ModelPrice | None:
    """The price of ``provider/name`` as litellm would look it up (``openai`` models also by
    their bare name), or None when the map does not list it."""
    table = _price_map()
    keys = [f"{provider}/{name}", *([name] if provider == "openai" else [])]
    for key in keys:
        entry = table.get(key)
        if isinstance(entry, dict) and entry.get("litellm_provider") in (provider, None):
            try:
                window = entry.get("max_input_tokens") or entry.get("max_tokens")
                cached = entry.get("cache_read_input_token_cost")
                return ModelPrice(
                    input_per_token=float(entry.get("input_cost_per_token") or 0.0),
                    output_per_token=float(entry.get("output_cost_per_token") or 0.0),
                    max_context=int(window) if window else None,
                    cached_input_per_token=float(cached) if cached is not None else None,
                )
            except (TypeError, ValueError):
                return None
    return None
