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

from agot.prompts.template import PromptTemplate

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
