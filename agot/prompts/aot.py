"""Prompts of Atom of Thoughts (``aot``): decompose into a DAG, solve, contract, ensemble.

Written for agot from the method's description (Teng et al. 2025), not taken from its code.
Subquestions are solved and the final (atomic) question answered with the task's own rendering
and answer format, so AoT's answers are scored like every other strategy's.
"""

from agot.prompts.template import PromptTemplate

#: One call per iteration: the subquestions and, for each, which earlier ones it needs.
DECOMPOSE = PromptTemplate(
    name="aot_decompose",
    version="1",
    system="You break questions into the smaller questions that answer them.",
    user=(
        "{problem}\n\n"
        "Break this question into the subquestions needed to answer it, in the order they "
        "would be answered (at most {max_subquestions}). Each subquestion is short and asks "
        "one thing. For each, list the numbers (1 = the first subquestion) of the earlier "
        "subquestions whose answers it needs; the list is empty when it can be answered on "
        "its own. A question that is already a single step has one subquestion."
    ),
)

#: One call per independent subquestion (no dependencies), all concurrent.
SOLVE = PromptTemplate(
    name="aot_solve",
    version="1",
    system="You answer short questions accurately and briefly.",
    user=(
        "{context}Question: {question}\n\n"
        "Think briefly, then give the answer on the last line, starting with 'Answer:'."
    ),
)

#: The contraction: solved subquestions become given facts of a new, self-contained question.
CONTRACT = PromptTemplate(
    name="aot_contract",
    version="1",
    system="You rewrite questions so that they stand on their own.",
    user=(
        "Question:\n{question}\n\n"
        "Facts already established:\n{facts}\n\n"
        "Still to work out:\n{open}\n\n"
        "Rewrite the question as one new question that states the established facts as "
        "given and asks only for what is still needed to answer the original question. It "
        "must be answerable on its own, without the original. Write only the new question."
    ),
)

#: When the direct answer and the contracted chain's answer disagree: which one stands.
ENSEMBLE = PromptTemplate(
    name="aot_ensemble",
    version="1",
    system="You are a careful expert who compares solutions before answering.",
    user=(
        "{problem}\n\n"
        "Two solutions were written independently.\n\n"
        "Solution 1:\n{first}\n\nSolution 2:\n{second}\n\n"
        "Check both, decide which final answer is correct (or give the correct one if "
        "neither is), and end with the final answer on the last line, starting with 'Answer:'."
    ),
)
