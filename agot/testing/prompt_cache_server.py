"""An OpenAI-compatible test server whose usage follows OpenAI's automatic prompt caching rule.

OpenAI serves a prompt's opening from its cache when an earlier request began with the same
tokens: only prefixes of 1,024 tokens or more count, in steps of 128 tokens, and the reply's
``usage.prompt_tokens_details.cached_tokens`` says how many were served. :class:`PrefixCache`
is that rule over a prompt's tokens; :class:`PromptCacheServer` is the stub server
(``openai_stub_server.py``) answering each request from a reply function of the request body
and reporting the prompt's tokens and cached tokens by the rule. A prompt's tokens are the
words and punctuation marks of its messages in order (role, then content), a stand-in for a
real tokenizer that keeps what matters here: a shared opening of the messages is a shared
prefix of tokens. A prompt is cached once its reply is written (a request that arrives while
an identical opening is still in flight misses, as with a real provider).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

if TYPE_CHECKING:
    from agot.result import Result
    from agot.task import Task
    from agot.types import Usage

#: OpenAI's rule: the shortest cacheable prefix, and the step that cached prefixes grow in.
MIN_PREFIX = 1024
STEP = 128

_TOKEN = re.compile(r"\w+|[^\w\s]")


def prompt_tokens(body: dict[str, Any]) -> list[str]:
    """The tokens of a chat request's messages, in order (see the module docstring)."""
    tokens: list[str] = []
    for message in body.get("messages") or []:
        tokens.append(f"<{message.get('role')}>")
        content = message.get("content")
        if isinstance(content, list):  # content blocks
            content = "".join(str(block.get("text", "")) for block in content)
        tokens.extend(_TOKEN.findall(str(content or "")))
    return tokens


class PrefixCache:
    """The prefixes seen so far, at the lengths the rule can serve (1,024 + k x 128 tokens)."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(tokens: list[str]) -> list[tuple[int, bytes]]:
        digest = hashlib.sha256()
        keys = []
        for length in range(MIN_PREFIX, len(tokens) + 1, STEP):
            start = length - STEP if length > MIN_PREFIX else 0
            digest.update("\x00".join(tokens[start:length]).encode() + b"\x01")
            keys.append((length, digest.copy().digest()))
        return keys

    def lookup(self, tokens: list[str]) -> int:
        """Tokens of ``tokens`` served from the cache: the longest cached prefix by the rule."""
        with self._lock:
            served = 0
            for length, key in self._keys(tokens):
                if key not in self._seen:
                    break
                served = length
            return served

    def store(self, tokens: list[str]) -> None:
        with self._lock:
            self._seen.update(key for _, key in self._keys(tokens))


class PromptCacheServer(OpenAIStubServer):
    """Answers ``reply(body)`` (a string) with usage by OpenAI's caching rule, and totals it."""

    def __init__(self, reply: Callable[[dict[str, Any]], str]) -> None:
        super().__init__()
        self.reply = reply
        self.cache = PrefixCache()
        self.prompt_tokens = 0
        self.cached_tokens = 0

    def _next(self, body: Any) -> StubResponse:
        tokens = prompt_tokens(body)
        cached = self.cache.lookup(tokens)
        text = self.reply(body)
        self.cache.store(tokens)
        with self._lock:
            self.prompt_tokens += len(tokens)
            self.cached_tokens += cached
        response = StubResponse.chat(
            text, prompt_tokens=len(tokens), completion_tokens=len(_TOKEN.findall(text))
        )
        response.body["usage"]["prompt_tokens_details"] = {"cached_tokens": cached}
        return response

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


# -- HotpotQA distractor-style items and AGoT replies over HTTP --------------------------------

_WORDS = (
    "river city valley council founded northern harbour bridge railway museum festival "
    "province mountain border treaty merchant guild cathedral library market island canal "
    "university garrison fortress orchard vineyard theatre archive observatory"
).split()


def hotpot_like_items(count: int, *, seed: int = 0, paragraphs: int = 10) -> list[Task]:
    """``count`` synthetic multi-hop items shaped like HotpotQA's distractor setting: a
    question and ``paragraphs`` titled passages (two carry the answer, the rest distract) of
    about 1,500 tokens in all."""
    import random

    from agot.task import Task

    items = []
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        names = [
            f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {i}"
            for i in range(paragraphs)
        ]
        blocks = []
        for name in names:
            sentences = [
                f"{name} " + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(18, 26))) + "."
                for _ in range(6)
            ]
            blocks.append(f"{name}\n" + " ".join(sentences))
        rng.shuffle(blocks)
        question = (
            f"item {index}: which {rng.choice(_WORDS)} connects {names[0]} with {names[1]}, "
            "and in which year was it founded?"
        )
        items.append(Task(question=question, context="\n\n".join(blocks), id=f"synthetic-{index}"))
    return items


def agot_http_reply(body: dict[str, Any]) -> str:
    """An AGoT step's reply (JSON) from a chat request body, told apart by the step's wording:
    three first thoughts, a second layer of three built on them, then ready; a thought is
    complex (a nested graph) one time in three, by a hash of its prompt; answers of a few
    sentences, as a model's are."""
    import json

    prompt = str((body.get("messages") or [{}])[-1].get("content") or "")
    # Without a prompted schema (its two lines), so both ways of sending it get the same graph.
    prompt = re.sub(r"Reply with only a JSON object[^\n]*\n[^\n]*", "", prompt)
    digest = int(hashlib.sha256(" ".join(prompt.split()).encode()).hexdigest()[:8], 16)
    answer = "It follows from the passages: " + " ".join(
        _WORDS[(digest + i) % len(_WORDS)] for i in range(30)
    )
    if "Break this into at most" in prompt or "Propose at most" in prompt:
        numbers = sorted({int(n) for n in re.findall(r"^\s+(\d+)\. ", prompt, re.M)})
        if len(numbers) >= 6:
            return json.dumps({"strategy": "the answers settle it", "ready": True, "thoughts": []})
        thoughts = [
            {
                "title": f"Find fact {len(numbers) + i}",
                "content": f"Find fact {len(numbers) + i} in the passages.",
                "parents": numbers,
            }
            for i in range(1, 4)
        ]
        return json.dumps({"strategy": "find the facts, then combine", "thoughts": thoughts})
    if "Is this thought complex" in prompt:
        return json.dumps({"justification": "scripted", "is_complex": digest % 3 == 0})
    return json.dumps({"reasoning": answer, "answer": f"answer {digest % 97}"})


async def agot_against_cache(
    items: int, *, native: bool
) -> tuple[PromptCacheServer, Usage, list[Result]]:
    """AGoT (N=3, d=1, L=3) over ``items`` synthetic items against a :class:`PromptCacheServer`
    through the direct HTTP client, the schema sent natively or prompted: the server (its
    counts), agot's usage, the results."""
    import agot
    from agot import Dispatcher, Limits

    server = PromptCacheServer(agot_http_reply)
    with server:
        dispatcher = Dispatcher(
            "openai/cache-bench",
            api_base=server.base_url,
            limits=Limits(timeout_s=60),
            extra={"native_schema": native},
        )
        strategy = agot.AGoT(max_nodes=3, max_depth=1, max_layers=3)
        async with dispatcher:
            results = await strategy.solve_many(hotpot_like_items(items), dispatcher=dispatcher)
    return server, dispatcher.usage, results
