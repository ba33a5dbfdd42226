"""agot: test-time reasoning orchestration.

>>> import agot
>>> r = agot.solve("What is 17 * 23?", strategy="cot")   # embedded local model
>>> r.answer, r.usage

Async: ``await agot.AGoT(max_depth=1).solve(question, model="openai/gpt-4o-mini")``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# litellm must use its bundled price map, never fetch one at run time (the user may override).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import (
    AgotError,
    BackendError,
    BudgetExceeded,
    ConfigError,
    DatasetError,
    SchemaError,
    TransientBackendError,
)
from agot.limits import Limits
from agot.result import Result
from agot.strategies import CoT, Direct, SelfConsistency, Strategy, get_strategy
from agot.sync import run_sync
from agot.task import Task
from agot.trace import TraceEvent
from agot.types import Generation, GenerationRequest, Message, SamplingParams, Usage

if TYPE_CHECKING:
    from agot.controller import AGoT
    from agot.kairanban import Kairanban

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Heavier strategies load on first use so `import agot` stays fast.
    if name == "AGoT":
        from agot.controller import AGoT

        return AGoT
    if name == "Kairanban":
        from agot.kairanban import Kairanban

        return Kairanban
    raise AttributeError(f"module 'agot' has no attribute {name!r}")


def solve(
    question: str | Task,
    *,
    strategy: str | Strategy = "agot",
    model: str | None = None,
    **options: Any,
) -> Result:
    """Solve ``question`` synchronously (default: AGoT on the embedded local model).

    ``options`` go to the dispatcher (``limits``, ``budget``, ``cache``, ``api_base``, ...).
    """
    chosen = get_strategy(strategy) if isinstance(strategy, str) else strategy
    return run_sync(chosen.solve(question, model=model, **options))


__all__ = [
    "AGoT",
    "AgotError",
    "BackendError",
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
    "SamplingParams",
    "SchemaError",
    "SelfConsistency",
    "Strategy",
    "Task",
    "TraceEvent",
    "TransientBackendError",
    "Usage",
    "__version__",
    "get_strategy",
    "run_sync",
    "solve",
]
