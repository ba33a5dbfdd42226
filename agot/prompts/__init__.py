"""Versioned prompt templates. Every template used in a run is recorded in its trace."""

from agot.prompts.template import PromptTemplate

__all__ = ["PromptTemplate"]
