"""What the AGoT steps see: the task, the graph so far, a nested graph's heritage, known answers.

Every step sees the task's inputs and rules (for Game of 24: the four numbers and "each exactly
once"), not only the final synthesis. Prompts must still fit a small model's window while the
graph grows and multi-hop contexts run to thousands of tokens, so each block has a character
budget (:class:`ContextBudget`, sized from the backend's context window): passages are clipped
to theirs, and a graph view first shortens each answer and then drops the oldest thoughts
(saying so) until it fits. The backend still guards its window as a last resort.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from agot.graph import ThoughtGraph, ThoughtNode
from agot.text import clip

#: Characters per token assumed when sizing budgets from a token window (English prose ~4).
CHARS_PER_TOKEN = 3


@dataclass(frozen=True)
class ContextBudget:
    """Character budgets of the prompt blocks; see the module docstring."""

    task_chars: int = 6_000
    background_chars: int = 40_000
    graph_chars: int = 24_000
    heritage_chars: int = 8_000
    answer_chars: int = 1_500

    @classmethod
    def for_window(cls, max_context: int | None, reply_tokens: int) -> ContextBudget:
        """Budgets for a backend whose window is ``max_context`` tokens (None: large)."""
        if max_context is None:
            return cls()
        chars = max(2_000, (max_context - reply_tokens - 200) * CHARS_PER_TOKEN)
        return cls(
            task_chars=int(chars * 0.12),
            background_chars=int(chars * 0.35),
            graph_chars=int(chars * 0.3),
            heritage_chars=int(chars * 0.12),
            answer_chars=max(120, min(1_500, int(chars * 0.03))),
        )


def task_block(task: str, rules: str, background: str, budget: ContextBudget) -> str:
    """The top-level task as every step sees it: passages, the question, its rules."""
    parts = []
    if background.strip():
        parts.append("Context:\n" + _clip_block(background, budget.background_chars))
    parts.append("Task:\n" + _clip_block(task, budget.task_chars))
    if rules.strip():
        parts.append("Rules of the task (every step must respect them):\n" + rules.strip())
    return "\n\n".join(parts) + "\n\n"


def node_answer_text(node: ThoughtNode, limit: int) -> str:
    if node.status == "answered" and node.answer is not None:
        return clip(node.answer, limit)
    if node.status == "failed":
        return "(failed: no answer available)"
    if node.status == "skipped":
        return "(skipped: budget exhausted)"
    return "(not answered yet)"


#: Stands for an answer the prompt already shows in its "Known from the thoughts this one builds
#: on" block, so no answer is sent twice.
GIVEN = "(given under 'Known from the thoughts this one builds on')"


def _graph_lines(
    graph: ThoughtGraph,
    answer_chars: int,
    answered_only: bool,
    layer: int | None,
    given: Collection[str] = (),
    upto: int | None = None,
) -> list[str]:
    lines = []
    last = graph.layers - 1 if layer is None else layer
    for index in range(last + 1):
        current = index == layer  # thoughts in flight beside the reader: titles only
        nodes = [
            n
            for n in graph.layer(index)
            if (not answered_only or (n.status == "answered" and not current))
            and not (current and upto is not None and n.local > upto)
        ]
        if not nodes:
            continue
        strategy = graph.strategies.get(index)
        lines.append(f"Layer {index}" + (f" (strategy: {clip(strategy, 300)})" if strategy else ""))
        for node in nodes:
            parents = sorted(p.local for p in graph.parents(node.id))
            built_on = f" [builds on {', '.join(map(str, parents))}]" if parents else ""
            lines.append(
                f"  {node.local}. {clip(node.title, 80)}{built_on}: "
                f"{clip(node.question, answer_chars)}"
            )
            if not current:
                shown = GIVEN if node.id in given else node_answer_text(node, answer_chars)
                lines.append(f"     answer: {shown}")
    return lines


def graph_text(
    graph: ThoughtGraph,
    budget: ContextBudget | None = None,
    *,
    limit: int | None = None,
    answered_only: bool = False,
    layer: int | None = None,
    given: Collection[str] = (),
    upto: int | None = None,
) -> str:
    """The graph as numbered thoughts with their answers, within ``limit`` characters.

    With ``layer``, the view a thought of that layer gets while its siblings are still running:
    earlier layers with their answers, its own layer without (so the prompt does not depend on
    which sibling happens to finish first), later layers not at all. Thoughts in ``given`` are
    listed without their answers, which the prompt shows elsewhere. With ``upto``, that layer
    lists its thoughts up to number ``upto`` only: those written before it in the proposal, so
    a thought read from a proposal still being written gets the same prompt as from the whole.
    """
    budget = budget or ContextBudget()
    limit = budget.graph_chars if limit is None else limit
    answer_chars = budget.answer_chars
    lines = _graph_lines(graph, answer_chars, answered_only, layer, given, upto)
    while sum(len(x) + 1 for x in lines) > limit and answer_chars > 60:
        answer_chars //= 2
        lines = _graph_lines(graph, answer_chars, answered_only, layer, given, upto)
    if not lines:
        return "(empty)"
    dropped = 0
    while len(lines) > 2 and sum(len(x) + 1 for x in lines) > limit:
        lines.pop(0)
        dropped += 1
    head = [f"(the {dropped} oldest lines are omitted to fit)"] if dropped else []
    return "\n".join(head + lines)


def known_text(nodes: Sequence[ThoughtNode], budget: ContextBudget | None = None) -> str:
    """Answers of the thoughts a node builds on, as a block for its prompt."""
    if not nodes:
        return ""
    budget = budget or ContextBudget()
    rows = [f"- {clip(n.title, 80)}: {node_answer_text(n, budget.answer_chars)}" for n in nodes]
    text = _clip_block("\n".join(rows), budget.graph_chars)
    return "Known from the thoughts this one builds on:\n" + text + "\n\n"


def heritage_text(
    lineage: Sequence[tuple[ThoughtGraph, int]],
    budget: ContextBudget,
    given: Collection[str] = (),
) -> str:
    """For a nested graph: the questions above it and what those graphs had established.

    ``lineage`` pairs each enclosing graph with the layer of the thought expanded in it; only
    the answers of earlier layers are shown, which were final when the nested graph began.
    Nothing is said twice in a prompt: the top-level question is in the task block, so the
    chain of questions starts at "the task above", and the answers of the thoughts the
    expanded one builds on (``given``, ids in the innermost enclosing graph) are in the
    prompt's own "Known from" block.
    """
    if not lineage:
        return ""
    chain = " > ".join(["the task above", *(clip(g.question, 200) for g, _ in lineage[1:])])
    out = f"This is a sub-problem within: {chain}\n"
    share = budget.heritage_chars // len(lineage)
    for index, (graph, layer) in enumerate(lineage):
        shown_below = given if index == len(lineage) - 1 else ()
        known = graph_text(
            graph, budget, limit=share, answered_only=True, layer=layer, given=shown_below
        )
        if known != "(empty)":
            label = "the top-level graph" if graph.depth == 0 else f"graph {graph.prefix[:-1]}"
            out += f"What {label} had established:\n{known}\n"
    return out + "\n"


def _clip_block(text: str, limit: int) -> str:
    """Multi-line text cut to ``limit`` characters, keeping line breaks."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 40)].rstrip() + "\n[... clipped to fit the context window]"
