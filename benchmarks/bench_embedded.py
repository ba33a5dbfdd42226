"""Embedded backend benchmarks: agot's overhead over llama-cpp-python, and prefix reuse.

1. **Throughput.** Tokens per second through agot (Dispatcher + LlamaCppBackend) against
   llama-cpp-python's ``create_chat_completion`` called directly, on the same GGUF, prompts,
   threads and context size, greedy, fixed ``max_tokens``. Runs alternate between the two so
   machine noise hits both alike; the ratio of medians is the figure (target >= 0.9).
2. **Prefix reuse.** The request sequence sibling-1, sibling-2, other, sibling-3, where the
   siblings share a long system prompt (as AGoT's sibling nodes do) and ``other`` does not, with
   ``max_tokens=1`` so each time is essentially prompt evaluation. Run on: llama-cpp-python with
   no cache, llama-cpp-python with ``LlamaRAMCache`` (``llm.set_cache``), agot with snapshots
   off, and agot's default (snapshot on evict). sibling-1 is cold, sibling-2 shows live-context
   reuse, ``other`` shows what saving costs, sibling-3 shows interleaved reuse.

    python benchmarks/bench_embedded.py                    # both, on the local SmolLM2
    python benchmarks/bench_embedded.py --skip-prefix --reps 7 --max-tokens 256
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any


def _story_messages(i: int) -> list[dict[str, str]]:
    topics = ["a dragon", "a lighthouse", "a robot", "a river", "a violin", "a comet", "a fox"]
    return [
        {"role": "system", "content": "You are a storyteller. Write long, detailed stories."},
        {"role": "user", "content": f"Write a long story about {topics[i % len(topics)]}."},
    ]


def _request(messages: list[dict[str, str]], max_tokens: int) -> Any:
    from agot.types import GenerationRequest, Message, SamplingParams

    return GenerationRequest(
        messages=tuple(Message(**m) for m in messages),
        params=SamplingParams(temperature=0.0, max_tokens=max_tokens),
    )


def _llama(path: str, n_ctx: int, threads: int) -> Any:
    import llama_cpp

    return llama_cpp.Llama(
        model_path=path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
    )


def _backend(path: str, n_ctx: int, threads: int, snapshots: bool = True) -> Any:
    from agot.backends.llamacpp import LlamaCppBackend
    from agot.backends.registry import BackendOptions

    extra = {} if snapshots else {"prefix_cache_mb": 0}
    return LlamaCppBackend(
        path, options=BackendOptions(n_ctx=n_ctx, n_threads=threads, extra=extra)
    )


def _direct(llm: Any, messages: list[dict[str, str]], max_tokens: int) -> tuple[int, float]:
    start = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, temperature=0.0, max_tokens=max_tokens)
    return out["usage"]["completion_tokens"], time.perf_counter() - start


async def _through_agot(
    dispatcher: Any, messages: list[dict[str, str]], max_tokens: int
) -> tuple[int, float]:
    start = time.perf_counter()
    generation = await dispatcher.generate(_request(messages, max_tokens))
    return generation.usage.completion_tokens, time.perf_counter() - start


async def throughput(
    path: str, n_ctx: int, threads: int, max_tokens: int, reps: int
) -> dict[str, Any]:
    from agot.dispatcher import Dispatcher

    llm = _llama(path, n_ctx, threads)
    dispatcher = Dispatcher(_backend(path, n_ctx, threads))
    # Warm-up: first calls pay one-off costs (page faults, thread pools) on both sides.
    _direct(llm, _story_messages(99), 8)
    await _through_agot(dispatcher, _story_messages(99), 8)
    rates: dict[str, list[float]] = {"direct": [], "agot": []}
    tokens: dict[str, list[int]] = {"direct": [], "agot": []}
    for rep in range(reps):
        order = ["direct", "agot"] if rep % 2 == 0 else ["agot", "direct"]
        for side in order:
            if side == "direct":
                n, dt = _direct(llm, _story_messages(rep), max_tokens)
            else:
                n, dt = await _through_agot(dispatcher, _story_messages(rep), max_tokens)
            rates[side].append(n / dt)
            tokens[side].append(n)
    await dispatcher.aclose()
    llm.close()
    direct, via = statistics.median(rates["direct"]), statistics.median(rates["agot"])
    return {
        "direct_tok_s": direct,
        "agot_tok_s": via,
        "ratio": via / direct,
        "direct_runs": rates["direct"],
        "agot_runs": rates["agot"],
        "tokens_direct": tokens["direct"],
        "tokens_agot": tokens["agot"],
    }


def _prefix_messages(prefix_tokens: int) -> tuple[str, list[list[dict[str, str]]]]:
    # About 12 tokens per fact with SmolLM2's tokenizer.
    facts = " ".join(
        f"Fact {i}: crate {i} holds {i * 7 % 13} pears." for i in range(max(1, prefix_tokens // 12))
    )
    system = f"You answer questions about crates from this inventory.\n{facts}"

    def sibling(k: int) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": f"How many pears are in crate {k}?"},
        ]

    other = [{"role": "user", "content": "Say hello to the reader."}]
    return system, [sibling(3), sibling(5), other, sibling(9)]


STEPS = ("sibling-1 (cold)", "sibling-2 (next)", "other (evicts)", "sibling-3 (interleaved)")


async def prefix_reuse(path: str, n_ctx: int, threads: int, prefix_tokens: int) -> dict[str, Any]:
    import llama_cpp

    _, sequence = _prefix_messages(prefix_tokens)
    results: dict[str, Any] = {}

    for label, cache in (
        ("llama-cpp-python, no cache", False),
        ("llama-cpp-python + LlamaRAMCache", True),
    ):
        llm = _llama(path, n_ctx, threads)
        if cache:
            llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=2 << 30))
        _direct(llm, [{"role": "user", "content": "Hi"}], 1)  # warm-up
        times, prompt_tokens = [], 0
        for messages in sequence:
            start = time.perf_counter()
            out = llm.create_chat_completion(messages=messages, temperature=0.0, max_tokens=1)
            times.append(time.perf_counter() - start)
            prompt_tokens = max(prompt_tokens, out["usage"]["prompt_tokens"])
        llm.close()
        results[label] = {"times": times, "prompt_tokens": prompt_tokens}

    for label, snapshots in (
        ("agot, snapshots off", False),
        ("agot (default: snapshot on evict)", True),
    ):
        backend = _backend(path, n_ctx, threads, snapshots=snapshots)
        await backend.load()
        await backend.generate(_request([{"role": "user", "content": "Hi"}], 1))
        times, prompt_tokens = [], 0
        for messages in sequence:
            start = time.perf_counter()
            reply = await backend.generate(_request(messages, 1))
            times.append(time.perf_counter() - start)
            prompt_tokens = max(prompt_tokens, reply.prompt_tokens)
        stats = backend.stats
        await backend.aclose()
        results[label] = {
            "times": times,
            "prompt_tokens": prompt_tokens,
            "saves": stats.prefix_saves,
            "restores": stats.prefix_restores,
            "restored_tokens": stats.restored_tokens,
        }
    return results


def _print_throughput(r: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\nThroughput: greedy, max_tokens={args.max_tokens}, {args.reps} reps, "
        f"threads={args.threads}, n_ctx={args.n_ctx} (tokens/s, end to end)"
    )
    print(f"{'path':<40}{'median':>10}{'runs':>40}")
    for side, name in (
        ("direct", "llama-cpp-python create_chat_completion"),
        ("agot", "agot Dispatcher + LlamaCppBackend"),
    ):
        runs = " ".join(f"{x:.1f}" for x in r[f"{side}_runs"])
        print(f"{name:<40}{r[f'{side}_tok_s']:>10.1f}{runs:>40}")
    print(f"ratio agot/direct: {r['ratio']:.3f} (target >= 0.9)")
    if r["tokens_direct"] != r["tokens_agot"]:
        print(f"note: completion lengths differ: {r['tokens_direct']} vs {r['tokens_agot']}")


def _print_prefix(r: dict[str, Any], prefix_tokens: int) -> None:
    n = max(v["prompt_tokens"] for v in r.values())
    print(
        f"\nPrefix reuse: siblings share a ~{prefix_tokens}-token system prompt ({n}-token "
        "prompts), max_tokens=1: seconds per call"
    )
    print(f"{'config':<36}" + "".join(f"{s:>26}" for s in STEPS))
    for label, v in r.items():
        cells = "".join(f"{t:>26.3f}" for t in v["times"])
        print(f"{label:<36}{cells}")
        if "saves" in v:
            print(
                f"{'':<36}  snapshots saved {v['saves']}, restored {v['restores']} "
                f"({v['restored_tokens']} tokens)"
            )


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="GGUF path (default: the local SmolLM2)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--prefix-tokens", type=int, default=600)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-prefix", action="store_true")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args(argv)

    from agot.backends.llamacpp import default_model_path

    path = args.model or default_model_path()
    print(f"model: {path}")
    report: dict[str, Any] = {"args": vars(args)}
    if not args.skip_throughput:
        report["throughput"] = asyncio.run(
            throughput(path, args.n_ctx, args.threads, args.max_tokens, args.reps)
        )
        _print_throughput(report["throughput"], args)
    if not args.skip_prefix:
        report["prefix"] = asyncio.run(
            prefix_reuse(path, args.n_ctx, args.threads, args.prefix_tokens)
        )
        _print_prefix(report["prefix"], args.prefix_tokens)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
