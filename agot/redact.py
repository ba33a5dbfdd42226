"""Keeping an item's private text out of everything written to disk or printed.

Some benchmarks ask that their questions never appear in plain text online (GPQA's authors
do), and user data may be confidential. A :class:`Redactor` (this policy over the engine
in :mod:`agot.scrub`, which :mod:`agot.routing.privacy` shares) is built from one item's
sensitive strings (its question, its option texts, any text the dataset declares private)
and rewrites any JSON-like object (dicts, lists, strings; keys included) so that none of
that text survives: results rows, traces with their graphs, prompts and replies, summaries.
It walks every string, so new trace fields are covered without being named here.

A model echoes, quotes and truncates what it reads, so exact matching is not enough. A
sensitive string of :data:`WINDOW` words or more is cut into overlapping word windows
(case-insensitive, punctuation and spacing ignored); any run of text in which a window of
it occurs is replaced, from the first to the last word of the run. Shorter strings are
matched whole (case-insensitive, any white space). Strings shorter than
:data:`MIN_SECRET_CHARS` are left alone: texts such as ``4`` or ``Yes`` occur everywhere and
identify nothing. Text cut before it reached the redactor (``...`` or ``…`` after a prompt's
clipped answer or a server's clipped error body) is replaced from where a sensitive string
starts or where a run of its words begins, up to the cut. Words are read the same way in JSON
text (a structured reply keeps its newline escapes), and letters written as ``\\uXXXX``
escapes are read decoded.

Each replaced run becomes a stable placeholder, ``[redacted gpqa:<item id>:<hash>]``, where
the hash is a SHA-256 prefix of the sensitive string it came from: the same text always
reads the same, and a reader can tell which item and which string was there without seeing
it. :func:`safe_item_id` gives an id that itself carries none of the text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from agot.scrub import literal_pattern, replace_spans, window_hits

#: Words in one matching window: runs of this many consecutive words taken from a sensitive
#: string are replaced wherever they occur.
WINDOW = 5
#: Sensitive strings shorter than this (after trimming) are not redacted on their own.
MIN_SECRET_CHARS = 12
#: Characters of the SHA-256 hex digest in a placeholder.
HASH_CHARS = 10

# Words are runs of \w, except that a JSON escape's letter (``\n``, ``\t``, ``\r`` in text
# that holds JSON, such as a structured reply) does not join the word after it: "\nFixture"
# reads "Fixture", as the unescaped text would. The first branch skips an escape that stands
# alone; group 1 holds the word.
_WORD = re.compile(r"(?<=\\)[ntr](?!\w)|(?:(?<=\\)[ntr])?(\w+)")


def text_hash(text: str) -> str:
    """The SHA-256 prefix that names ``text`` in placeholders and ids."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def placeholder(namespace: str, item_id: str, text: str) -> str:
    """``[redacted <namespace>:<item_id>:<hash of text>]``."""
    return f"[redacted {namespace}:{item_id}:{text_hash(text)}]"


class Redactor:
    """Replaces one item's sensitive strings inside any JSON-like object.

    ``namespace`` is the dataset name, ``item_id`` a secret-free id (see
    :func:`safe_item_id`); both go into the placeholders.
    """

    def __init__(
        self,
        secrets: Iterable[str | None],
        *,
        namespace: str,
        item_id: str,
        window: int = WINDOW,
        min_chars: int = MIN_SECRET_CHARS,
    ) -> None:
        self.namespace, self.item_id, self.window = namespace, item_id, window
        self._windows: dict[tuple[str, ...], str] = {}
        whole: dict[str, str] = {}
        secrets_kept: list[str] = []
        for secret in secrets:
            text = (secret or "").strip()
            if len(text) < min_chars:
                continue
            secrets_kept.append(text)
            label = placeholder(namespace, item_id, text)
            words = _words(text)
            if len(words) >= window:
                for i in range(len(words) - window + 1):
                    self._windows.setdefault(tuple(words[i : i + window]), label)
            else:
                whole.setdefault(text, label)
        self._first = {key[0] for key in self._windows}
        # Each sensitive string's opening characters, for a clipped run that ends in one, and
        # where each of its words stands, for a clipped run cut inside one.
        self._starts: dict[str, str] = {}
        self._by_start: dict[str, list[str]] = {}
        self._secret_words: list[tuple[list[str], str]] = []
        self._word_at: dict[str, list[tuple[int, int]]] = {}
        for secret in secrets_kept:
            key = _key(secret)
            label = placeholder(namespace, item_id, secret)
            self._starts.setdefault(key[:MIN_PREFIX], label)
            self._by_start.setdefault(label, []).append(key)
            words = _words(secret)
            for at, word in enumerate(words):
                self._word_at.setdefault(word, []).append((len(self._secret_words), at))
            self._secret_words.append((words, label))
        self._labels = whole
        # A cheap substring test before the case-insensitive pattern runs on a string.
        self._probes = {t.split()[0].lower() for t in whole}
        self._whole = literal_pattern(whole, ignore_case=True)
        self._by_key = {_key(t): label for t, label in whole.items()}

    @property
    def empty(self) -> bool:
        return not self._windows and self._whole is None

    def redact_text(self, text: str) -> str:
        """``text`` with every run of sensitive text replaced by its placeholder.

        Text that spells letters as ``\\uXXXX`` escapes (a structured reply stored as JSON)
        is read decoded, and a clipped end (``...`` or ``…``) that begins a sensitive string
        is replaced too, so neither an escape nor a cut lets part of it through.
        """
        if self.empty or not text:
            return text
        original = text
        if "\\u" in text:
            text = _decode_letter_escapes(text)
        if self._windows:
            text = self._redact_windows(text)
        if self._whole is not None:
            low = text.lower()
            if any(probe in low for probe in self._probes):
                text = self._whole.sub(lambda m: self._by_key.get(_key(m[0]), m[0]), text)
        if "..." in text or "…" in text:
            text = _CLIPPED.sub(lambda m: self._clipped(m), text)
        if text != original and text == _decode_letter_escapes(original):
            return original  # decoding alone changed nothing that needed hiding
        return text

    def _clipped(self, match: re.Match[str]) -> str:
        """A clipped run's tail replaced when it starts a sensitive string (at least
        MIN_PREFIX characters) or is a run of its words cut inside it (at least
        MIN_SECRET_CHARS): text clipped before it reached the redactor (a prompt's clipped
        answer, a 400 body cut at 300 characters) keeps neither an option's start nor the
        four words of a question before the cut."""
        run, marker = match[1], match[2]
        words = list(re.finditer(r"\w+", run))
        for word in words:  # the longest tail first
            tail = run[word.start() :]
            key = _key(tail)
            if len(key) < MIN_PREFIX:
                break
            label = self._starts.get(key[:MIN_PREFIX])
            if label is None or not any(s.startswith(key) for s in self._by_start[label]):
                label = None
                if len(key) >= MIN_SECRET_CHARS:
                    label = self._inside(_words(tail), partial_last=words[-1].end() == len(run))
            if label is not None:
                return run[: word.start()] + label + marker
        return match[0]

    def _inside(self, words: list[str], *, partial_last: bool) -> str | None:
        """The label of a sensitive string in which ``words`` stand consecutively (the last
        one may be cut short when ``partial_last``)."""
        if len(words) < 2:
            return None
        *whole, last = words
        for index, at in self._word_at.get(whole[0], ()):
            secret, label = self._secret_words[index]
            end = at + len(whole)
            if end >= len(secret) or secret[at:end] != whole:
                continue
            if secret[end] == last or (partial_last and secret[end].startswith(last)):
                return label
        return None

    def _redact_windows(self, text: str) -> str:
        words = _words(text)
        n, w = len(words), self.window
        if n < w:
            return text
        # Most strings hold no window: look up only where a window's first word stands.
        hits = window_hits(words, w, self._windows, self._first)
        if not hits:
            return text
        # Merge the hit windows into runs of word indexes, each with its first label.
        runs: list[list[Any]] = []
        for i, label in hits:
            if runs and i <= runs[-1][1] + 1:
                runs[-1][1] = max(runs[-1][1], i + w - 1)
            else:
                runs.append([i, i + w - 1, label])
        spans = [m.span(1) for m in _WORD.finditer(text) if m.group(1)]
        return replace_spans(text, [(spans[a][0], spans[b][1], label) for a, b, label in runs])

    def __call__(self, value: Any) -> Any:
        """A copy of ``value`` (dict, list, tuple, str, or anything else untouched) with
        every string, dict keys included, redacted."""
        if self.empty:
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {
                (self.redact_text(k) if isinstance(k, str) else k): self._walk(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self._walk(v) for v in value)
        return value


#: Characters of a sensitive string's start that a clipped run must hold to be replaced.
MIN_PREFIX = 8
#: A run of text cut by :func:`agot.text.clip` or an error's ellipsis: what stands before the
#: marker on its line (at most 200 characters), and the marker.
_CLIPPED = re.compile(r"([^\n\"]{1,200}?)(\.\.\.|…)")
_LETTER_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})"
)


def _decode_letter_escapes(text: str) -> str:
    """``text`` with ``\\uXXXX`` escapes of word characters (and surrogate pairs) decoded;
    escapes of quotes, backslashes and controls stay, so JSON text stays JSON."""

    def one(m: re.Match[str]) -> str:
        if m[3] is not None:
            char = chr(int(m[3], 16))
        else:
            high, low = int(m[1], 16), int(m[2], 16)
            char = chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return (
            char
            if (char.isalnum() or char in "_-' ") and not 0xD800 <= ord(char) < 0xE000
            else m[0]
        )

    return _LETTER_ESCAPE.sub(one, text)


def _words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, in the order of ``_WORD``'s spans over ``text``."""
    low = text.lower()
    if len(low) == len(text):  # nearly always: then lower-casing keeps the word boundaries
        return [word for word in _WORD.findall(low) if word]
    return [word.lower() for word in _WORD.findall(text) if word]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def redact(value: Any, secrets: Iterable[str | None], *, namespace: str, item_id: str) -> Any:
    """``value`` with ``secrets`` replaced by placeholders (see :class:`Redactor`)."""
    return Redactor(secrets, namespace=namespace, item_id=item_id)(value)


def safe_item_id(item_id: str, secrets: Iterable[str | None]) -> str:
    """``item_id`` when it holds none of ``secrets``; else ``item-<hash of the id>``.

    A user data set may key items by their text; such an id would put the text into file
    names and every row, so it is replaced by a stable hash.
    """
    redactor = Redactor(secrets, namespace="id", item_id="id", min_chars=MIN_SECRET_CHARS)
    if redactor.redact_text(item_id) == item_id:
        return item_id
    return f"item-{text_hash(item_id)}"


#: The redactor of the item being run, for text that is cut short before anything writes it
#: (a server's error body, clipped to one line): redacted whole first, so a cut cannot leave a
#: part of a sensitive string that no longer matches. Asyncio tasks started inside inherit it.
_ACTIVE: ContextVar[Redactor | None] = ContextVar("agot_active_redactor", default=None)


@contextmanager
def redacting(redactor: Redactor | None) -> Iterator[None]:
    """Within this block (and tasks started in it), :func:`redact_private` uses ``redactor``."""
    token = _ACTIVE.set(redactor)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def redact_private(text: str) -> str:
    """``text`` redacted by the running item's redactor, if any (see :func:`redacting`).
    Call it before cutting text that is stored, never on text sent to a model."""
    redactor = _ACTIVE.get()
    return text if redactor is None else redactor.redact_text(text)
