"""The AGoT controller: engine (graph growth), schemas (structured steps), strategy (public API).

``AGoT`` is imported on first use, so reading a constant of a submodule (``bounds``, as the
command line's help texts do) does not load the engine.
"""

from typing import TYPE_CHECKING

from agot.lazy import lazy_attributes

if TYPE_CHECKING:
    from agot.controller.strategy import AGoT

__all__ = ["AGoT"]

__getattr__ = lazy_attributes(__name__, {"AGoT": "agot.controller.strategy"})
