"""Hostile model replies for the answer parsers: long runs that make a backtracking pattern
with overlapping quantifiers quadratic (shared by the linear-time test and the benchmark)."""

from __future__ import annotations

from collections.abc import Callable


def hostile_replies(size: int = 100_000) -> dict[str, str]:
    """Name -> a reply of about ``size`` characters."""
    pad = " " * size
    return {
        "newlines": "\n" * size + "x",
        "answer+spaces": "answer" + pad + "x",
        "Answer:+spaces": "Answer:" + pad + "?",
        "Answer:+spaces+letter": "Answer:" + pad + "B",
        "answer is+spaces": "The answer is" + pad + "?",
        "repeated Answer:": "Answer:" * (size // 7),
        "repeated Answer:\\n": "Answer:\n" * (size // 8),
        "stars": "*" * size,
        "decorations": "(*_`'\"[" * (size // 7),
        "digits": "1" * size,
        "digit groups": "1," * (size // 2) + "x",
        "one long line": "a" * size,
        "expression": "1+" * (size // 2) + "1",
        "nested parens": "(" * (size // 2) + ")" * (size // 2),
        "underscores": "_`" * (size // 2) + "_",
        "grid-like": "ABCDE\n" * (size // 6),
        "prose": (_PROSE * (size // len(_PROSE) + 1))[:size],
        "markdown answers": "**Answer:** the Amsel River, 1,312 cities.\n" * (size // 42),
    }


_PROSE = (
    "The cities of Corvin and Pellham, along the Amsel River, won 1,312 games in 2019; "
    "a team's record (an 'unbroken' run) was the best. "
)


def parsers() -> dict[str, Callable[[str], object]]:
    """Name -> every parser that reads raw model text."""
    from agot.answers import extract_answer
    from agot.evals.scorers import extract_choice, qa_scores, simple_evals_choice
    from agot.evals.scorers.fanoutqa import answer_in_text
    from agot.evals.scorers.musique import answer_scores, read_fields
    from agot.evals.scorers.squad import squad_scores
    from agot.evals.tasks.crosswords import parse_grid
    from agot.evals.tasks.crosswords_tot import tot_crossword
    from agot.evals.tasks.game24_tot import tot_verdict
    from agot.evals.tasks.game24_verify import verify_answer, verify_expression

    return {
        "extract_answer": extract_answer,
        "extract_choice (lenient)": extract_choice,
        "simple_evals_choice": simple_evals_choice,
        "game24 tot_verdict (default)": lambda t: tot_verdict(t, [4, 6, 8, 8]),
        "game24 tot_verdict (1s)": lambda t: tot_verdict(t, [1, 1, 1, 1]),
        "game24 verify_answer (lenient)": lambda t: verify_answer(t, [4, 6, 8, 8]),
        "game24 verify_expression": lambda t: verify_expression(t, [4, 6, 8, 8]),
        "crosswords tot_crossword (default)": lambda t: tot_crossword(
            t, "HEARTEMBERABUSERESINTREND"
        ),
        "crosswords parse_grid (lenient)": parse_grid,
        "fanoutqa answer_in_text": lambda t: answer_in_text(["Corvin United", 1312], t),
        "musique answer_scores": lambda t: answer_scores(t, ["Amsel River"]),
        "musique read_fields (full)": read_fields,
        "hotpotqa qa_scores": lambda t: qa_scores(t, ["Amsel River"]),
        "hybridqa squad_scores": lambda t: squad_scores(t, ["Amsel River"]),
    }
