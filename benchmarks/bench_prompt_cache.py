"""How much of AGoT's prompt a provider's automatic prompt cache can serve, on long contexts.

Every AGoT step of a multi-hop question opens with the same system text and task block (about
1,500 tokens of passages), so a provider that caches prompt prefixes (OpenAI: prefixes of 1,024
tokens and more, in 128-token steps; vLLM and SGLang likewise) serves most of each prompt from
its cache, as long as nothing before the varying part changes from step to step. This runs AGoT
(N=3, d=1, L=3) over synthetic HotpotQA distractor-style items (ten passages, ~1,500 tokens)
against ``agot.testing.prompt_cache_server``, an OpenAI-compatible server whose usage follows that
rule, through the direct HTTP client, with the schema sent natively (``json_schema``) and
prompted (a server without ``response_format``: the schema is written into the prompt), and
reports the share of prompt tokens served from the cache (target >= 75%) as the server counted
it and as agot's ``Usage.cached_prompt_tokens`` counted it.

    python benchmarks/bench_prompt_cache.py --items 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from agot.testing.prompt_cache_server import agot_against_cache

TARGET = 0.75


async def cached_share(items: int, native: bool) -> dict[str, float]:
    """Run AGoT over ``items`` items; the server's and agot's counts of cached prompt tokens."""
    server, usage, results = await agot_against_cache(items, native=native)
    return {
        "calls": usage.calls,
        "prompt_tokens_per_call": usage.prompt_tokens / max(usage.calls, 1),
        "server_share": server.cached_share,
        "usage_share": usage.cached_share or 0.0,
        "failed": sum(1 for r in results if r.error),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    for native in (True, False):
        row = asyncio.run(cached_share(args.items, native))
        mode = "json_schema" if native else "prompted schema"
        verdict = "ok" if row["server_share"] >= TARGET else "BELOW TARGET"
        print(
            f"{mode:>16}: {row['calls']:.0f} calls, {row['prompt_tokens_per_call']:.0f} prompt "
            f"tokens per call, cached share {row['server_share']:.1%} (server) / "
            f"{row['usage_share']:.1%} (agot usage), {row['failed']:.0f} failed items: {verdict} "
            f"(target >= {TARGET:.0%})",
            flush=True,
        )
    print(
        f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
