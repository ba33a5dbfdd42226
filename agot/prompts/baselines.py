"""Prompts of the baseline strategies (Direct, CoT, SelfConsistency)."""

from agot.prompts.template import PromptTemplate

DIRECT = PromptTemplate(
    name="direct",
    version="1",
    system="You are a careful expert. Answer the question concisely.",
    user="{problem}\n\nGive only the final answer, on one line starting with 'Answer:'.",
)

COT = PromptTemplate(
    name="cot",
    version="1",
    system="You are a careful expert who reasons step by step before answering.",
    user=(
        "{problem}\n\nThink step by step, then give the final answer on the last line, "
        "starting with 'Answer:'."
    ),
)
