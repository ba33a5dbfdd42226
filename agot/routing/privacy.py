"""Keeping the dataset's context passages on the local side (``keep_local="context"``).

A remote step gets the question and what local steps answered, never the passages: every
message sent to a remote model is scrubbed of the task's context in three passes, so a prompt
that re-flows, clips or quotes a passage is caught as well as one that pastes it whole:

1. every passage, and each of its sentences, verbatim (whitespace-insensitive);
2. any run of :data:`SHINGLE_WORDS` or more consecutive words that also occurs in a passage
   (word n-gram shingles, case-insensitive; n-grams that also occur in the question are public
   and stay, so the question is never mangled);
3. right after a withheld span, the start of a passage sentence (what is left when a prompt
   clips a passage mid-sentence).

What local steps *wrote* in their answers is passed on, minus any passage text they copied:
that is the mode's declared boundary (a paraphrase is not detected). This is one policy over
the engine in :mod:`agot.scrub`; :mod:`agot.redact` (an eval item's private text) is the other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agot.scrub import literal_pattern, replace_spans, window_hits
from agot.types import GenerationRequest, Message

#: What a remote model sees in place of a withheld passage.
WITHHELD = "[context withheld: kept on the local side]"
#: Sentences shorter than this are not matched whole on their own (pass 1).
MIN_SENTENCE_CHARS = 24
#: Consecutive words shared with a passage that count as a copy of it (pass 2).
SHINGLE_WORDS = 4

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")
_RUNS = re.compile(rf"(?:{re.escape(WITHHELD)}[\s.,;:]*){{2,}}")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _grams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class Redactor:
    """Removes the given passages (whole, by sentence, by shared word runs) from text."""

    def __init__(
        self,
        passages: Sequence[str],
        *,
        public: Sequence[str] = (),
        min_chars: int = MIN_SENTENCE_CHARS,
        shingle: int = SHINGLE_WORDS,
    ) -> None:
        pieces: set[str] = set()
        sentences: list[list[str]] = []
        grams: set[tuple[str, ...]] = set()
        #: the last ``shingle - 1`` words -> the words that follow them in a passage
        succ: dict[tuple[str, ...], set[str]] = {}
        for passage in passages:
            passage = passage.strip()
            if not passage:
                continue
            pieces.add(passage)
            pieces.update(part.strip() for part in re.split(r"\n\s*\n", passage))
            for sentence in _SENTENCE_END.split(passage):
                if len(sentence.strip()) >= min_chars:
                    pieces.add(sentence.strip())
                if _words(sentence):
                    sentences.append(_words(sentence))
            grams |= _grams(_words(passage), shingle)
            flat = _words(passage)
            for i in range(shingle - 1, len(flat)):
                succ.setdefault(tuple(flat[i - shingle + 1 : i]), set()).add(flat[i])
        for text in public:
            grams -= _grams(_words(text), shingle)
        # Longest first, so a whole passage is replaced once rather than sentence by sentence.
        self._pattern = literal_pattern(pieces)
        self._grams = dict.fromkeys(grams, WITHHELD)
        self._succ = succ
        self._shingle = shingle
        #: sentence-start word tuple -> the words that may follow it
        self._next: dict[tuple[str, ...], set[str]] = {}
        for words in sentences:
            for k in range(len(words)):
                self._next.setdefault(tuple(words[:k]), set()).add(words[k])

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> tuple[str, int]:
        """``text`` with passage text replaced by :data:`WITHHELD`, and how many spans were."""
        if self._pattern is None:
            return text, 0
        out, count = self._pattern.subn(WITHHELD, text)
        out, shared = self._shingles(out)
        out, tails = self._clipped_tails(out)
        out = _RUNS.sub(WITHHELD + " ", out)
        return out, count + shared + tails

    def _shingles(self, text: str) -> tuple[str, int]:
        n = self._shingle
        words = list(_WORD.finditer(text))
        hit = [False] * len(words)
        lower = [w.group().lower() for w in words]
        for i, _ in window_hits(lower, n, self._grams):
            hit[i : i + n] = [True] * n
        # A run goes on while the next word continues a passage (a clipped tail included).
        for j in range(n - 1, len(words) - 1):
            if hit[j] and not hit[j + 1] and all(hit[j - n + 2 : j + 1]):
                k = j
                while k + 1 < len(words):
                    following = self._succ.get(tuple(lower[k - n + 2 : k + 1]), set())
                    if lower[k + 1] in following:
                        hit[k + 1], k = True, k + 1
                        continue
                    if any(w.startswith(lower[k + 1]) for w in following):
                        hit[k + 1] = True
                    break
        spans: list[list[int]] = []  # [start, end] of merged runs
        for word, marked in zip(words, hit, strict=True):
            if not marked:
                continue
            if spans and not text[spans[-1][1] : word.start()].strip(" \t\n.,;:'\"()-"):
                spans[-1][1] = word.end()
            else:
                spans.append([word.start(), word.end()])
        return replace_spans(text, [(start, end, WITHHELD) for start, end in spans]), len(spans)

    def _clipped_tails(self, text: str) -> tuple[str, int]:
        count = 0
        pos = text.find(WITHHELD)
        while pos != -1:
            after = pos + len(WITHHELD)
            end = after
            taken: list[str] = []
            for word in _WORD.finditer(text, after):
                if text[end : word.start()].strip(" \t\n.,;:'\"()-"):
                    break
                following = self._next.get(tuple(taken), set())
                token = word.group().lower()
                if token not in following:
                    # a word cut in the middle ends the clipped tail
                    if any(w.startswith(token) for w in following):
                        taken.append(token)
                        end = word.end()
                    break
                taken.append(token)
                end = word.end()
            if taken:
                text = text[:after] + text[end:]
                count += 1
            pos = text.find(WITHHELD, after)
        return text, count

    def request(self, request: GenerationRequest) -> tuple[GenerationRequest, int]:
        """The request with its messages scrubbed, and the number of spans removed."""
        total = 0
        messages = []
        for message in request.messages:
            content, count = self.text(message.content)
            total += count
            messages.append(message if not count else Message(role=message.role, content=content))
        if not total:
            return request, 0
        return request.model_copy(update={"messages": tuple(messages)}), total
