"""The AGoT controller: engine (graph growth), schemas (structured steps), strategy (public API)."""

from agot.controller.strategy import AGoT

__all__ = ["AGoT"]
