"""Prompts of the Kairanban (KCS) chain and the Idobata (IBC) conversation.

Ueno & Inoshita (2025), arXiv 2506.21565. An agent of the chain writes a *document* (analysis R,
reasoning S, distribution P) after reading the text and the previous agent's document; during the
idobata round each agent adds one short casual comment. Both templates take only ``str.format``
fields, so what an agent saw can be rebuilt from the trace (templates are versioned: change the
wording, bump the version).

Fields of :data:`AGENT` — system: ``agent``, ``agents``, ``persona``; user: ``labels``,
``text``, ``board``, ``dialogue``, ``schema_hint``. Fields of :data:`COMMENT` — system:
``agent``, ``agents``, ``persona``; user: ``labels``, ``text``, ``board``, ``dialogue``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agot.prompts.template import PromptTemplate

if TYPE_CHECKING:
    from agot.kairanban.schemas import AgentDocument, Comment

AGENT = PromptTemplate(
    name="kairanban-agent",
    version="1",
    system=(
        "You are agent {agent} of {agents} in a kairanban: a notice board that circulates "
        "through a neighbourhood. You read the text and the document the previous agent left "
        "on the board, then write your own document for the next agent: an analysis of the "
        "text, your reasoning step by step (say where you agree or disagree with the board and "
        "why), and a probability for every label.{persona}"
    ),
    user=(
        "Labels: {labels}\n\n"
        "Text:\n<<<\n{text}\n>>>\n\n"
        "{board}\n\n"
        "{dialogue}"
        "Write your document. Probabilities are numbers between 0 and 1, one per label, "
        "summing to 1; keep some probability on labels you cannot rule out. Reply with only "
        "{schema_hint}."
    ),
)

COMMENT = PromptTemplate(
    name="idobata-comment",
    version="1",
    system=(
        "You are agent {agent} of {agents}, chatting casually with your neighbours at the "
        "village well (idobata). Speak freely and briefly, like a neighbour, not like a "
        "report.{persona}"
    ),
    user=(
        "Labels: {labels}\n\n"
        "Text:\n<<<\n{text}\n>>>\n\n"
        "{board}\n\n"
        "{dialogue}"
        "Add one short casual comment (one or two sentences) on how the text feels to you. "
        "Mention a view or a nuance the board may have missed, even a minority one. Reply with "
        "the comment only."
    ),
)

#: Section headings; tests look for them to check what each agent saw.
BOARD_HEADING = "Notice board (document of agent {agent}):"
EMPTY_BOARD_HEADING = "Notice board (empty: you are the first agent):"
DIALOGUE_HEADING = "Idobata conversation (held after agent {agent}):"
NO_NOTE = "(none yet)"


def board_text(board: AgentDocument | None, labels: Sequence[str]) -> str:
    """The notice board as an agent reads it (the empty board before agent 1)."""
    if board is None or board.distribution is None:
        zeros = ", ".join(f"{label}=0.00" for label in labels)
        return (
            f"{EMPTY_BOARD_HEADING}\n"
            f"analysis: {NO_NOTE}\nreasoning: {NO_NOTE}\n"
            f"distribution: {zeros}"
        )
    dist = ", ".join(f"{label}={board.distribution[label]:.2f}" for label in labels)
    return (
        f"{BOARD_HEADING.format(agent=board.agent)}\n"
        f"analysis: {board.analysis.strip() or NO_NOTE}\n"
        f"reasoning: {board.reasoning.strip() or NO_NOTE}\n"
        f"distribution: {dist}"
    )


def dialogue_text(dialogue: Sequence[Comment], idobata_at: int | None) -> str:
    """The idobata comments so far (empty when nobody has spoken)."""
    spoken = [c for c in dialogue if not c.error and c.text]
    if not spoken:
        return ""
    lines = "\n".join(f"- agent {c.agent}: {c.text}" for c in spoken)
    return f"{DIALOGUE_HEADING.format(agent=idobata_at)}\n{lines}\n\n"


def schema_hint(labels: Sequence[str]) -> str:
    """The reply's shape in words."""
    # Described, not shown as a filled-in example: small models copy example values (and
    # placeholder text) verbatim. Grammar-enforcing backends get the exact shape anyway,
    # and a re-ask quotes the JSON schema.
    quoted = ", ".join(json.dumps(label) for label in labels)
    return (
        'a JSON object with three keys: "analysis" (a short note), "reasoning" (a short '
        'note) and "distribution" (an object giving each of the labels '
        f"{quoted} a probability between 0 and 1, summing to 1)"
    )
