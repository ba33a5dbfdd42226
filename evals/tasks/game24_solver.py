"""An exact Game of 24 solver, used to generate the puzzle set offline and to give gold answers.

Why our own solver: ``agot eval game24`` must work with no data file, and the 1,362 solvable
puzzles that Tree of Thoughts uses are exactly the multisets of four numbers from 1-13 that can
make 24 with + - * / and parentheses. Arithmetic is exact (:class:`fractions.Fraction`), so
puzzles that need fractional intermediates (``1 5 5 5`` is ``5 * (5 - 1 / 5)``) are found and
floating-point near-misses are never counted.

The search combines sub-multisets: every value reachable from a multiset is reachable by
splitting it into two non-empty parts and combining one value of each part with one operation.
Reachable-value tables of the parts are memoised, and at the top level the solver inverts the
operation (``a + b = 24`` means ``b = 24 - a``) and looks ``b`` up in the other part's table, so
the whole 1-13 enumeration takes about half a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from functools import cache
from itertools import combinations_with_replacement

#: The target value of the game.
TARGET = 24

#: Numbers the standard game draws from (a deck's ranks).
CARD_RANGE = range(1, 14)

# value -> (number of derivations, one fully parenthesised expression)
_Table = dict[Fraction, tuple[int, str]]


def _splits(nums: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Each way to cut a sorted multiset into two non-empty sub-multisets, once per distinct pair.

    Masks keep index 0 on the left so a cut and its mirror are not both produced; cuts that
    differ only in which copy of a repeated number went left are collapsed.
    """
    n = len(nums)
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    for mask in range(1, 1 << n):
        if not mask & 1 or mask == (1 << n) - 1:
            continue
        left = tuple(nums[i] for i in range(n) if mask >> i & 1)
        right = tuple(nums[i] for i in range(n) if not mask >> i & 1)
        if (left, right) not in seen:
            seen.add((left, right))
            yield left, right


def _combine(a: Fraction, b: Fraction) -> Iterator[tuple[Fraction, str]]:
    """Every value one binary operation makes from ``a`` (left part) and ``b`` (right part)."""
    yield a + b, "+"
    yield a * b, "*"
    yield a - b, "-"
    yield b - a, "-r"
    if b != 0:
        yield a / b, "/"
    if a != 0:
        yield b / a, "/r"


def _render(op: str, left: str, right: str) -> str:
    if op.endswith("r"):
        left, right, op = right, left, op[0]
    return f"({left} {op} {right})"


@cache
def _table(nums: tuple[int, ...]) -> _Table:
    """Every value reachable from the sorted multiset ``nums``, with derivation counts."""
    if len(nums) == 1:
        return {Fraction(nums[0]): (1, str(nums[0]))}
    table: _Table = {}
    for left, right in _splits(nums):
        for a, (count_a, expr_a) in _table(left).items():
            for b, (count_b, expr_b) in _table(right).items():
                for value, op in _combine(a, b):
                    count, expr = table.get(value, (0, ""))
                    table[value] = (count + count_a * count_b, expr or _render(op, expr_a, expr_b))
    return table


def _needed(a: Fraction, target: Fraction) -> Iterator[tuple[Fraction, str]]:
    """Each ``b`` for which some operation of :func:`_combine` gives ``target`` from ``a, b``."""
    yield target - a, "+"
    if a != 0:
        yield target / a, "*"
    yield a - target, "-"
    yield target + a, "-r"
    if target != 0 and a != 0:
        yield a / target, "/"
    if a != 0:
        yield target * a, "/r"


@cache
def _search(nums: tuple[int, ...], target: Fraction) -> tuple[int, str | None]:
    if len(nums) == 1:
        return (1, str(nums[0])) if nums[0] == target else (0, None)
    total, found = 0, None
    for left, right in _splits(nums):
        # Walk the smaller table and look values up in the larger one; the operation set is
        # closed under swapping the two sides, so counts and expressions stay the same.
        walk, look = sorted((_table(left), _table(right)), key=len)
        for a, (count_a, expr_a) in walk.items():
            for b, op in _needed(a, target):
                hit = look.get(b)
                if hit is not None:
                    total += count_a * hit[0]
                    found = found or _render(op, expr_a, hit[1])
    if found is not None and found.startswith("(") and found.endswith(")"):
        found = found[1:-1]
    return total, found


def _key(numbers: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    return tuple(sorted(int(n) for n in numbers))


def solve(numbers: tuple[int, ...] | list[int], target: int = TARGET) -> str | None:
    """One expression using every number once that equals ``target`` exactly, or None."""
    return _search(_key(numbers), Fraction(target))[1]


def count_derivations(numbers: tuple[int, ...] | list[int], target: int = TARGET) -> int:
    """How many (split, operation) derivation trees reach ``target``: a difficulty proxy.

    Commutative variants are counted separately and consistently, so the number is only
    meaningful for comparing puzzles with each other (more derivations = easier to stumble on).
    """
    return _search(_key(numbers), Fraction(target))[0]


def solvable_puzzles(
    size: int = 4, numbers: range = CARD_RANGE, target: int = TARGET
) -> list[tuple[int, ...]]:
    """Every multiset of ``size`` numbers from ``numbers`` that can make ``target``.

    Order (documented because the default test split is a rank range): most derivations first,
    ties broken by the sorted numbers ascending. Tree of Thoughts ranks its puzzles by human
    solving time from 4nums.com, which cannot be reproduced offline; derivation count is a
    deterministic stand-in that also puts the hard puzzles (few ways to 24) at the end, so
    ranks 901-1000 are among the harder ones, as in ToT, but they are not the same puzzles.
    """
    found = []
    for combo in combinations_with_replacement(numbers, size):
        count = count_derivations(combo, target)
        if count:
            found.append((-count, combo))
    found.sort()
    return [combo for _, combo in found]
