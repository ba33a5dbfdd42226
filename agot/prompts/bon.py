"""Prompt of best-of-N's model verifier, used when the task has no exact verifier.

Written for agot. The samples themselves use the CoT prompt (:mod:`agot.prompts.baselines`),
so best-of-N differs from self-consistency only in how the kept sample is chosen.
"""

from agot.prompts.template import PromptTemplate

VERIFY = PromptTemplate(
    name="bon_verify",
    version="1",
    system="You check solutions for mistakes and rate how likely their final answer is right.",
    user=(
        "{problem}\n\nA proposed solution:\n{solution}\n\n"
        "Check the solution's reasoning and its final answer for mistakes. Then rate how "
        "likely its final answer is correct, from 0 (surely wrong) to 10 (surely right)."
    ),
)
