"""``agot solve "QUESTION"``: answer one question with a strategy and print the result."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agot.cli.options import (
    add_agot_shape_options,
    add_limit_options,
    add_model_options,
    add_routing_options,
)
from agot.cli.search_options import add_search_options

HELP = "answer one question"
REFLOW_DESCRIPTION = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agot.cli.options import samples_help
    from agot.controller.bounds import DEFAULT_MAX_THOUGHTS

    parser.add_argument("question", help="the question (quote it)")
    parser.add_argument(
        "--strategy",
        default="agot",
        help="agot (default), cot, direct, sc (self-consistency), tot (tree of thoughts), aot "
        "(atom of thoughts) or bon (best-of-N, verified)",
    )
    add_agot_shape_options(parser, tag="AGoT")
    parser.add_argument(
        "--max-thoughts",
        type=int,
        default=None,
        metavar="T",
        help=f"AGoT: thoughts across all graphs (default {DEFAULT_MAX_THOUGHTS})",
    )
    parser.add_argument(
        "--speculate",
        action="store_true",
        default=None,
        help="AGoT: start a thought's answer and nested proposal with its assessment",
    )
    parser.add_argument("--samples", type=int, default=None, metavar="N", help=samples_help())
    add_search_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trace", default=None, metavar="FILE", help="write the full trace here")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    add_model_options(parser)
    add_routing_options(parser)
    add_limit_options(parser)


def strategy_params(args: argparse.Namespace) -> dict[str, Any]:
    from agot.cli.options import agot_shape_from_args, sampling_kwargs

    params = sampling_kwargs(args)
    name = args.strategy.strip().lower()
    agot_flags = {
        **agot_shape_from_args(args),
        "max_thoughts": args.max_thoughts,
        "speculate": args.speculate,
    }
    if name == "agot":
        params.update({k: v for k, v in agot_flags.items() if v is not None})
    elif any(v is not None for v in agot_flags.values()):
        from agot.errors import ConfigError

        raise ConfigError(
            "--max-depth/--max-layers/--max-nodes/--max-thoughts/--speculate/--no-early-stop "
            "apply to --strategy agot only"
        )
    if args.samples is not None:
        if name not in ("sc", "self-consistency"):
            from agot.errors import ConfigError

            raise ConfigError("--samples applies to --strategy sc only")
        params["n"] = args.samples
    from agot.cli.search_options import check_search_flags, search_params_from_args

    search = search_params_from_args(args)
    check_search_flags(search, [name])
    for values in search.values():
        params.update(values)
    return params


def run(args: argparse.Namespace) -> int:
    from agot.cli.command import finish
    from agot.cli.options import budget_from_args, dispatcher_from_args
    from agot.cli.progress import run_with_status
    from agot.output_paths import check_output_file
    from agot.strategies import get_strategy
    from agot.types import require_text

    # Everything that can be checked is checked before the first (paid) call.
    require_text(args.question)
    if args.trace:
        check_output_file(args.trace, "--trace")
    strategy = get_strategy(args.strategy, **strategy_params(args))
    budget = budget_from_args(args)
    dispatcher = dispatcher_from_args(args)

    # On a terminal the answer is written as it is generated (unless --no-stream).
    echo = None
    if not args.json and getattr(args, "stream", True) and sys.stdout.isatty():
        from agot.answer_echo import AnswerEcho

        echo = AnswerEcho(sys.stdout)

    async def work() -> Any:
        if echo is None:
            return await strategy.solve(args.question, dispatcher=dispatcher, budget=budget)
        from agot.streaming import delta_sink

        token = delta_sink.set(echo)
        try:
            return await strategy.solve(args.question, dispatcher=dispatcher, budget=budget)
        finally:
            delta_sink.reset(token)

    result = run_with_status(
        strategy.name,
        dispatcher,
        work,
        enabled=not args.quiet,
        on_progress=(lambda progress: setattr(echo, "progress", progress)) if echo else None,
    )
    # The answer goes out first: if writing the trace fails anyway, it is not lost.
    if args.json:
        print(json.dumps(summary_json(result), ensure_ascii=False), flush=True)
    elif echo is not None:
        rest = echo.finish(result.answer)
        if rest is not None:
            print(rest, flush=True)
    elif result.answer is not None:
        print(result.answer, flush=True)
    if args.trace:
        result.save_trace(args.trace)
    return finish(result, partial="answer")


def summary_json(result: Any) -> dict[str, Any]:
    out = {
        "answer": result.answer,
        "strategy": result.strategy,
        "model": result.model,
        "usage": result.usage.model_dump(),
        "wall_s": round(result.wall_s, 3),
        "stopped": result.stopped,
        "error": result.error,
    }
    if len(result.usage_by_model) > 1 or "routing" in result.details:
        out["usage_by_model"] = {m: v.model_dump() for m, v in result.usage_by_model.items()}
        out["usage_by_role"] = {r: v.model_dump() for r, v in result.usage_by_role.items()}
    if "routing" in result.details:
        routing = result.details["routing"]
        out["routing"] = {k: v for k, v in routing.items() if k != "escalations"}
    if "vote_shares" in result.details:
        out["vote_shares"] = result.details["vote_shares"]
    if result.graph is not None:
        out["graph"] = result.details.get("figures", {})
    return out
