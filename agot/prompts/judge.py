"""The LLM judge's prompt: does a prediction mean the same as the gold answer?

The AGoT paper scores HotpotQA, MoreHopQA and HybridQA with a judge of semantic equivalence
instead of EM/F1. The wording is ours; its version is recorded with every judged result, so a
change of wording is a new version and old numbers stay attributable.
"""

from agot.prompts.template import PromptTemplate

JUDGE = PromptTemplate(
    name="judge",
    version="1",
    system=(
        "You grade answers to questions. Decide whether the predicted answer means the same "
        "as the gold answer, given the question. Differences in wording, word order, "
        "capitalisation, articles, abbreviations, number formatting or extra explanation do "
        "not matter when the prediction commits to the same answer. The prediction is not "
        "equivalent when it names a different entity or value, hedges between several "
        "answers, is missing part of a multi-part gold answer, or is so much more general or "
        "more specific that it no longer answers the question the same way. Judge only "
        "equivalence to the gold answer, not whether you think the gold answer is right."
    ),
    user=(
        "Question: {question}\n\n"
        "Gold answer: {gold}\n\n"
        "Predicted answer: {prediction}\n\n"
        'Reply with a JSON object with two keys: "equivalent" (true or false) and "reason" '
        "(one short sentence saying why)."
    ),
)
