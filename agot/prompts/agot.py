"""Prompts of the AGoT controller (one per step). Bump a version when its wording changes.

Every user template starts with ``{task}`` (passages, the top-level task and its rules) and
``{heritage}`` (for a nested graph: the questions above it and what their graphs established),
then ``{problem}``: the question this graph answers, with what it builds on. Nothing is sent
twice in one prompt: the top-level question only in ``{task}``, an answer the prompt's "known"
block gives not again in its graph views (see :mod:`agot.prompts.agot_context`).
"""

from agot.prompts.template import PromptTemplate

_SYSTEM = (
    "You are one step of a reasoning system that solves hard tasks by building a graph of "
    "smaller thoughts. Respect the task's rules in every step. Reply with a JSON object only."
)

PROPOSE_FIRST = PromptTemplate(
    name="agot.propose_first",
    version="3",
    system=_SYSTEM,
    user=(
        "{task}{heritage}{problem}\n\n"
        "Break this into at most {n} first thoughts: subproblems that can be worked on "
        "independently and whose answers help solve it. Give each a short title (at most 8 "
        "words) and self-contained content that states every input and rule it needs. State "
        "your overall strategy in one sentence."
    ),
)

PROPOSE_NEXT = PromptTemplate(
    name="agot.propose_next",
    version="3",
    system=_SYSTEM,
    user=(
        "{task}{heritage}{problem}\n\nThe graph so far (each thought with its answer):\n"
        "{graph}\n\n{stop_rule}"
        "Propose at most {n} new thoughts that build on the answers above, listing as parents "
        "the numbers of the thoughts each builds on. In 'strategy' say what the graph still "
        "lacks, or why it is complete."
    ),
)

ASSESS = PromptTemplate(
    name="agot.assess",
    version="4",
    system=_SYSTEM,
    user=(
        # Same opening as SOLVE (task, heritage, problem, known): with a serial local model the
        # answer of a thought reuses the KV cache of its assessment's prompt.
        "{task}{heritage}{problem}\n\n{known}The graph so far:\n{graph}\n\n"
        "Thought {local}: {title}\n{content}\n\n"
        "Is this thought complex: does it need several further steps of its own, or can it be "
        "answered directly in one step? A thought that repeats an existing one, or whose answer "
        "follows directly from the answers above, is not complex. Justify briefly, then decide."
    ),
)

SOLVE = PromptTemplate(
    name="agot.solve",
    version="3",
    system=_SYSTEM,
    user=(
        "{task}{heritage}{problem}\n\n{known}"
        "Work out this thought:\nThought {local}: {title}\n{content}\n\n"
        "Reason step by step in 'reasoning', then give only the result in 'answer'."
    ),
)

#: The early-stop clause of PROPOSE_NEXT (left out when the run must use every layer).
STOP_RULE = (
    "If these answers already settle the problem, set ready to true and propose no thoughts. "
    "Otherwise: "
)

FINAL = PromptTemplate(
    name="agot.final",
    version="3",
    system=_SYSTEM,
    user=(
        "{task}{heritage}{problem}\n\nThe graph of thoughts (each with its answer):\n{graph}\n\n"
        "Using these thoughts, solve the problem. Put your reasoning in 'reasoning' and only "
        "the final answer in 'answer'.{answer_format}"
    ),
)
