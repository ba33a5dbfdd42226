"""AGoT replies for :class:`~agot.testing.openai_stub_server.OpenAIStubServer`, streamed at a
real model's pace: for benchmarks of AGoT over streamed HTTP replies.

:func:`agot_replies` returns the stub's responder: it reads which AGoT step a request is (from
its schema and prompt), writes a reply of realistic length (a proposal's thought ~45 words, a
verdict ~25, an answer ~60, a synthesis ~75; one stream chunk per word) and sends it after
``ttft_s`` with ``per_token_s`` between chunks. Everything is drawn from a hash of the prompt,
so the same prompt always gets the same reply (a streamed and a whole-reply run make the same
graph), and a thought is judged complex with probability ``p_complex``.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Callable
from typing import Any

from agot.testing.openai_stub_server import StubResponse

_WORDS = (
    "the value of each input follows from the passage and the rule stated above so we "
    "combine both results check units compare the candidates and keep the consistent one"
).split()


def _rng(text: str) -> random.Random:
    return random.Random(zlib.crc32(text.encode()))


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


def agot_replies(
    *, ttft_s: float = 0.3, per_token_s: float = 0.02, p_complex: float = 0.3
) -> Callable[[Any], StubResponse]:
    """The stub server's responder for AGoT requests (see the module docstring)."""

    def respond(body: Any) -> StubResponse:
        blob = json.dumps(body)
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        rng = _rng(prompt)
        if '"thoughts"' in blob:
            numbers = sorted({int(n) for n in re.findall(r"^\s+(\d+)\. ", prompt, re.M)})
            if '"ready"' in blob and rng.random() < 0.4:
                reply: dict[str, Any] = {
                    "strategy": _words(rng, 12),
                    "ready": True,
                    "thoughts": [],
                }
            else:
                count = 2 if '"ready"' in blob else 3
                thoughts = [
                    {
                        "title": _words(rng, 6),
                        "content": _words(rng, 35),
                        "parents": numbers[-2:],
                    }
                    for _ in range(count)
                ]
                reply = {"strategy": _words(rng, 12), "thoughts": thoughts}
        elif '"is_complex"' in blob:
            reply = {"justification": _words(rng, 25), "is_complex": rng.random() < p_complex}
        else:  # a thought's answer, or a synthesis (same shape, a little longer)
            final = "Work out this thought" not in prompt
            reply = {
                "reasoning": _words(rng, 60 if final else 48),
                "answer": _words(rng, 14 if final else 10),
            }
        text = json.dumps(reply)
        response = StubResponse.chat(
            text,
            prompt_tokens=len(prompt.split()),
            completion_tokens=len(text.split()),
        )
        if body.get("stream") is True:
            response.delay_s, response.token_delay_s = ttft_s, per_token_s
        else:  # the whole reply when its last token would have been written
            response.delay_s = ttft_s + per_token_s * max(0, len(text.split(" ")) - 1)
        return response

    return respond
