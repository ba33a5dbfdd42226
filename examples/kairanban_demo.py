"""Kairanban / Idobata demo: classify a text, or compare the four variants on a fixture.

    python examples/kairanban_demo.py "The soup was cold but the staff were lovely."
    python examples/kairanban_demo.py --variants --data tests/fixtures/sentiment/tweeteval

The first form runs one KCS+IBC chain and prints each agent's distribution, the entropy and
variance after every stage, and the idobata dialogue. The second runs single agent,
independent agents (majority vote and mean), KCS and KCS+IBC on the same items of a sentiment
data set (``--dataset`` and ``--data``, see ``agot.evals.datasets.sentiment``) through the eval
runner and prints its summary: the metrics and the calls and tokens each variant cost.
Defaults suit the embedded model (``--model local``): three agents, short notes, small token
limits. Pass ``--model openai/gpt-4o-mini`` (or any model string) for a real model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import agot
from agot.dispatcher import Dispatcher
from agot.limits import Limits


def options(args: argparse.Namespace) -> dict:
    return {
        "max_tokens": args.max_tokens,
        "comment_max_tokens": args.comment_tokens,
        "note_chars": args.note_chars,
        "seed": args.seed,
        "temperature": args.temperature,
    }


async def classify(args: argparse.Namespace) -> None:
    k = agot.Kairanban(agents=args.agents, idobata_at=args.idobata_at, **options(args))
    limits = Limits(schema_retries=args.schema_retries)
    async with Dispatcher(args.model, limits=limits) as dispatcher:
        result = await k.predict(args.text, dispatcher=dispatcher)
    print(f"label: {result.label}  distribution: {json.dumps(result.distribution)}")
    for stage, document in zip(result.trajectory, result.documents, strict=True):
        seen = " (saw the idobata)" if stage.after_idobata else ""
        if document.error or document.distribution is None:
            print(f"stage {stage.stage}: agent failed: {document.error}")
            continue
        print(
            f"stage {stage.stage}{seen}: H={stage.entropy:.3f} nats  Var={stage.variance:.4f}  "
            f"P={json.dumps({k: round(v, 3) for k, v in document.distribution.items()})}"
        )
        print(f"    analysis: {document.analysis!r}  reasoning: {document.reasoning!r}")
    for comment in result.dialogue:
        print(f"idobata, agent {comment.agent}: {comment.text or comment.error}")
    u = result.usage
    print(f"{u.calls} calls, {u.prompt_tokens}+{u.completion_tokens} tokens, {result.wall_s:.1f} s")


async def variants(args: argparse.Namespace) -> Any:
    """The four variants through the eval runner: the same run as ``agot eval DATASET
    --strategy single,independent,kcs,kcs+ibc --agents N --idobata-at K``."""
    from agot.evals import run_eval

    started = time.perf_counter()
    summary = await run_eval(
        args.dataset,
        data=args.data,
        split=args.split,
        limit=args.limit,
        strategies=["single", "independent", "kcs", "kcs+ibc"],
        models=[args.model],
        per_strategy_params={
            "kairanban": {"agents": args.agents, "idobata_at": args.idobata_at, **options(args)}
        },
        limits=Limits(schema_retries=args.schema_retries),
        concurrency=args.concurrency,
        out=args.out,
        progress=False,
    )
    print(
        f"{summary.items} items of {args.dataset} from {args.data}, model {args.model}, "
        f"{args.agents} agents, idobata after agent {args.idobata_at}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(summary.table())
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("text", nargs="?", default="The soup was cold but the staff were lovely.")
    parser.add_argument("--variants", action="store_true", help="compare the four variants")
    parser.add_argument("--data", default="tests/fixtures/sentiment/tweeteval")
    parser.add_argument(
        "--dataset", default="tweet_eval", help="tweet_eval, sst5 or financial_phrasebank"
    )
    parser.add_argument("--split", default=None, help="default: the data set's usual split")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", default="local")
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--idobata-at", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--comment-tokens", type=int, default=24)
    parser.add_argument("--note-chars", type=int, default=30)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--schema-retries", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", default=None, help="the run folder (default runs/eval-...)")
    args = parser.parse_args()
    if not args.variants:
        asyncio.run(classify(args))
        return
    asyncio.run(variants(args))


if __name__ == "__main__":
    main()
