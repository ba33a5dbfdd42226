"""``agot show TRACE.json``: render the graph of a saved run (``agot solve --trace``)."""

from __future__ import annotations

import argparse
from typing import Any

FORMATS = ("text", "mermaid")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("show", help="render a saved trace", description=__doc__)
    parser.add_argument("trace", help="a trace file written by --trace")
    parser.add_argument("--format", default="text", choices=FORMATS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agot.critical_path import critical_path, parallelism, span
    from agot.render import graph_to_mermaid, graph_to_text
    from agot.result import Result

    result = Result.load_trace(args.trace)
    graph = result.thought_graph()
    if args.format == "mermaid":
        if graph is None:
            from agot.errors import ConfigError

            raise ConfigError(f"{args.trace} has no graph (strategy {result.strategy})")
        print(graph_to_mermaid(graph))
        return 0
    if graph is not None:
        print(graph_to_text(graph))
    print(f"answer: {result.answer}")
    cp, path = critical_path(result.events)
    u = result.usage
    print(
        f"{result.strategy} on {result.model}: {u.calls} calls, {u.prompt_tokens}+"
        f"{u.completion_tokens} tokens, wall {span(result.events):.2f}s, critical path "
        f"{cp:.2f}s ({len(path)} calls), parallelism {parallelism(result.events):.2f}"
    )
    if result.stopped:
        print(f"stopped: {result.stopped}")
    return 0
