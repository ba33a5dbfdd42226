"""``agot.solve``: one question, synchronously, with strategy and dispatcher options in one call.

The package ``agot`` re-exports this; it lives here so that ``agot/__init__.py`` holds names
only. Options are split by what declares them: :class:`~agot.dispatcher.DispatcherOptions`
(the dispatcher's keywords and the backend options) configure the dispatcher, the rest the
strategy built by name, and an option neither takes is a ConfigError naming both lists.
"""

from __future__ import annotations

from typing import Any

from agot.budget import Budget
from agot.dispatcher import Dispatcher, DispatcherOptions
from agot.errors import ConfigError
from agot.limits import Limits
from agot.result import Result
from agot.strategies import Strategy, get_strategy
from agot.sync import run_sync
from agot.task import Task


def solve(
    question: str | Task,
    *,
    strategy: str | Strategy = "agot",
    model: str | None = None,
    dispatcher: Dispatcher | None = None,
    budget: Budget | None = None,
    **options: Any,
) -> Result:
    """Solve ``question`` synchronously (default: AGoT on the embedded local model).

    ``options`` configure the strategy (``max_layers=2``, ``temperature=0.3``, ``n=5`` for
    ``sc``, ...) or the dispatcher (``limits``, ``cache``, ``api_base``, ``store_text``,
    ``timeout`` in seconds per model call as ``--timeout``, ...)::

        agot.solve(q, max_layers=2, temperature=0.3)
        agot.solve(q, strategy="sc", n=5, model="openai/gpt-4o-mini", cache="~/.cache/agot")

    Raises :class:`RunFailedError` (with the failed Result attached) when every model call
    failed, so a run that never reached a model is not mistaken for an empty answer.
    """
    dispatcher_options = DispatcherOptions.take(options)
    if not isinstance(strategy, str | Strategy):
        raise ConfigError(
            f"strategy must be a strategy name such as 'agot' or a Strategy, got "
            f"{type(strategy).__name__}"
        )
    if "timeout" in options:  # seconds per model call, as --timeout: a field of the limits
        limits = dispatcher_options.get("limits") or Limits()
        if not isinstance(limits, Limits):
            raise ConfigError(f"limits must be an agot.Limits, not {type(limits).__name__}")
        fields = {**limits.model_dump(exclude_unset=True), "timeout_s": options.pop("timeout")}
        dispatcher_options["limits"] = Limits(**fields)
    if isinstance(strategy, str):
        chosen = _strategy_with_options(strategy, options)
    elif options:
        raise ConfigError(
            f"options {', '.join(sorted(options))} configure a strategy built by name; set them "
            f"on the {type(strategy).__name__} you passed instead"
        )
    else:
        chosen = strategy
    return run_sync(
        chosen.solve(
            question, model=model, dispatcher=dispatcher, budget=budget, **dispatcher_options
        )
    )


def _strategy_with_options(name: str, options: dict[str, Any]) -> Strategy:
    """``get_strategy(name, **options)``, with unknown options named in a ConfigError."""
    import inspect

    probe = get_strategy(name)
    accepted = inspect.signature(type(probe).__init__).parameters
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        allowed = sorted(
            p for p in accepted if p not in ("self", "budget") and not p.startswith("_")
        )
        raise ConfigError(
            f"unknown option {', '.join(map(repr, unknown))} for strategy {name!r}: it takes "
            f"{', '.join(allowed)} (and the dispatcher options "
            f"{', '.join(sorted(DispatcherOptions.names() | {'timeout'}))})"
        )
    return get_strategy(name, **options)
