"""Pulling the final answer out of free text, and normalising answers for voting.

Model replies are untrusted and can be long (a model that rambles writes tens of thousands of
characters), and extraction runs on the event loop for every direct/CoT reply. So every
parser here reads at most :data:`MAX_PARSE_CHARS` characters from the end of the reply (the
answer statement is at the end by construction of the prompts) and uses patterns without
nested or overlapping quantifiers, which keeps the work linear in the text it reads.
"""

from __future__ import annotations

import re
import string

#: How much of a reply's tail the parsers read. A final answer sits at the end of the reply;
#: capping the input bounds the work a hostile or rambling reply can cause.
MAX_PARSE_CHARS = 16_000

# One line at a time: leading decoration (markdown bullets, bold, headings), an optional
# "final", "answer", an optional "is", a colon, then the rest of the line. The quantifiers
# are possessive so that no run of white space is re-split between two of them.
_ANSWER_LINE = re.compile(r"(?i)[^\w\n]*+(?:final\s++)?answer\s*+(?:is)?\s*+[:：](.*)")


def tail(text: str, limit: int = MAX_PARSE_CHARS) -> str:
    """The last ``limit`` characters of ``text`` (all of it when shorter)."""
    return text if len(text) <= limit else text[-limit:]


def extract_answer(text: str) -> str:
    """The text after the last ``Answer:`` line, else the last non-empty line.

    An ``Answer:`` line with nothing after the colon takes the next non-empty line
    (``Answer:\\nParis``). Only the last :data:`MAX_PARSE_CHARS` characters are read.
    """
    lines = tail(text).splitlines()
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if ":" not in line and "：" not in line:
            continue
        match = _ANSWER_LINE.match(line)
        if match is None:
            continue
        rest = match.group(1).strip()
        if not rest:
            following = next((ln.strip() for ln in lines[index + 1 :] if ln.strip()), "")
            if not following:
                continue  # an empty "Answer:" at the very end: an earlier one may hold it
            rest = following
        return rest.strip("*").strip()
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return ""


_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = frozenset({"a", "an", "the"})


def normalize_answer(text: str) -> str:
    """Lowercase, no punctuation, no articles, single spaces: the key answers are voted on.

    Articles go only when other words remain: a bare ``A`` is a multiple-choice letter, and
    dropping it would make every "A" vote an empty answer.
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    words = text.split()
    return " ".join([w for w in words if w not in _ARTICLES] or words)


def token_f1(prediction: str, reference: str) -> float:
    """Token-overlap F1 of two answers after :func:`normalize_answer` (0 when either is empty):
    how far two answers agree when they are not the same text."""
    from collections import Counter

    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


_LEADING_DEBRIS = re.compile(r"^[\s}\],:]+")
_TRAILING_DEBRIS = re.compile(r"[\s{\[,:]+$")


def strip_json_debris(text: str) -> str:
    """``text`` without the JSON punctuation a small model leaves around a text answer.

    A grammar-constrained reply can end up as ``} 8``, ``"8"}`` or ``{"answer": "8"}`` once
    its fields are pulled apart; a person should read ``8``. Only debris goes: closers,
    commas and colons at the start, openers at the end, brackets and quotes without a partner,
    and a one-field JSON object around a plain value. Balanced structure (``[1, 2]``,
    ``f(x) = {a}``) is an answer and stays. Text that would be emptied is returned unchanged.
    """
    s = text.strip()[-MAX_PARSE_CHARS:]
    if s.startswith("{") and s.endswith("}"):
        import json

        try:
            value = json.loads(s)
        except ValueError:
            value = None
        if isinstance(value, dict) and len(value) == 1:
            (inner,) = value.values()
            if isinstance(inner, str | int | float) and not isinstance(inner, bool):
                return str(inner).strip() or text
    previous = None
    while s != previous:
        previous = s
        s = _TRAILING_DEBRIS.sub("", _LEADING_DEBRIS.sub("", s))
        for opener, closer in (("{", "}"), ("[", "]")):
            if s.endswith(closer) and s.count(opener) < s.count(closer):
                s = s[:-1].rstrip()
            if s.startswith(opener) and s.count(opener) > s.count(closer):
                s = s[1:].lstrip()
        if s.count('"') % 2 == 1:
            s = s[1:] if s.startswith('"') else s[:-1] if s.endswith('"') else s
        if len(s) >= 2 and s[0] == s[-1] == '"' and s.count('"') == 2:
            s = s[1:-1].strip()
    return s or text


def model_text(text: str) -> str:
    """Model text as a graph stores it: stripped of the JSON debris a small model decoding
    under a grammar leaves in a field (``} {`` as a title, ``17 sheep }`` as an answer); text
    that is nothing but debris counts as empty."""
    cleaned = strip_json_debris(text.strip())
    return cleaned if any(c.isalnum() for c in cleaned) else ""


def last_label(text: str, labels: re.Pattern[str]) -> str | None:
    """The last match of ``labels`` on ``text``'s last non-empty line, lower case, or None.

    How ToT's value replies are read (``sure`` / ``likely`` / ``impossible`` for Game of 24,
    ``sure`` / ``maybe`` / ``impossible`` for crosswords): anywhere on the last line, so a small
    model's ``**Sure.**`` counts, where the method's code needs the line to be the label."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    found = labels.findall(lines[-1]) if lines else []
    return found[-1].lower() if found else None
