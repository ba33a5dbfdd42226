"""agot's lenient Game of 24 reader (``success_lenient``): find the expression, check it exactly.

The default metric is Tree of Thoughts' own rule (:mod:`agot.evals.tasks.game24_tot`); this
reader is friendlier (the last ``Answer:`` line anywhere in the reply, markdown, LaTeX and
Unicode operators, a trailing ``= 24``) and stricter (+ - * / only) and is reported beside it.

Model output is hostile input. It is never passed to ``eval``: the text is parsed with
:func:`ast.parse` (``mode="eval"``) and every node must be on an allow-list (the expression
root, binary ``+ - * /``, integer constants; parentheses only shape the tree). The value is
computed by our own walker over :class:`fractions.Fraction`, so ``8 / (3 - 8 / 3)`` is exactly
24 and no float rounding can make a wrong answer pass. The multiset of integer literals must
equal the puzzle's numbers: each number used exactly once, nothing else.

Unary minus is rejected on purpose: the game has four binary operations, and any expression
that reaches 24 with a unary minus can be rewritten without one, so rejecting it costs a
correct solver nothing while closing a loophole (``-(-4) * 6``).

Every rejection carries a reason, recorded in the results so a failing run can be read.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import cast

from pydantic import BaseModel, ConfigDict

from agot.evals.tasks.game24_solver import TARGET

#: Longest expression we try to read; bounds parser work on hostile input (deep nesting, huge
#: literals) long before Python's own limits are reached.
MAX_CHARS = 200

#: Longest reply tail and candidate line read at all: the answer is at the end of a reply,
#: and capping the input keeps a rambling reply from costing more than a few milliseconds.
MAX_READ_CHARS = 8_000

#: Longest candidate expression normalised at all (markdown and LaTeX wrappers included);
#: normalising strips wrappers in rounds, so its input is capped well above MAX_CHARS.
MAX_RAW_EXPRESSION_CHARS = 1_000

#: Literals above this are reported as huge rather than merely "not a puzzle number".
MAX_LITERAL = 10**6


class Game24Verdict(BaseModel):
    """The verifier's decision: ``ok`` only when the expression is valid and equals 24."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    reason: str
    expression: str | None = None


# Possessive runs: a stretch of spaces or stars is never re-split between two quantifiers,
# which keeps a line like "answer" + 20,000 spaces linear instead of quadratic.
_ANSWER = re.compile(r"(?i)\banswer[\s*_]*+(?:is)?[\s*]*+[:：][\s*]*+(?P<rest>.*)$")
_ANSWER_PREFIX = re.compile(r"(?i)^[\s*_`]*+(?:final\s++)?answer[\s*_]*+(?:is)?[\s*]*+[:：]")
_OPERATOR_CHARS = "+-*/×÷xX−–—"
_HAS_DIGIT = re.compile(r"\d")

# Surface forms of the four operations and of the minus sign, mapped to Python's.
_REPLACEMENTS = (
    (r"\\times", "*"),
    (r"\\cdot", "*"),
    (r"\\div", "/"),
    (r"\\left|\\right", ""),
    ("[×✕✖⋅·∗]", "*"),
    ("[÷∕⁄]", "/"),
    ("[−–—‐‑﹣－]", "-"),
    ("＋", "+"),
    ("（", "("),
    ("）", ")"),
)
# ``x`` or ``X`` as multiplication: only between an operand end and an operand start.
_TIMES_LETTER = re.compile(r"(?<=[\d)\s])[xX](?=[\s\d(])")
# Markdown and LaTeX wrappers; ``_`` is only stripped in pairs (it can start a Python name).
_EDGE_JUNK = " \t\r\n*`$"
_TRAILING_JUNK = " \t\r\n.,;:!。"
_NUMBER = re.compile(r"^\s*-?\d{1,30}(?:\.\d{1,30})?\s*$")

_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
_OPERATOR_NAMES: dict[type[ast.AST], str] = {
    ast.Pow: "an exponent (**)",
    ast.FloorDiv: "floor division (//)",
    ast.Mod: "modulo (%)",
    ast.MatMult: "matrix multiplication (@)",
    ast.LShift: "a shift (<<)",
    ast.RShift: "a shift (>>)",
    ast.BitAnd: "bitwise and (&)",
    ast.BitOr: "bitwise or (|)",
    ast.BitXor: "bitwise xor (^)",
}
_NODE_REASONS: dict[type[ast.AST], str] = {
    ast.Name: "uses a name",
    ast.Call: "calls a function",
    ast.Attribute: "accesses an attribute",
    ast.Lambda: "contains a lambda",
    ast.JoinedStr: "contains an f-string",
    ast.Subscript: "uses subscripting",
    ast.Compare: "contains a comparison",
    ast.BoolOp: "contains a boolean operator",
    ast.NamedExpr: "contains an assignment (:=)",
    ast.IfExp: "contains a conditional expression",
}


def _reject(reason: str, expression: str | None = None) -> Game24Verdict:
    return Game24Verdict(ok=False, reason=reason, expression=expression)


def _excerpt(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def extract_expression(text: str) -> str | None:
    """The candidate expression in a model's raw answer text.

    The last ``Answer:`` line wins (its rest, or the next non-empty line when the rest is
    empty); without one, the last line that holds a digit and an operator. None when neither
    exists. Only the reply's last :data:`MAX_READ_CHARS` characters are read.
    """
    if not text or not text.strip():
        return None
    lines = text[-MAX_READ_CHARS:].splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if ":" not in lines[index] and "：" not in lines[index]:
            continue  # the pattern needs a colon; skipping here keeps blank runs cheap
        matches = list(_ANSWER.finditer(lines[index]))
        if not matches:
            continue
        match = matches[-1]
        rest = match.group("rest").strip()
        if rest.strip(_EDGE_JUNK):
            return rest
        following = [line.strip() for line in lines[index + 1 :] if line.strip()]
        return following[0] if following else None
    for line in reversed(lines):
        if line and _HAS_DIGIT.search(line) and any(ch in line for ch in _OPERATOR_CHARS):
            return line.strip()
    return None


def normalise(expression: str) -> tuple[str | None, str | None]:
    """The expression in Python's spelling, or ``(None, reason)`` when it states a wrong result.

    Handles ``× ÷ x X``, unicode minus and dashes, LaTeX operators, markdown bold/italics and
    backticks, ``$`` delimiters, an ``Answer:`` prefix, a trailing period and a trailing
    ``= 24`` (``a = b = 24`` keeps the first part, as Tree of Thoughts does).
    """
    text = expression.strip()
    text = _ANSWER_PREFIX.sub("", text)
    for pattern, replacement in _REPLACEMENTS:
        text = re.sub(pattern, replacement, text)
    text = _TIMES_LETTER.sub("*", text)
    text = re.sub(r"\\[()\[\]]", "", text)
    previous = None
    while previous != text:
        previous = text
        text = text.strip(_EDGE_JUNK).rstrip(_TRAILING_JUNK)
        if len(text) > 1 and text[0] == text[-1] == "_":
            text = text.strip("_")
    if "=" in text:
        parts = re.split(r"=+", text)
        last = parts[-1].strip(_EDGE_JUNK).rstrip(_TRAILING_JUNK)
        if _NUMBER.match(last):
            if Fraction(last.strip()) != TARGET:
                return None, f"states a result of {last.strip()}, not {TARGET}"
            text = parts[0].strip(_EDGE_JUNK).rstrip(_TRAILING_JUNK)
    return " ".join(text.split()), None


def _check_nodes(tree: ast.AST) -> str | None:
    """The reason the first disallowed node (outermost first) is rejected, or None."""
    queue: list[ast.AST] = [tree]
    while queue:
        node = queue.pop(0)
        if isinstance(node, ast.Expression):
            queue.append(node.body)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _OPERATORS:
                name = _OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
                return f"uses {name}; only + - * / are allowed"
            queue.extend((node.left, node.right))
        elif isinstance(node, ast.UnaryOp):
            sign = {ast.USub: "unary minus", ast.UAdd: "unary plus"}.get(type(node.op))
            if sign:
                return f"uses {sign}; only the binary operations + - * / are allowed"
            return f"uses the operator {type(node.op).__name__}; only + - * / are allowed"
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float | complex):
                    return f"uses the non-integer number {value!r}; use the puzzle's integers"
                return f"contains a {type(value).__name__} constant, not a number"
        else:
            reason = _NODE_REASONS.get(type(node))
            if reason is None:
                reason = f"contains disallowed syntax ({type(node).__name__})"
            return f"{reason}; only numbers, + - * / and parentheses are allowed"
    return None


def _literals(tree: ast.AST) -> list[int]:
    """The integer literals of an already-checked tree (every constant in it is an int)."""
    return [cast(int, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant)]


def _evaluate(node: ast.AST) -> Fraction:
    """Exact value of an already-checked tree (only BinOp + - * / and int constants)."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        return Fraction(cast(int, node.value))
    assert isinstance(node, ast.BinOp)
    left, right = _evaluate(node.left), _evaluate(node.right)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / right  # ZeroDivisionError is the caller's to report


def _multiset_reason(used: list[int], numbers: Sequence[int]) -> str | None:
    given = Counter(numbers)
    have = Counter(used)
    shown = " ".join(str(n) for n in sorted(numbers))
    foreign = sorted(set(have) - set(given))
    if foreign:
        values = ", ".join(str(v) for v in foreign)
        return f"uses {values}, not among the puzzle numbers {shown}"
    reused = sorted(v for v in have if have[v] > given[v])
    if reused:
        values = ", ".join(str(v) for v in reused)
        return f"uses {values} more often than given; each of {shown} exactly once"
    missing = sorted((given - have).elements())
    if missing:
        values = ", ".join(str(v) for v in missing)
        return f"does not use {values}; each of {shown} exactly once"
    return None


def verify_expression(expression: str, numbers: Sequence[int]) -> Game24Verdict:
    """Check one expression against the puzzle ``numbers``; never evaluates model text."""
    if not expression or not expression.strip():
        return _reject("empty answer: no expression given")
    if len(expression.strip()) > MAX_RAW_EXPRESSION_CHARS:
        size = len(expression.strip())
        return _reject(f"expression is too long ({size} chars, at most {MAX_CHARS})")
    text, problem = normalise(expression)
    if problem is not None:
        return _reject(problem, expression.strip())
    assert text is not None
    if not text:
        return _reject("empty answer: no expression given")
    if len(text) > MAX_CHARS:
        return _reject(f"expression is too long ({len(text)} chars, at most {MAX_CHARS})", None)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _reject(f"cannot read an arithmetic expression in {_excerpt(text)!r}", text)
    problem = _check_nodes(tree)
    if problem is not None:
        return _reject(problem, text)
    used = _literals(tree)
    huge = [v for v in used if abs(v) > MAX_LITERAL]
    if huge:
        return _reject(f"uses a huge number ({len(str(huge[0]))} digits)", text)
    problem = _multiset_reason(used, numbers)
    if problem is not None:
        return _reject(problem, text)
    try:
        value = _evaluate(tree)
    except ZeroDivisionError:
        return _reject("divides by zero", text)
    if value != TARGET:
        return _reject(f"evaluates to {value}, not {TARGET}", text)
    return Game24Verdict(
        ok=True, reason=f"uses each number once and equals {TARGET}", expression=text
    )


def verify_answer(text: str, numbers: Sequence[int]) -> Game24Verdict:
    """Extract the expression from a model's raw answer text, then verify it."""
    candidate = extract_expression(text or "")
    if candidate is None:
        if not text or not text.strip():
            return _reject("empty answer: the model gave no text")
        return _reject("no expression found: no 'Answer:' line and no line with arithmetic")
    return verify_expression(candidate, numbers)
