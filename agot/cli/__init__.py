"""The ``agot`` command line.

Each subcommand lives in its own module declaring its help line, ``add_arguments(parser)`` and
``run(args) -> int`` (:mod:`agot.cli.command` registers it). Modules import only argparse at
load time and pull in heavy dependencies inside ``run``, so ``agot --help`` starts fast.
Every :class:`~agot.errors.AgotError` (and any OSError on a file agot was pointed at, or a
missing optional dependency, named with the extra that brings it) becomes a one-line message
and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from agot.cli.command import add_command

#: Subcommand modules, in help order.
COMMANDS = ("solve", "eval", "plan", "show", "classify", "report", "view")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``agot`` parser. ``only``: the subcommand being run, the one whose flags are added
    (the others keep their help line); building every subcommand's flags imports the search
    strategies, Kairanban and the presets for their defaults, which costs a run's start-up."""
    parser = argparse.ArgumentParser(
        prog="agot", description="Test-time reasoning orchestration (AGoT, Kairanban, evals)."
    )
    parser.add_argument("--version", action="version", version="agot 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"agot.cli.{name}")
        add_command(sub, name, module, arguments=only is None or only == name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    args.command_line = ["agot", *(sys.argv[1:] if argv is None else argv)]  # for run.json
    from agot.errors import AgotError

    try:
        from agot.cli.models import check_endpoint_flags

        check_endpoint_flags(args)
        return int(args.handler(args) or 0)
    except AgotError as exc:
        print(f"agot: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except ModuleNotFoundError as exc:  # an optional dependency: name the extra that brings it
        from agot.extras import install_hint, missing_module_message

        if exc.name is None or install_hint(exc.name) is None:
            raise
        print(f"agot: error: {missing_module_message(exc.name)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file agot was pointed at could not be read or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"agot: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
