"""``agot show TRACE.json``: render the graph of a saved run (``agot solve --trace``).

``text`` (default) prints an outline with the run's timing figures; ``mermaid``, ``dot`` and
``svg`` print the picture's source (``svg`` uses Graphviz's ``dot`` when installed, a built-in
layout otherwise). ``--out FILE`` writes to a file instead of stdout.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

FORMATS = ("text", "mermaid", "dot", "svg")


HELP = "render a saved trace"
REFLOW_DESCRIPTION = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", help="a trace file written by --trace")
    parser.add_argument(
        "--format",
        default="text",
        choices=FORMATS,
        help="text (default: each thought with its answer, then calls, tokens and the critical "
        "path), mermaid or dot (graph source to paste or render), svg (a picture)",
    )
    parser.add_argument(
        "--direction",
        default="LR",
        choices=("LR", "TB"),
        help="layers left to right (LR, default) or top to bottom (TB); dot and svg only",
    )
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")


def _text(result: Any, graph: Any) -> str:
    from agot.critical_path import critical_path, parallelism, span
    from agot.render import graph_to_text

    lines = []
    if graph is not None:
        lines.append(graph_to_text(graph))
    lines.append(f"answer: {result.answer}")
    cp, path = critical_path(result.events)
    u = result.usage
    lines.append(
        f"{result.strategy} on {result.model}: {u.calls} calls"
        + (f" (+{u.cancelled} cancelled in flight)" if u.cancelled else "")
        + f", {u.prompt_tokens}+"
        f"{u.completion_tokens} tokens, wall {span(result.events):.2f}s, critical path "
        f"{cp:.2f}s ({len(path)} calls), parallelism {parallelism(result.events):.2f}"
    )
    by_model = result.usage_by_model
    if len(by_model) > 1 or "routing" in result.details:
        roles: dict[str, set[str]] = {}
        for event in result.events:
            roles.setdefault(event.model, set()).add(event.role)
        for model, used in by_model.items():
            lines.append(
                f"  {model}: {', '.join(sorted(roles.get(model, ())))}; {used.calls} calls, "
                f"{used.prompt_tokens}+{used.completion_tokens} tokens, ${used.cost:.4f}"
            )
    routing = result.details.get("routing") or {}
    if routing.get("cascaded_steps"):
        lines.append(
            f"cascade: {routing['escalated_steps']} of {routing['cascaded_steps']} steps escalated "
            f"to {routing['escalate_to']} (signal {routing['signal']})"
        )
    if result.stopped:
        lines.append(f"stopped: {result.stopped}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from agot.result import Result

    if args.out:
        from agot.output_paths import check_output_file

        check_output_file(args.out, "--out")
    result = Result.load_trace(args.trace)
    graph = result.thought_graph()
    if args.format == "text":
        output = _text(result, graph)
    else:
        if graph is None:
            from agot.errors import ConfigError

            raise ConfigError(
                f"{args.trace} has no graph (strategy {result.strategy}); use --format text"
            )
        if args.format == "mermaid":
            from agot.render import graph_to_mermaid

            output = graph_to_mermaid(graph)
        elif args.format == "dot":
            from agot.render import graph_to_dot

            output = graph_to_dot(graph, direction=args.direction)
        else:
            from agot.render import graph_to_svg

            output = graph_to_svg(graph, direction=args.direction)
    if args.out:
        from agot.output_paths import write_text

        write_text(args.out, output.rstrip("\n") + "\n", "--out")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(output.rstrip("\n"))
    return 0
