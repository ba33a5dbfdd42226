"""AGoT over streamed replies against whole replies (#27).

An OpenAI-compatible stub server (``agot.testing.openai_stub_server`` with the responder of
``agot.testing.agot_stream_replies``) answers every AGoT step after a 0.3 s time to first token
at 20 ms per token, with replies of realistic length, each thought judged complex with
probability 0.3. AGoT N=3, d=1, L=3 runs over ``--questions`` questions (all at once, through
agot's own HTTP client), four ways: streaming and ``--no-stream``, each plain and with
``--speculate``. Reported: wall time per configuration and the streaming gain (target: never
slower), the calls made (the same graphs), and for the streamed runs the mean time from a
question's start to the first token of its final answer against the time to the whole answer
(``strategy.stream()``'s first FinalTextDelta and its Done).

    python benchmarks/bench_streaming.py [--questions 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import agot
from agot.dispatcher import Dispatcher
from agot.events import Done, FinalTextDelta
from agot.limits import Limits
from agot.testing.agot_stream_replies import agot_replies
from agot.testing.openai_stub_server import OpenAIStubServer

MODEL = "openai/stub-model"


async def one(
    strategy: agot.AGoT, question: str, dispatcher: Dispatcher
) -> tuple[float, float, float, int]:
    """(s to the synthesis reply's first token, s to the answer field's first token, s to the
    whole answer, calls) of one question."""
    started, wall_start = time.perf_counter(), time.time()
    first = None
    async for event in strategy.stream(question, dispatcher=dispatcher):
        if isinstance(event, FinalTextDelta) and first is None:
            first = time.perf_counter() - started
        if isinstance(event, Done):
            whole = time.perf_counter() - started
            result = event.result
    final = [e for e in result.events if e.role == "final" and e.node_id == "final"]
    reply = final[-1].first_token if final and final[-1].first_token else None
    return (
        reply - wall_start if reply is not None else whole,
        first if first is not None else whole,
        whole,
        len(result.events),
    )


async def configuration(
    server: OpenAIStubServer, questions: list[str], *, stream: bool, speculate: bool
) -> dict[str, float]:
    strategy = agot.AGoT(max_depth=1, max_layers=3, max_nodes=3, speculate=speculate)
    limits = Limits(max_concurrency=256)
    async with Dispatcher(MODEL, api_base=server.base_url, stream=stream, limits=limits) as d:
        started = time.perf_counter()
        runs = await asyncio.gather(*(one(strategy, q, d) for q in questions))
        wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "calls": sum(r[3] for r in runs),
        "reply_token_s": statistics.mean(r[0] for r in runs),
        "first_token_s": statistics.mean(r[1] for r in runs),
        "whole_s": statistics.mean(r[2] for r in runs),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    questions = [
        f"Question {i}: how do the passages settle case {i}?" for i in range(args.questions)
    ]
    load = os.getloadavg()[0]
    print(f"AGoT N=3 d=1 L=3, {len(questions)} questions; TTFT 0.3 s, 20 ms/token; load {load:.1f}")
    results: dict[tuple[bool, bool], dict[str, float]] = {}
    with OpenAIStubServer(agot_replies()) as server:
        server.default = agot_replies()
        for speculate in (False, True):
            for stream in (False, True):
                row = await configuration(server, questions, stream=stream, speculate=speculate)
                results[(speculate, stream)] = row
                print(
                    f"  {'speculate' if speculate else 'plain':9} "
                    f"{'stream' if stream else 'no-stream':9}  wall {row['wall_s']:6.2f} s  "
                    f"calls {row['calls']:4.0f}  synthesis reply's first token "
                    f"{row['reply_token_s']:5.2f} s, answer's first token "
                    f"{row['first_token_s']:5.2f} s, whole {row['whole_s']:5.2f} s (means)"
                )
    for speculate in (False, True):
        whole, live = results[(speculate, False)], results[(speculate, True)]
        gain = whole["wall_s"] / live["wall_s"]
        verdict = "ok" if live["wall_s"] <= whole["wall_s"] * 1.02 else "SLOWER"
        print(
            f"{'speculate' if speculate else 'plain'}: streaming {gain:.2f}x faster "
            f"({whole['wall_s']:.2f} -> {live['wall_s']:.2f} s) [{verdict}]; the synthesis "
            f"shows its first token at {live['reply_token_s'] / live['whole_s']:.0%} and its "
            f"answer field's at {live['first_token_s'] / live['whole_s']:.0%} of the time to "
            "the whole answer (whole replies: 100%)"
        )
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
