"""Prompts of Tree of Thoughts (``tot``): Game of 24 propose / value / finish, and the generic
sample / vote form.

Written for agot from the method's description (Yao et al. 2023), not taken from its code. The
Game of 24 prompts describe the line format instead of showing a worked example: small models
copy an example's numbers verbatim (the same choice as the Game of 24 answer format).
"""

from agot.prompts.template import PromptTemplate

#: One propose call per kept state: every legal next move, one per line.
PROPOSE_24 = PromptTemplate(
    name="tot_propose_24",
    version="1",
    system="You explore the moves of the Game of 24 (reach 24 from the given numbers).",
    user=(
        "Numbers left: {numbers}\n\n"
        "List possible next moves. A move takes two of the numbers left, combines them with "
        "one of + - * /, and puts the result in their place. Write each move on its own line "
        "as '<a> <op> <b> = <result> (left: <every number remaining after the move>)'. Write "
        "only the move lines, nothing else."
    ),
)

#: Once a state's only number left is 24: turn its steps into one expression of the inputs.
FINISH_24 = PromptTemplate(
    name="tot_finish_24",
    version="1",
    system="You write Game of 24 solutions as single arithmetic expressions.",
    user=(
        "Puzzle numbers: {numbers}\n"
        "These steps reach 24, each step combining two numbers:\n{steps}\n\n"
        "Write one arithmetic expression that uses each puzzle number exactly once and combines "
        "them the way the steps do. Reply with one line of the form 'Answer: <expression> = 24'."
    ),
)

#: Several samples per state; the last line of each is a label (see VALUE_WEIGHTS).
VALUE_24 = PromptTemplate(
    name="tot_value_24",
    version="1",
    system="You judge whether numbers can still reach 24 in the Game of 24.",
    user=(
        "Numbers: {numbers}\n\n"
        "Can these numbers make exactly 24, each used once, with + - * / and parentheses? Try "
        "a few promising combinations briefly. Then end with a last line holding one word: "
        "sure (you found a way), likely (not found, but the numbers are in a reasonable range) "
        "or impossible (every try fails, or the numbers are far too small or too large)."
    ),
)

#: The value step for a finished trajectory: does its answer solve the puzzle?
VALUE_LAST_24 = PromptTemplate(
    name="tot_value_last_24",
    version="1",
    system="You check Game of 24 answers.",
    user=(
        "Puzzle numbers: {numbers}\n"
        "Proposed answer: {answer}\n\n"
        "Check the answer: it must use every puzzle number exactly once and no other number, "
        "and it must equal 24. End with a last line holding one word: sure (it is correct) or "
        "impossible (it is not)."
    ),
)

#: Generic form, an intermediate step: extend a partial line of reasoning by one step.
THINK = PromptTemplate(
    name="tot_think",
    version="1",
    system="You are a careful expert who reasons one step at a time.",
    user=(
        "{problem}\n\nReasoning so far:\n{so_far}\n\n"
        "Write the next step of the reasoning (a short paragraph that moves toward the answer). "
        "Do not give the final answer yet."
    ),
)

#: Generic form, the last step: complete the reasoning and answer.
FINISH = PromptTemplate(
    name="tot_finish",
    version="1",
    system="You are a careful expert who reasons step by step before answering.",
    user=(
        "{problem}\n\nReasoning so far:\n{so_far}\n\n"
        "Complete the reasoning, then give the final answer on the last line, starting with "
        "'Answer:'."
    ),
)

#: Generic form: one vote among the candidates of a step (several vote samples per step).
VOTE = PromptTemplate(
    name="tot_vote",
    version="1",
    system="You compare candidate lines of reasoning and pick the most promising one.",
    user=(
        "{problem}\n\nCandidates:\n\n{choices}\n\n"
        "Which candidate is most likely to lead to a correct answer? Compare them briefly, then "
        "end with a last line 'Best choice: <number>'."
    ),
)

#: What each value label is worth, summed over a state's value samples (the method's weights:
#: one "sure" outweighs any number of "likely" among a few samples).
VALUE_WEIGHTS = {"sure": 20.0, "likely": 1.0, "impossible": 0.001}

#: Crosswords: several samples per board state; each line a candidate word with a confidence.
PROPOSE_CROSSWORD = PromptTemplate(
    name="tot_propose_crossword",
    version="1",
    system="You solve 5x5 mini crosswords one word at a time.",
    user=(
        "{board}\n\n"
        "Propose answers for clues that are not filled yet, each consistent with the letters "
        "already on the board. Write one candidate per line as '<position>. <five-letter word> "
        "(<confidence>)', where the position is h1-h5 (across, rows top to bottom) or v1-v5 "
        "(down, columns left to right) and the confidence is certain, high, medium or low. "
        "Write only such lines."
    ),
)

#: Crosswords pruning: can a clue's answer still fit the letters its cells hold?
VALUE_CROSSWORD = PromptTemplate(
    name="tot_value_crossword",
    version="1",
    system="You judge whether a crossword answer can still fit.",
    user=(
        "Clue: {clue}\nLetters so far (_ = not yet known): {pattern}\n\n"
        "Could a five-letter answer to this clue have these letters in these places? Think "
        "briefly, then end with a last line holding one word: sure, maybe or impossible."
    ),
)

#: Crosswords: what each proposal confidence adds to a candidate's score, over the samples.
CONFIDENCE_WEIGHTS = {"certain": 1.0, "high": 0.5, "medium": 0.2, "low": 0.1}
