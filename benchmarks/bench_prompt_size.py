"""Prompt size of AGoT on long contexts: prompt tokens per question with 4,000-character passages.

Every AGoT step sees the task block (passages, question, rules), so on multi-hop questions the
passages dominate every prompt; what agot adds on top (the graph so far, a nested graph's
heritage, the answers a thought builds on) is what this benchmark watches, along with the two
rules the prompts keep: the task block appears once per prompt, and the top-level question
once (nested prompts used to repeat it in their heritage line).

AGoT at the paper's setting (N=3, d=1, L=3) on the scripted backend (no model: the graph's shape
is fixed by the script), over ``--questions`` (10) questions whose contexts are ``--chars``
(4,000) characters of distinct synthetic passages, in four shapes: with early stopping (the
graph declares itself ready after its second layer) and without (``early_stop=False``: every
layer grows), each with nothing complex and with the first thought of each graph complex (a
nested graph per question). Reported per shape: calls and prompt tokens per question (the
scripted backend's count: words and punctuation; every answer is padded to 300 characters, as
a model's are), the passages' share of the largest prompt, and the most times one prompt holds
the passages and the top-level question.

Run: ``python benchmarks/bench_prompt_size.py [--questions 10] [--chars 4000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from typing import Any

import agot
from agot.backends.scripted import ScriptedBackend
from agot.task import Task
from agot.testing.agot_scripts import agot_script
from agot.types import GenerationRequest

#: Characters of a thought's answer (a sentence or three).
ANSWER_CHARS = 300

WORDS = (
    "river town founded bridge council harbour merchant guild charter abbey market tower "
    "mill granary canal duke bishop treaty siege archive ferry quarry forest valley"
).split()


def context(seed: int, chars: int) -> str:
    """Distinct passages of about ``chars`` characters (seeded), HotpotQA-like in layout."""
    rng = random.Random(seed)
    passages, size = [], 0
    while size < chars:
        title = f"Passage {len(passages) + 1}: {rng.choice(WORDS).title()} of {rng.randint(1, 999)}"
        body = " ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."
            for _ in range(4)
        )
        passages.append(f"{title}\n{body}")
        size += len(passages[-1]) + 2
    return "\n\n".join(passages)[:chars]


def with_long_answers(script: Any) -> Any:
    """``script`` with answers of about ``ANSWER_CHARS`` characters, as a model writes them (the
    graph views and "known" blocks carry answers, so their length matters)."""

    def long(request: GenerationRequest) -> object:
        reply = script(request)
        if isinstance(reply, dict) and "answer" in reply:
            filler = " ".join(WORDS[(i * 7) % len(WORDS)] for i in range(ANSWER_CHARS // 7))
            reply = {**reply, "answer": f"{reply['answer']}: {filler}"[:ANSWER_CHARS]}
        return reply

    return long


async def shape(questions: int, chars: int, *, early_stop: bool, nested: bool) -> dict[str, float]:
    calls = tokens = 0
    share = 0.0
    repeats = blocks = 0
    for q in range(questions):
        question = f"Which {WORDS[q % len(WORDS)]} was founded first, and by whom (case {q})?"
        task = Task(question=question, context=context(q, chars))
        script = agot_script(
            fanout=3,
            complex_if=(lambda node: node in ("1", "4")) if nested else (lambda node: False),
            answer_at_layer=1 if early_stop else None,
        )
        backend = ScriptedBackend(with_long_answers(script))
        strategy = agot.AGoT(max_depth=1, max_layers=3, max_nodes=3, early_stop=early_stop)
        result = await strategy.solve(task, model=backend)
        assert result.answer is not None and not result.errors, result.errors
        prompts = ["\n".join(m.content for m in r.request.messages) for r in backend.calls]
        calls += len(prompts)
        tokens += result.usage.prompt_tokens
        largest = max(prompts, key=len)
        share = max(share, len(task.context or "") / len(largest))
        repeats = max(repeats, *(p.count(question) for p in prompts))
        blocks = max(blocks, *(p.count(task.context[:200]) for p in prompts))
    return {
        "calls": calls / questions,
        "tokens": tokens / questions,
        "task_share": share,
        "question_repeats": repeats,
        "context_repeats": blocks,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--chars", type=int, default=4000)
    args = parser.parse_args()
    print(
        f"AGoT N=3 d=1 L=3, {args.questions} questions with {args.chars}-character contexts "
        "(scripted backend; tokens are its word-and-punctuation count)"
    )
    print(
        f"{'shape':32} {'calls/q':>8} {'prompt tok/q':>12} {'ctx share':>9} {'ctx max':>7} "
        f"{'top q max':>9}"
    )
    for early_stop in (True, False):
        for nested in (False, True):
            row = await shape(args.questions, args.chars, early_stop=early_stop, nested=nested)
            name = ("early stop" if early_stop else "no early stop") + (
                ", one nested graph+" if nested else ", nothing complex"
            )
            print(
                f"{name:32} {row['calls']:8.1f} {row['tokens']:12.0f} "
                f"{row['task_share']:9.2f} {row['context_repeats']:7d} "
                f"{row['question_repeats']:9d}"
            )


if __name__ == "__main__":
    asyncio.run(main())
