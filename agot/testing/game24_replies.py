"""Generated Game of 24 replies: the forms models write, for the parity test and the benchmark.

``reply_forms`` names each way a model states an expression (ToT's plain last line, markdown,
LaTeX, Unicode operators, a code fence, text after the answer, ...); ``realistic_mix`` draws a
fixed mix of them over real puzzles, a third with wrong expressions, so the official and the
lenient rule can be compared on one set of replies.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from agot.evals.tasks.game24_solver import solvable_puzzles, solve

Form = Callable[[str], str]


def _placed(template: str) -> Form:
    return lambda e: template.format(e=e)


#: Name -> a reply around the expression ``{e}`` (a correct one, in ASCII), for the forms that
#: only place it; :data:`REPLY_FORMS` adds those that rewrite it.
TEMPLATES: dict[str, str] = {
    "tot plain": "Steps: ...\nAnswer: {e}",
    "tot = 24": "Answer: {e} = 24",
    "bare last line": "Let me try.\n{e}",
    "states 25": "Answer: {e} = 25",
    "no space after colon": "Answer:{e}",
    "text after answer": "Answer: {e}\nThis uses every number once.",
    "bold label": "**Answer:** {e}",
    "backticks": "Answer: `{e}`",
    "code fence": "Answer:\n```\n{e}\n```",
    "full-width colon": "Answer：{e}",
    "final answer": "Final answer: {e}",
    "trailing period": "Answer: {e}.",
    "repeated answer lines": "Answer: 1 + 2\nWait.\nAnswer: {e}\nAnswer: {e}",
    "unary minus": "Answer: -(-({e}))",
}
#: Name -> how a reply wraps the expression ``e``.
REPLY_FORMS: dict[str, Form] = {
    **{name: _placed(template) for name, template in TEMPLATES.items()},
    "latex times": lambda e: "Answer: \\(" + e.replace("*", " \\times ") + "\\)",
    "unicode times": lambda e: f"Answer: {e.replace('*', '×').replace('/', '÷')}",
    "unicode minus": lambda e: f"Answer: {e.replace('-', '−')}",
    "x for times": lambda e: f"Answer: {e.replace('*', ' x ')}",
}

#: Replies ToT's rule credits with operators agot's lenient reader refuses: (text, numbers).
TOT_ONLY: list[tuple[str, list[int]]] = [
    ("Answer: 2^3 * (4 - 1)", [1, 2, 3, 4]),
    ("Answer: 2**3 * (4 - 1)", [1, 2, 3, 4]),
    ("Answer: 3 * 8 * 8 // 8", [3, 8, 8, 8]),
    ("Answer: -(-(13 - 9) * (10 - 4))", [4, 9, 10, 13]),
    ("Answer: (13 - 9) * (10 - 4) = 25", [4, 9, 10, 13]),
    ("Answer: (13 - 9) * (10 - 4.)", [4, 9, 10, 13]),
]

#: How often each form appears in the realistic mix (weights, not shares).
MIX_WEIGHTS: dict[str, int] = {
    "tot plain": 30,
    "tot = 24": 12,
    "bare last line": 4,
    "states 25": 2,
    "no space after colon": 3,
    "text after answer": 12,
    "bold label": 10,
    "backticks": 3,
    "code fence": 3,
    "latex times": 4,
    "unicode times": 5,
    "unicode minus": 1,
    "x for times": 2,
    "full-width colon": 1,
    "final answer": 4,
    "trailing period": 4,
    "unary minus": 1,
}


def _wrong(expression: str, rng: random.Random) -> str:
    """A plausible slip: one operator changed (the numbers stay the puzzle's)."""
    spots = [i for i, ch in enumerate(expression) if ch in "+-*/"]
    i = rng.choice(spots)
    swapped = {"+": "-", "-": "+", "*": "+", "/": "*"}[expression[i]]
    return expression[:i] + swapped + expression[i + 1 :]


def realistic_mix(n: int = 600, seed: int = 26) -> list[tuple[str, list[int], str]]:
    """``n`` replies ``(text, numbers, form)``: two thirds state a right expression, a third a
    wrong one, each wrapped in a form drawn by :data:`MIX_WEIGHTS`."""
    rng = random.Random(seed)
    puzzles = solvable_puzzles()
    names = list(MIX_WEIGHTS)
    weights = [MIX_WEIGHTS[k] for k in names]
    out = []
    for _ in range(n):
        numbers = list(rng.choice(puzzles))
        expression = solve(numbers)
        assert expression is not None
        if rng.random() < 1 / 3:
            expression = _wrong(expression, rng)
        form = rng.choices(names, weights)[0]
        out.append((REPLY_FORMS[form](expression), numbers, form))
    return out
