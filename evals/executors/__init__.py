"""Where an eval's units run: in this process (default) or over a Ray cluster.

``RayExecutor`` and ``ModelActors`` are loaded on first use, so importing agot (or running an
eval without ``--ray``) never imports Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agot.evals.executors.base import Deliver, DispatcherSpec, Executor, Unit, UnitWork
from agot.evals.executors.local import LocalExecutor
from agot.lazy import lazy_attributes

if TYPE_CHECKING:
    from agot.evals.executors.model_actors import ModelActors
    from agot.evals.executors.ray_executor import RayExecutor

__all__ = [
    "Deliver",
    "DispatcherSpec",
    "Executor",
    "LocalExecutor",
    "ModelActors",
    "RayExecutor",
    "Unit",
    "UnitWork",
]


__getattr__ = lazy_attributes(
    __name__,
    {
        "RayExecutor": "agot.evals.executors.ray_executor",
        "ModelActors": "agot.evals.executors.model_actors",
    },
)
