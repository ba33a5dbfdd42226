"""Checking and fitting a Kairanban configuration: what its constructor validates.

Kept apart from the chain so the rules (positive counts, one value per agent or one for all,
notes short enough for a grammar-bound reply to close) read on their own.
"""

from __future__ import annotations

from typing import Any

from agot.errors import ConfigError

AGGREGATES = ("last", "mean", "vote")
#: Agents in a chain unless told otherwise (the CLI, the variants and the eval runner alike).
DEFAULT_AGENTS = 5
#: Agents a chain may have: each is at least one sequential call, so a typo (``--agents
#: 1000000``) would otherwise run until killed. The method's chains have a handful.
MAX_AGENTS = 100
#: Tokens of JSON syntax and keys of a document, and per label of its distribution.
DOCUMENT_OVERHEAD_TOKENS = 12
LABEL_OVERHEAD_TOKENS = 6
#: Smallest note cap we shrink to.
MIN_NOTE_CHARS = 16
#: Longest idobata comment kept (characters); the rest is cut.
MAX_COMMENT_CHARS = 500


def default_idobata_at(agents: int) -> int:
    """Where the idobata round goes when none is named: after agent ``agents // 2 + 1``, so
    about half the chain reads the conversation (3 of 5)."""
    return agents // 2 + 1


def fitted_note_chars(note_chars: int, max_tokens: int, labels: int) -> int:
    """The notes' ``maxLength`` lowered so a grammar-bound reply can close within ``max_tokens``.

    A cap the token budget cannot hold makes the grammar write notes until ``max_tokens`` cuts
    the JSON, and the dispatcher re-asks in vain. The distribution needs about
    ``LABEL_OVERHEAD_TOKENS`` per label plus ``DOCUMENT_OVERHEAD_TOKENS`` of syntax; the rest,
    at an assumed two characters per token shared by two notes, caps each note (at least
    ``MIN_NOTE_CHARS``). With ``max_tokens=64`` and three labels a note gets 34 characters.
    """
    room = max_tokens - DOCUMENT_OVERHEAD_TOKENS - LABEL_OVERHEAD_TOKENS * labels
    return min(note_chars, max(MIN_NOTE_CHARS, room))


def per_agent(values: Any, agents: int, what: str) -> list[Any] | None:
    """None, one value for every agent, or exactly one per agent."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    try:
        items = list(values)
    except TypeError:
        raise ConfigError(f"{what} must be a list (one per agent, or one for all)") from None
    if len(items) == 1:
        return items * agents
    if len(items) != agents:
        raise ConfigError(
            f"got {len(items)} {what} for {agents} agents: give one for all agents or "
            f"exactly one per agent"
        )
    return items
