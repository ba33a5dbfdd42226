"""agot: test-time reasoning orchestration.

>>> import agot
>>> r = agot.solve("What is 17 * 23?", strategy="cot")   # embedded local model
>>> r.answer, r.usage

Async: ``await agot.AGoT(max_depth=1).solve(question, model="openai/gpt-4o-mini")``.
"""

from __future__ import annotations

import functools
import os
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

# litellm must use its bundled price map, never fetch one at run time (the user may override).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# First: imported from the repository's agot/ folder (python -m agot in a clone), this finds
# agot.backends and agot.evals in backends/ and evals/ beside it, as an install maps them.
from agot._source_tree import FROM_SOURCE_TREE as _FROM_SOURCE_TREE  # noqa: F401
from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import (
    AgotError,
    BackendError,
    BudgetExceeded,
    ConfigError,
    DatasetError,
    RunFailedError,
    SchemaError,
    TransientBackendError,
    UnreachableBackendError,
)
from agot.lazy import lazy_attributes
from agot.limits import Limits
from agot.result import Result
from agot.strategies import (
    CoT,
    Direct,
    SelfConsistency,
    Strategy,
    get_strategy,
)
from agot.sync import run_sync
from agot.task import Task
from agot.trace import TraceEvent
from agot.types import Generation, GenerationRequest, Message, SamplingParams, Usage

if TYPE_CHECKING:
    from agot.controller import AGoT
    from agot.kairanban import Kairanban
    from agot.strategies.atom_of_thoughts import AoT
    from agot.strategies.best_of_n import BestOfN
    from agot.strategies.tree_of_thoughts import ToT

# The version lives once, in pyproject.toml; the installed package's metadata carries it.
try:
    __version__ = _metadata.version("agot")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"


# Heavier strategies load on first use so `import agot` stays fast.
__getattr__ = lazy_attributes(
    __name__,
    {
        "AGoT": "agot.controller",
        "Kairanban": "agot.kairanban",
        "AoT": "agot.strategies.atom_of_thoughts",
        "BestOfN": "agot.strategies.best_of_n",
        "ToT": "agot.strategies.tree_of_thoughts",
    },
)


@functools.cache
def _dispatcher_options() -> frozenset[str]:
    """Keyword arguments of :func:`solve` that configure the dispatcher (everything else
    configures the strategy): what :class:`Dispatcher` takes by keyword, and the
    :class:`~agot.backends.registry.BackendOptions` its ``**options`` become."""
    import inspect

    from agot.backends.registry import BackendOptions

    params = inspect.signature(Dispatcher.__init__).parameters.values()
    keywords = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return frozenset(keywords | set(BackendOptions.model_fields))


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
    dispatcher_options = {k: options.pop(k) for k in list(options) if k in _dispatcher_options()}
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
            f"{', '.join(sorted(_dispatcher_options() | {'timeout'}))})"
        )
    return get_strategy(name, **options)


__all__ = [
    "AGoT",
    "AgotError",
    "AoT",
    "BackendError",
    "BestOfN",
    "Budget",
    "BudgetExceeded",
    "CoT",
    "ConfigError",
    "DatasetError",
    "Direct",
    "Dispatcher",
    "Generation",
    "GenerationRequest",
    "Kairanban",
    "Limits",
    "Message",
    "Result",
    "RunFailedError",
    "SamplingParams",
    "SchemaError",
    "SelfConsistency",
    "Strategy",
    "Task",
    "ToT",
    "TraceEvent",
    "TransientBackendError",
    "UnreachableBackendError",
    "Usage",
    "__version__",
    "get_strategy",
    "run_sync",
    "solve",
]
