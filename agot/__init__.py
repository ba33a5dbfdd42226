"""agot: test-time reasoning orchestration.

>>> import agot
>>> r = agot.solve("What is 17 * 23?", strategy="cot")   # embedded local model
>>> r.answer, r.usage

Async: ``await agot.AGoT(max_depth=1).solve(question, model="openai/gpt-4o-mini")``.
"""

from __future__ import annotations

import os
from importlib import metadata as _metadata
from typing import TYPE_CHECKING

# litellm must use its bundled price map, never fetch one at run time (the user may override).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# First: imported from the repository's agot/ folder (python -m agot in a clone), this finds
# agot.backends and agot.evals in backends/ and evals/ beside it, as an install maps them.
from agot._source_tree import FROM_SOURCE_TREE as _FROM_SOURCE_TREE  # noqa: F401
from agot.api import solve
from agot.budget import Budget
from agot.dispatcher import Dispatcher, DispatcherOptions
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
    "DispatcherOptions",
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
