"""``agot classify "TEXT"``: a probability distribution over labels from a Kairanban chain.

Agents read the text one after another, each seeing the previous agent's document (analysis,
reasoning, distribution); with ``--idobata-at K`` the chain pauses after agent K for a casual
round of comments that the later agents also see. ``--model`` may be repeated: once for all
agents, or once per agent (mixing local and remote models).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agot.cli.options import add_call_options, add_kairanban_shape_options, add_limit_options

HELP = "classify a text with Kairanban agents (probabilities per label)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="the text to classify (quote it)")
    parser.add_argument(
        "--labels",
        default="negative,neutral,positive",
        help="comma-separated labels (default: negative,neutral,positive)",
    )
    add_kairanban_shape_options(parser, tag="chain", idobata_default="none")
    parser.add_argument(
        "--aggregate",
        default="last",
        choices=("last", "mean", "vote"),
        help="prediction: last agent's distribution (default), mean of all, or majority vote",
    )
    parser.add_argument(
        "--independent",
        action="store_true",
        help="baseline: agents do not share anything (use with --aggregate mean or vote)",
    )
    parser.add_argument(
        "--persona",
        action="append",
        default=None,
        metavar="TEXT",
        help="persona prompt; repeat once per agent, or give once for all",
    )
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="M",
        help="model string (local, llamacpp/<gguf>, openai/gpt-4o-mini, hosted_vllm/<name>, ...); "
        "repeat once per agent, or give once for all (default: local)",
    )
    group.add_argument("--api-base", default=None, help="endpoint of an OpenAI-compatible server")
    add_call_options(group, kept_in="the trace", per="agent document")
    group.add_argument("--seed", type=int, default=None, help="agent i samples with seed+i")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trace", default=None, metavar="FILE", help="write the full result here")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    add_limit_options(parser)


def build_strategy(args: argparse.Namespace) -> Any:
    from agot.cli.options import kairanban_shape_from_args, sampling_kwargs
    from agot.kairanban import Kairanban
    from agot.kairanban.options import DEFAULT_AGENTS

    models = args.model or ["local"]
    shape = kairanban_shape_from_args(args)
    return Kairanban(
        args.labels,
        agents=DEFAULT_AGENTS if shape["agents"] is None else shape["agents"],
        idobata_at=shape["idobata_at"] or None,  # 0: no idobata round, as in agot eval
        models=models if len(models) > 1 else None,
        personas=args.persona,
        aggregate=args.aggregate,
        independent=args.independent,
        seed=args.seed,
        **sampling_kwargs(args),
    )


def run(args: argparse.Namespace) -> int:
    from agot.cli.command import finish
    from agot.cli.models import parse_model_args
    from agot.cli.options import budget_from_args, limits_from_args
    from agot.cli.progress import run_with_status
    from agot.dispatcher import Dispatcher
    from agot.types import require_text

    require_text(args.text, "text to classify")
    if args.trace:
        from agot.output_paths import check_output_file

        check_output_file(args.trace, "--trace")
    strategy = build_strategy(args)
    models = args.model or ["local"]
    dispatcher = Dispatcher(
        models[0],
        limits=limits_from_args(args),
        cache=args.cache,
        cache_sampled=args.cache_sampled,
        api_base=args.api_base,
        store_text=args.store_text,
        **parse_model_args(args.model_args),
    )
    budget = budget_from_args(args)

    result = run_with_status(
        "kairanban",
        dispatcher,
        lambda: strategy.predict(args.text, dispatcher=dispatcher, budget=budget),
        enabled=not args.quiet and not args.json,
    )
    # The prediction goes out first: if writing the trace fails anyway, it is not lost.
    if args.json:
        print(json.dumps(result.summary(), ensure_ascii=False), flush=True)
    else:
        print(render_text(result), flush=True)
    if args.trace:
        from agot.output_paths import write_text

        write_text(args.trace, result.model_dump_json(indent=1), "--trace")
    for warning in result.warnings:
        print(f"agot: warning: {warning}", file=sys.stderr)
    return finish(result, partial="result")


def render_text(result: Any) -> str:
    """A human-readable report: label, distribution, trajectory, dialogue, usage."""
    lines = []
    if result.distribution is not None:
        dist = "  ".join(f"{k}={v:.3f}" for k, v in result.distribution.items())
        lines.append(f"{result.label}    ({result.aggregate}: {dist})")
    else:
        lines.append("(no prediction)")
    lines.append("")
    lines.append("stage  agent  entropy  variance  distribution")
    for s in result.trajectory:
        dist = " ".join(f"{v:.2f}" for v in s.distribution.values()) if s.distribution else "-"
        ent = f"{s.entropy:7.3f}" if s.entropy is not None else "      -"
        var = f"{s.variance:8.4f}" if s.variance is not None else "       -"
        mark = " *" if s.after_idobata else ""
        err = f"  [{s.error}]" if s.error else ""
        lines.append(f"{s.stage:5d}  {s.agent:5d}  {ent}  {var}  {dist}{mark}{err}")
    if result.idobata_at is not None:
        lines.append(f"(* = saw the idobata conversation held after agent {result.idobata_at})")
    if result.dialogue:
        lines.append("")
        lines.append("idobata:")
        for c in result.dialogue:
            lines.append(f"  agent {c.agent}: {c.text if not c.error else '[' + c.error + ']'}")
    u = result.usage
    lines.append("")
    lines.append(
        f"{u.calls} calls, {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens, "
        f"{result.wall_s:.1f} s"
    )
    return "\n".join(lines)
