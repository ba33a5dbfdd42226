"""Every parser of model text is linear: hostile 100,000-character replies finish fast.

The target is 10 ms per call (``benchmarks/bench_parsers.py`` prints the measured numbers);
the bound here is generous because the test machine is shared, while a quadratic parser
takes seconds on these inputs.
"""

from __future__ import annotations

import time

import pytest

from agot.testing.hostile_inputs import hostile_replies, parsers

BOUND_S = 0.25
REPLIES = hostile_replies(100_000)


@pytest.mark.parametrize("parser", list(parsers()))
def test_parser_finishes_fast_on_hostile_replies(parser):
    parse = parsers()[parser]
    slow = {}
    for label, text in REPLIES.items():
        best = float("inf")
        for _ in range(2):  # best of two: a scheduler hiccup is not the parser's cost
            started = time.perf_counter()
            parse(text)
            best = min(best, time.perf_counter() - started)
        if best > BOUND_S:
            slow[label] = round(best, 3)
    assert not slow, f"{parser} is slow on {slow}"


def test_parsers_still_read_an_answer_after_a_long_ramble():
    from agot.answers import extract_answer
    from agot.evals.scorers import extract_choice, simple_evals_choice
    from agot.evals.tasks.game24_verify import verify_answer

    ramble = "thinking... " * 10_000
    assert extract_answer(ramble + "\nAnswer: Paris") == "Paris"
    assert extract_choice(ramble + "\nAnswer: (C)") == "C"
    assert simple_evals_choice(ramble + "\nAnswer: C") == "C"
    assert verify_answer(ramble + "\nAnswer: (8 - 4) * 6 = 24", [4, 6, 8, 8]).ok is False
    assert verify_answer(ramble + "\nAnswer: 8 / (8 / 6) * 4", [4, 6, 8, 8]).ok
