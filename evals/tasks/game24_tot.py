"""Tree of Thoughts' Game of 24 rule: the default ``success`` metric.

Matches ``Game24Task.test_output`` in ``src/tot/tasks/game24.py`` of
princeton-nlp/tree-of-thought-llm at commit ab400345c5ea39d28ea6d7d3be0e417b11113c87, run with
sympy 1.12 (the version its ``requirements.txt`` pins) on Python 3.11. The rule, step by step:

1. Strip the whole reply, keep the text after its last ``\\n``, lowercase it (``str.lower``),
   delete every ``"answer: "`` in it and keep what comes before its first ``=``. So only the
   reply's last line counts, and ``(4 + 8) * 2 = 25`` is read as ``(4 + 8) * 2``.
2. Its runs of decimal digits (Unicode ``\\d+``, so ``4.5`` is ``4`` and ``5``), sorted as
   strings, must equal the puzzle's numbers sorted as strings.
3. sympy must read it as a value equal to 24. sympy reads Python syntax with ``^`` as power
   and ``n!``/``n!!`` as (double) factorial, so unary minus, ``**``, ``^``, ``//``, ``%`` and
   Python comments all count, while ``×``, ``÷``, ``\\times``, backticks, ``$`` or text after
   the expression make it unreadable (0). sympy 1.12 compares a float with 24 by value, so
   ``4*6.`` (a trailing period makes a float) counts; sympy 1.13 and later would not.

sympy is never given the model's text (``sympify`` evaluates Python, and ``9**9**9**9``
would never finish); :func:`tot_value` is our own reader of the arithmetic sympy evaluates,
with exact rationals for sympy's integers and rationals and IEEE doubles for its 53-bit
floats. Where it cannot follow sympy it scores 0, and these are the only differences from
ToT's code:

* names and calls (``sqrt(16)``, ``pi``, symbols that cancel): 0;
* irrational, complex or infinite intermediate values (``2**(1/2)``, ``1/(4-4)``): 0, also
  when sympy would cancel them back to a rational;
* work bounds: an integer over :data:`MAX_BITS` bits, more than :data:`MAX_DEPTH` nested
  parentheses or prefix operators, a float that overflows: 0 (where ToT computes on, or
  never stops);
* a factorial of a negative number, a non-integer or a float, and a double factorial below
  -1: 0.

ToT's code never raises on a reply (sympy's errors are caught and count 0), so no reply is
left out.

Checked against the published code itself (run outside this repository with sympy 1.12): no
difference on 1,937 generated replies (``tests/test_game24_tot.py``'s and the realistic mix),
and none from ToT's published scores of the 20,500 GPT-4 outputs in its three Game of 24 logs
(``benchmarks/bench_game24_tot_logs.py``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from agot.evals.tasks.game24_solver import TARGET

#: The commit of princeton-nlp/tree-of-thought-llm whose ``test_output`` this follows.
TOT_COMMIT = "ab400345c5ea39d28ea6d7d3be0e417b11113c87"
OFFICIAL = (
    "src/tot/tasks/game24.py Game24Task.test_output "
    f"(princeton-nlp/tree-of-thought-llm@{TOT_COMMIT[:7]}, sympy 1.12)"
)
#: Largest integer (numerator or denominator) computed, in bits; far above any real answer.
MAX_BITS = 4_096
#: Deepest nesting of parentheses and prefix operators read.
MAX_DEPTH = 100

_DIGITS = re.compile(r"\d+")
# Python's number literals (tokenize's Number, lower case, no underscores, no imaginary part).
_NUMBER = re.compile(r"(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?|[0-9]+e[-+]?[0-9]+|[0-9]+")
_NAME_START = re.compile(r"[^\W\d]", re.UNICODE)
_OPERATORS = ("**", "//", "<<", ">>", "+", "-", "*", "/", "%", "&", "|", "~", "(", ")", "^")
_SPACE = " \t\f"
_SPACE_RUN = re.compile(r"[ \t\f]+")


class Unreadable(Exception):
    """sympy would raise on this expression, or we do not follow sympy here: scores 0."""


@dataclass(frozen=True)
class Num:
    """A sympy number: exact (Integer/Rational) or a 53-bit float (Float)."""

    exact: Fraction | None = None
    real: float | None = None

    @property
    def is_integer(self) -> bool:
        return self.exact is not None and self.exact.denominator == 1

    def as_float(self) -> float:
        if self.real is not None:
            return self.real
        assert self.exact is not None
        try:
            return float(self.exact)  # int / int: correctly rounded, as sympy's conversion
        except OverflowError:
            raise Unreadable("a float overflows") from None


class Opaque(Exception):
    """An irrational, complex or infinite value: never 24 for us (sympy may cancel it)."""


def _exact(value: Fraction) -> Num:
    if max(abs(value.numerator), value.denominator).bit_length() > MAX_BITS:
        raise Unreadable("a number too large to check")
    return Num(exact=value)


def _float(value: float) -> Num:
    if math.isinf(value) or math.isnan(value):
        raise Opaque("infinite")
    return Num(real=value)


def tot_expression(text: str) -> str:
    """Step 1 of the rule: the expression ToT reads from a whole reply."""
    stripped = text.strip()
    last = stripped[stripped.rfind("\n") + 1 :]
    return last.lower().replace("answer: ", "").split("=", 1)[0]


def digit_runs(expression: str, limit: int) -> list[str]:
    """The first ``limit`` runs of decimal digits in ``expression`` (one pass, stops early)."""
    return [m.group() for m in itertools.islice(_DIGITS.finditer(expression), limit)]


def numbers_match(expression: str, numbers: Sequence[int | str]) -> bool:
    """Step 2: the digit runs of ``expression`` are the puzzle's numbers (compared as text).

    Reads at most one run more than the puzzle has: 100,000 digits cost no more than four."""
    return _same_numbers(digit_runs(expression, len(numbers) + 1), numbers)


def _same_numbers(runs: list[str], numbers: Sequence[int | str]) -> bool:
    return sorted(runs) == sorted(str(n) for n in numbers)


# ---------------------------------------------------------------------------------------------
# Tokens: Python's tokenizer on one line, as sympy's parser sees it.


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "op", "fact" (! or !!)
    text: str
    end: int  # where it ends in the stripped expression


def _tokens(expression: str) -> list[_Token]:
    text = expression.strip()  # sympy's parser strips its input
    out: list[_Token] = []
    pos, end, depth = 0, len(text), 0
    while pos < end:
        char = text[pos]
        if char in _SPACE:
            gap = _SPACE_RUN.match(text, pos)
            pos = gap.end() if gap else pos + 1
            continue
        if char == "#":
            break  # a comment runs to the end of the line
        if char == "\r":
            # Python's tokenizer leaves a lone carriage return as an error token that sympy
            # passes on; compiled, it is a line break: harmless inside parentheses only.
            if depth == 0:
                raise Unreadable("a line break")
            pos += 1
            continue
        if char == "!":
            run = pos
            while run < end and text[run] == "!":
                run += 1
            after = run
            while after < end and text[after] in _SPACE:
                after += 1
            # sympy wraps the token before "!" in factorial(...): only a number or a ")"
            # directly before it (a space before "!" is wrapped itself, a call with no
            # argument), at most "!!", and a "!" after "! " wraps that space.
            if (
                run - pos > 2
                or not out
                or pos != out[-1].end
                or (out[-1].text != ")" and out[-1].kind != "num")
            ):
                raise Unreadable("a misplaced '!'")
            if after < end and text[after] == "!":
                raise Unreadable("a misplaced '!'")
            if not (after < end and text[after] == "\r"):  # an error token cancels a pending !
                out.append(_Token("fact", text[pos:run], run))
            pos = run
            continue
        if char.isdigit() or (char == "." and pos + 1 < end and text[pos + 1].isdigit()):
            match = _NUMBER.match(text, pos)
            if match is None:
                raise Unreadable("a number Python cannot read")
            literal, nxt = match.group(), match.end()
            if nxt < end and (text[nxt].isalnum() or text[nxt] in "_."):
                raise Unreadable("a number Python cannot read")
            if len(literal) > 1 and literal[0] == "0" and literal[1].isdigit():
                raise Unreadable("a number with a leading zero")
            out.append(_Token("num", literal, nxt))
            pos = nxt
            continue
        for op in _OPERATORS:
            if text.startswith(op, pos):
                depth += {"(": 1, ")": -1}.get(op, 0)
                pos += len(op)
                out.append(_Token("op", "**" if op == "^" else op, pos))
                break
        else:
            if _NAME_START.match(char):
                raise Unreadable("a name")
            raise Unreadable(f"the character {char!r}")
    return out


# ---------------------------------------------------------------------------------------------
# Arithmetic, as sympy 1.12's numbers compute it.


def _literal(text: str) -> Num:
    if text.isdigit():
        return _exact(Fraction(int(text)))
    return _float(float(text))  # sympy's Float of <= 15 digits: the correctly rounded double


def _add(a: Num, b: Num, sign: int) -> Num:
    if a.exact is not None and b.exact is not None:
        return _exact(a.exact + sign * b.exact)
    return _float(a.as_float() + sign * b.as_float())


def _mul(a: Num, b: Num) -> Num:
    if a.exact is not None and b.exact is not None:
        return _exact(a.exact * b.exact)
    return _float(a.as_float() * b.as_float())


def _truediv(a: Num, b: Num) -> Num:
    if (b.exact == 0) or (b.real == 0.0):
        raise Opaque("division by zero")
    if a.exact is not None and b.exact is not None:
        return _exact(a.exact / b.exact)
    return _float(a.as_float() / b.as_float())


def _rational(n: Num) -> Fraction:
    if n.exact is not None:
        return n.exact
    assert n.real is not None
    return Fraction(n.real)


def _floordiv(a: Num, b: Num) -> Num:
    if a.is_integer:
        # Integer // x: Python's // for two integers, else sympy's divmod, whose quotient is
        # int(q) for q >= 0 and int(q) - 1 below 0 (one less than floor for a whole q < 0).
        assert a.exact is not None
        divisor = _rational(b)
        if divisor == 0:
            raise Unreadable("division by zero")
        if b.is_integer:
            return _exact(Fraction(a.exact.numerator // divisor.numerator))
        quotient = a.exact / divisor
        whole = int(quotient)
        return _exact(Fraction(whole if quotient >= 0 else whole - 1))
    # Anything else: floor(a / b), a whole number.
    return _exact(Fraction(math.floor(_quotient(a, b))))


def _quotient(a: Num, b: Num) -> Fraction | float:
    value = _truediv(a, b)
    return value.exact if value.exact is not None else value.as_float()


def _mod(a: Num, b: Num) -> Num:
    if a.exact is not None:
        if b.is_integer and a.is_integer:
            assert b.exact is not None
            if b.exact == 0:
                raise Unreadable("modulo by zero")
            return _exact(a.exact % b.exact)
        divisor = _rational(b)
        if divisor == 0:
            raise Unreadable("modulo by zero")
        remainder = a.exact - divisor * math.floor(a.exact / divisor)
        return _exact(remainder) if b.exact is not None else _float(float(remainder))
    # A float modulo x: computed exactly, then rounded (sympy's Float.__mod__ does the same
    # for a rational, and a float, divisor; a whole ratio of two floats gives 0).
    divisor = _rational(b)
    if divisor == 0:
        raise Unreadable("modulo by zero")
    dividend = _rational(a)
    remainder = dividend - divisor * math.floor(dividend / divisor)
    return _float(float(remainder))


def _root(value: int, degree: int) -> int | None:
    """The exact ``degree``-th root of ``value`` >= 0, or None when it is irrational."""
    if value < 2:
        return value
    guess = round(value ** (1.0 / degree)) if value.bit_length() < 1000 else None
    if guess is not None:
        for candidate in (guess - 1, guess, guess + 1):
            if candidate >= 0 and candidate**degree == value:
                return candidate
        return None
    low, high = 0, 1 << (value.bit_length() // degree + 1)
    while low < high:
        mid = (low + high) // 2
        if mid**degree < value:
            low = mid + 1
        else:
            high = mid
    return low if low**degree == value else None


def _pow(base: Num, exponent: Num) -> Num:
    if base.exact is not None and exponent.exact is not None:
        b, e = base.exact, exponent.exact
        if e.denominator == 1:
            power = e.numerator
            if b == 0:
                if power < 0:
                    raise Opaque("zero to a negative power")
                return _exact(Fraction(1 if power == 0 else 0))
            size = max(abs(b.numerator), b.denominator).bit_length()
            if size > 1 and size * abs(power) > MAX_BITS:
                raise Unreadable("a power too large to check")
            return _exact(b**power)
        if b < 0:
            raise Opaque("a complex root")
        degree = e.denominator
        if degree > MAX_BITS:
            raise Unreadable("a root too deep to check")
        top, bottom = _root(b.numerator, degree), _root(b.denominator, degree)
        if top is None or bottom is None:
            raise Opaque("an irrational root")
        return _pow(_exact(Fraction(top, bottom)), _exact(Fraction(e.numerator)))
    if base.exact is not None and base.exact == 0 and exponent.real is not None:
        if exponent.real < 0:
            raise Opaque("zero to a negative power")
        return _float(1.0 if exponent.real == 0 else 0.0)
    x, y = base.as_float(), exponent.as_float()
    if x < 0 and not (exponent.is_integer or y.is_integer()):
        raise Opaque("a complex power")
    try:
        return _float(math.pow(x, y))
    except (OverflowError, ValueError, ZeroDivisionError):
        raise Opaque("a power out of range") from None


def _factorial(value: Num, double: bool) -> Num:
    if not value.is_integer:
        raise Opaque("a factorial of a non-integer")
    assert value.exact is not None
    n = value.exact.numerator
    if n > 1_000:
        raise Unreadable("a factorial too large to check")
    if not double:
        if n < 0:
            raise Opaque("a factorial of a negative number")
        return _exact(Fraction(math.factorial(n)))
    if n < -1:
        raise Opaque("a double factorial below -1")
    return _exact(Fraction(math.prod(range(n, 0, -2)) if n > 0 else 1))


def _integer(value: Num) -> int:
    if not value.is_integer:
        raise Unreadable("a bitwise operation on a non-integer")
    assert value.exact is not None
    return value.exact.numerator


def _shift(a: Num, b: Num, left: bool) -> Num:
    x, y = _integer(a), _integer(b)
    if y < 0:
        raise Unreadable("a negative shift count")
    if left and x and x.bit_length() + y > MAX_BITS:
        raise Unreadable("a shift too large to check")
    return _exact(Fraction(x << y if left else x >> min(y, MAX_BITS + 1)))


_BINARY: dict[str, Callable[[Num, Num], Num]] = {
    "+": lambda a, b: _add(a, b, 1),
    "-": lambda a, b: _add(a, b, -1),
    "*": _mul,
    "/": _truediv,
    "//": _floordiv,
    "%": _mod,
    "<<": lambda a, b: _shift(a, b, True),
    ">>": lambda a, b: _shift(a, b, False),
    "&": lambda a, b: _exact(Fraction(_integer(a) & _integer(b))),
    "|": lambda a, b: _exact(Fraction(_integer(a) | _integer(b))),
}


# ---------------------------------------------------------------------------------------------
# Python's expression grammar for these operators (or_expr down to power), iteratively deep.


#: Binary operators by binding strength (Python's: | then & then shifts, + -, * / // %).
_PRECEDENCE = {
    "|": 1,
    "&": 2,
    "<<": 3,
    ">>": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "//": 5,
    "%": 5,
}


class _Parser:
    """Python's grammar from ``or_expr`` down to ``power`` over our tokens."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        if self.pos >= len(self.tokens):
            raise Unreadable("an incomplete expression")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable("nesting too deep to check")

    def expression(self, weakest: int = 1) -> Num:
        """Left-associative binary operators at least as strong as ``weakest``."""
        value = self.factor()
        while True:
            token = self.peek()
            if token is None or token.kind != "op" or _PRECEDENCE.get(token.text, 0) < weakest:
                return value
            self.take()
            value = _BINARY[token.text](value, self.expression(_PRECEDENCE[token.text] + 1))

    def factor(self) -> Num:
        signs: list[str] = []
        while (token := self.peek()) is not None and token.text in ("+", "-", "~"):
            self.enter()
            signs.append(self.take().text)
        value = self.power()
        for sign in reversed(signs):
            self.depth -= 1
            if sign == "-":
                value = Num(exact=-value.exact) if value.exact is not None else _neg(value)
            elif sign == "~":
                value = _exact(Fraction(~_integer(value)))
        return value

    def power(self) -> Num:
        base = self.primary()
        token = self.peek()
        if token is not None and token.text == "**":
            self.take()
            self.enter()
            exponent = self.factor()
            self.depth -= 1
            return _pow(base, exponent)
        return base

    def primary(self) -> Num:
        token = self.take()
        if token.kind == "num":
            value = _literal(token.text)
        elif token.text == "(":
            self.enter()
            value = self.expression()
            if (close := self.peek()) is None or close.text != ")":
                raise Unreadable("unbalanced parentheses")
            self.take()
            self.depth -= 1
        else:
            raise Unreadable(f"{token.text!r} where a number belongs")
        after = self.peek()
        if after is not None and after.kind == "fact":
            value = _factorial(value, double=self.take().text == "!!")
            after = self.peek()
        if after is not None and (after.kind == "num" or after.text == "("):
            raise Unreadable("two values side by side")
        return value


def _neg(value: Num) -> Num:
    assert value.real is not None
    return Num(real=-value.real)


def tot_value(expression: str) -> Num:
    """Step 3: the value sympy gives ``expression``; Unreadable where it raises (or where we
    do not follow it), Opaque for an irrational, complex or infinite value."""
    tokens = _tokens(expression)
    if not tokens:
        raise Unreadable("no expression")
    parser = _Parser(tokens)
    value = parser.expression()
    if parser.pos != len(tokens):
        raise Unreadable(f"unexpected {tokens[parser.pos].text!r}")
    return value


@dataclass(frozen=True)
class TotVerdict:
    ok: bool
    expression: str
    reason: str


def tot_verdict(text: str, numbers: Sequence[int | str]) -> TotVerdict:
    """ToT's ``test_output`` on a whole reply: ``ok`` exactly when ToT's ``r`` is 1."""
    expression = tot_expression(text or "")
    shown = " ".join(str(n) for n in numbers)
    runs = digit_runs(expression, max(len(numbers) + 1, 9))
    if not _same_numbers(runs, numbers):
        used = " ".join(r[:12] for r in runs[:8]) + (" ..." if len(runs) > 8 else "")
        return TotVerdict(
            False,
            expression,
            f"ToT rule: the last line's numbers ({used or 'none'}) are not the puzzle's ({shown})",
        )
    try:
        value = tot_value(expression)
    except Unreadable as exc:
        return TotVerdict(False, expression, f"ToT rule: sympy cannot read it ({exc})")
    except Opaque as exc:
        return TotVerdict(False, expression, f"ToT rule: not a rational value ({exc})")
    equal = value.exact == TARGET if value.exact is not None else value.real == float(TARGET)
    if equal:
        return TotVerdict(True, expression, f"ToT rule: the last line equals {TARGET}")
    shown_value = value.exact if value.exact is not None else value.real
    return TotVerdict(False, expression, f"ToT rule: the last line equals {shown_value}")
