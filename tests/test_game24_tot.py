"""Game of 24's default metric is Tree of Thoughts' own ``test_output`` rule.

The reference below is written from ToT's published rule (src/tot/tasks/game24.py,
``Game24Task.test_output``): strip the reply, take its last line, lowercase it, delete every
"answer: ", cut at the first "=", require the digit runs (sorted as strings) to be the puzzle's
numbers, and ask sympy whether the expression equals 24. ToT pins sympy 1.12, which compares a
Float with an Integer by value; sympy 1.13 and later do not, so the reference accepts a Float
equal to 24.0 explicitly. It needs sympy (installed with torch in dev) and is skipped without.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest

from agot.evals.records import EvalRecord
from agot.evals.tasks.game24 import GAME24
from agot.evals.tasks.game24_tot import tot_expression, tot_value, tot_verdict
from agot.evals.tasks.game24_verify import verify_answer
from agot.testing.game24_replies import REPLY_FORMS, TOT_ONLY, realistic_mix

N = [4, 9, 10, 13]
E = "(13 - 9) * (10 - 4)"


def tot_reference(reply: str, numbers: list[int]) -> bool:
    sympy = pytest.importorskip("sympy")
    line = reply.strip().split("\n")[-1].lower().replace("answer: ", "").split("=")[0]
    if sorted(re.findall(r"\d+", line)) != sorted(str(n) for n in numbers):
        return False
    try:
        value = sympy.simplify(line)
    except Exception:  # ToT catches every sympy error and scores 0
        return False
    return bool(value == 24 or (isinstance(value, sympy.Float) and value == sympy.Float(24)))


# -- the forms the issue lists -----------------------------------------------------------------
@pytest.mark.parametrize(
    "form",
    [
        "no space after colon",
        "text after answer",
        "bold label",
        "backticks",
        "latex times",
        "unicode times",
        "unicode minus",
        "x for times",
        "full-width colon",
        "final answer",
    ],
)
def test_forms_only_the_lenient_reader_credits(form: str) -> None:
    reply = REPLY_FORMS[form](E)
    assert not tot_verdict(reply, N).ok
    assert verify_answer(reply, N).ok


@pytest.mark.parametrize(("reply", "numbers"), TOT_ONLY)
def test_forms_only_tot_credits(reply: str, numbers: list[int]) -> None:
    assert tot_verdict(reply, numbers).ok
    assert not verify_answer(reply, numbers).ok


def test_only_the_last_line_counts_and_after_the_first_equals_sign_nothing() -> None:
    assert tot_verdict(f"Answer: {E}\nAnswer: 1 + 2", N).ok is False
    assert tot_verdict(f"Answer: 1 + 2\nAnswer: {E}\n\n  ", N).ok
    assert tot_expression("x\nANSWER: (1+2) == 3 = 4") == "(1+2) "
    assert tot_verdict(f"Answer: {E} = 24 = 24", N).ok
    assert not tot_verdict("Answer: 24 = (13 - 9) * (10 - 4)", N).ok


def test_numbers_are_compared_as_text_and_sympy_syntax_applies() -> None:
    assert not tot_verdict("Answer: (13 - 09) * (10 - 4)", N).ok  # "09" is not "9"
    assert not tot_verdict("Answer: (13 - 9) * (10 - 4) * 1", N).ok
    assert tot_verdict("Answer: (13 - 9) * (10 - 4) # checked", N).ok  # a Python comment
    assert not tot_verdict("Answer: (13 - 9) * (10 - 4) # 4 9 10 13", N).ok
    assert tot_verdict("4! * (10 - 9)", [4, 9, 10]).ok
    assert not tot_verdict("4 ! * (13 - 9)", [4, 9, 13]).ok  # a space before "!" breaks it
    assert not tot_verdict("Answer: (13 - 9)(10 - 4)", N).ok  # no implicit product


def test_values_are_exact_and_floats_are_doubles() -> None:
    assert tot_value("8/(3-8/3)").exact == Fraction(24)
    assert tot_value("8/(3.-8/3)").real == pytest.approx(24.0)
    assert tot_value("-7//2").exact == -4 and tot_value("7%-2").exact == -1
    assert tot_value("-4//(1/2)").exact == -9  # sympy's divmod, one below floor
    assert tot_value("4**(1/2)").exact == 2 and tot_value("2^3!").exact == 64


def test_work_is_bounded_on_exploding_expressions() -> None:
    for expression in [
        "9**9**9**9",
        "(13*12)!!",
        "99!!!",
        "1<<(13**13)",
        "(" * 500 + "4" + ")" * 500,
    ]:
        verdict = tot_verdict(expression, re.findall(r"\d+", expression))
        assert not verdict.ok and "ToT rule" in verdict.reason


# -- parity on generated replies ------------------------------------------------------------
def _right(numbers: list[int]) -> list[str]:
    """Every way to reach 24 with + - * / over ``numbers``, fully parenthesised."""
    found: list[str] = []

    def combine(items: list[tuple[Fraction, str]]) -> None:
        if len(items) == 1:
            if items[0][0] == 24:
                found.append(items[0][1][1:-1] if len(found) % 2 else items[0][1])
            return
        for i, (a, x) in enumerate(items):
            for j, (b, y) in enumerate(items):
                if i == j:
                    continue
                rest = [item for k, item in enumerate(items) if k not in (i, j)]
                steps = [(a + b, "+"), (a - b, "-"), (a * b, "*")] + ([(a / b, "/")] if b else [])
                for value, op in steps:
                    combine([*rest, (value, f"({x} {op} {y})")])

    combine([(Fraction(n), str(n)) for n in numbers])
    return found


def _random(numbers: list[int], rng: random.Random) -> str:
    """A random expression over ``numbers`` with any of sympy's operators (mostly wrong)."""
    items = [str(n) for n in numbers]
    rng.shuffle(items)
    while len(items) > 1:
        a, b = items.pop(), items.pop()
        op = rng.choice(["+", "-", "*", "/", "//", "%", "**", "^"])
        if op in ("**", "^") and not (a.isdigit() and b.isdigit()):
            op = "*"  # a power of a power can take sympy minutes
        items.append(f"({a} {op} {b})" if rng.random() < 0.6 else f"{a}{op}{b}")
    return items[0]


def _solutions(numbers: list[int], rng: random.Random) -> list[str]:
    right = _right(numbers)
    out = rng.sample(right, min(6, len(right))) + [_random(numbers, rng) for _ in range(6)]
    for i, expression in enumerate(out):
        if rng.random() < 0.15:
            out[i] = "-(-" + expression + ")" if rng.random() < 0.5 else "+" + expression
        elif rng.random() < 0.15:
            out[i] = expression.replace(str(numbers[0]), str(numbers[0]) + ".", 1)
        elif rng.random() < 0.1:
            out[i] = expression.replace(" ", "")
    return out


def generated_replies(seed: int = 24) -> list[tuple[str, list[int]]]:
    rng = random.Random(seed)
    puzzles = [[4, 9, 10, 13], [1, 2, 3, 4], [3, 3, 8, 8], [1, 5, 5, 5], [2, 3, 5, 12]]
    ramble = "Let me think about which pairs make 6 and 4. " * 25
    cases: list[tuple[str, list[int]]] = []
    for numbers in puzzles:
        for expression in _solutions(numbers, rng):
            for form in REPLY_FORMS.values():
                cases.append((form(expression), numbers))
            size = rng.choice([10_000, 40_000, 100_000])
            long = (ramble * (size // len(ramble) + 1))[:size]
            cases.append((f"{long}\nAnswer: {expression}", numbers))
            cases.append((f"Answer: {expression}\n{long}", numbers))
            cases.append((f"Answer: {expression} " + " " * size, numbers))
            cases.append(("$$" + expression.replace("*", "\\cdot ") + "$$", numbers))
            cases.append((f"Answer: {expression}\r\n", numbers))
            cases.append((f"Answer: {expression}\u00a0\u2003", numbers))
            cases.append((f"Answer: {expression.replace('4', '４')}", numbers))
    cases += [(text, numbers) for text, numbers in TOT_ONLY]
    return cases


def test_tot_rule_matches_the_reference_on_generated_replies() -> None:
    pytest.importorskip("sympy")
    cases = generated_replies()
    credited = 0
    for reply, numbers in cases:
        expected = tot_reference(reply, numbers)
        assert tot_verdict(reply, numbers).ok == expected, (reply[-200:], numbers)
        credited += expected
    assert len(cases) > 1_200
    assert 100 < credited < len(cases) - 500  # both outcomes are well covered


def test_realistic_mix_tot_rule_matches_the_reference_and_differs_from_the_lenient() -> None:
    pytest.importorskip("sympy")
    mix = realistic_mix(300)
    official = [tot_verdict(text, numbers).ok for text, numbers, _ in mix]
    lenient = [verify_answer(text, numbers).ok for text, numbers, _ in mix]
    assert official == [tot_reference(text, numbers) for text, numbers, _ in mix]
    assert sum(lenient) > sum(official)  # the lenient reader credits more forms


# -- the task as the runner sees it --------------------------------------------------------
def test_task_reports_tot_success_with_the_lenient_reading_beside_it() -> None:
    record = EvalRecord(id="r", dataset="game24", question="q", gold=None, metadata={"numbers": N})
    bold = GAME24.score(f"**Answer:** {E}", record)
    assert bold.scores == {"success": 0.0, "success_lenient": 1.0}
    assert "ToT rule" in bold.reason and bold.details["lenient_reason"]
    plain = GAME24.score(f"Answer: {E} = 25", record)
    assert plain.scores == {"success": 1.0, "success_lenient": 0.0}
    assert plain.prediction == E
    assert GAME24.headline == "success" and set(GAME24.metrics) == set(plain.scores)


# -- end to end ------------------------------------------------------------------------------
async def test_eval_run_reports_tot_success_beside_the_lenient_reading(tmp_path) -> None:
    from pathlib import Path

    from agot.backends.scripted import ScriptedBackend
    from agot.evals.datasets import load_dataset
    from agot.evals.runner import run_eval

    data = Path(__file__).parent / "fixtures" / "game24" / "24.csv"
    records = load_dataset("game24", data=data, split="all")[:4]
    forms = ["Answer: {e} = 25", "**Answer:** {e}", "Answer: {e}\nDone.", "Answer: {e}"]
    replies = {
        f"answer:{r.question}": form.format(e=r.gold)
        for r, form in zip(records, forms, strict=True)
    }
    summary = await run_eval(
        "game24",
        data=str(data),
        split="all",
        limit=4,
        strategies=["cot"],
        models=[ScriptedBackend(replies)],
        out=str(tmp_path),
        progress=False,
    )
    group = summary.group("cot")
    # ToT credits "= 25" (cut at "=") and the plain line; the lenient reader the other three.
    assert group.metrics["success"].value == pytest.approx(2 / 4)
    assert group.metrics["success_lenient"].value == pytest.approx(3 / 4)
    assert summary.headline == "success"
