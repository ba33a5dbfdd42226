"""Prompts of the AGoT controller (one per step). Bump a version when its wording changes."""

from agot.prompts.template import PromptTemplate

_SYSTEM = (
    "You are one step of a reasoning system that solves hard questions by building a graph of "
    "smaller thoughts. Reply with a JSON object only."
)

PROPOSE_FIRST = PromptTemplate(
    name="agot.propose_first",
    version="1",
    system=_SYSTEM,
    user=(
        "{heritage}{problem}\n\n"
        "Break this into at most {n} independent first thoughts: subproblems whose answers help "
        "answer the question. Give each a short title (at most 8 words) and self-contained "
        "content. Also state your overall strategy in one sentence."
    ),
)

PROPOSE_NEXT = PromptTemplate(
    name="agot.propose_next",
    version="1",
    system=_SYSTEM,
    user=(
        "{heritage}{problem}\n\nThe graph so far:\n{graph}\n\n"
        "Propose at most {n} new thoughts that build on the answers above and bring the question "
        "closer to an answer. For each, list the numbers of the thoughts it builds on as parents. "
        "Also state the strategy of this layer in one sentence."
    ),
)

ASSESS = PromptTemplate(
    name="agot.assess",
    version="1",
    system=_SYSTEM,
    user=(
        "{heritage}Main question: {question}\n\nThought {local}: {title}\n{content}\n\n"
        "Is this thought complex, i.e. does it need several further steps of its own, or can it "
        "be answered directly in one step? Justify briefly, then decide."
    ),
)

SOLVE = PromptTemplate(
    name="agot.solve",
    version="1",
    system=_SYSTEM,
    user=(
        "{heritage}Main question: {question}\n\n{known}"
        "Answer this thought concisely and precisely:\n{title}\n{content}"
    ),
)

CHECK = PromptTemplate(
    name="agot.check",
    version="1",
    system=_SYSTEM,
    user=(
        "{heritage}{problem}\n\nThe graph so far:\n{graph}\n\n"
        "Do these thoughts already give enough to answer the question with confidence?"
    ),
)

FINAL = PromptTemplate(
    name="agot.final",
    version="1",
    system=_SYSTEM,
    user=(
        "{heritage}{problem}\n\nThe graph of thoughts:\n{graph}\n\n"
        "Using these thoughts, answer the question. Put your reasoning in 'reasoning' and only "
        "the final answer in 'answer'.{answer_format}"
    ),
)

ALL = (PROPOSE_FIRST, PROPOSE_NEXT, ASSESS, SOLVE, CHECK, FINAL)
