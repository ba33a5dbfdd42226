"""What every subcommand shares: how its module is registered on ``agot``'s parser.

A subcommand module declares only what is its own: its docstring (the description of
``agot NAME --help``), ``HELP`` (its line in ``agot --help``), ``add_arguments(parser)`` and
``run(args) -> int``; ``REFLOW_DESCRIPTION = True`` lets argparse rewrap a docstring written as
plain prose (otherwise its line breaks, paragraphs and examples are kept as written). Only
argparse is imported here: ``agot --help`` builds every subcommand's parser.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any


def add_command(sub: Any, name: str, command: ModuleType) -> None:
    """Register subcommand ``name``, declared by module ``command``, on ``sub`` (what
    ``add_subparsers`` returned); the parsed arguments carry ``handler``, its ``run``."""
    reflow = getattr(command, "REFLOW_DESCRIPTION", False)
    parser = sub.add_parser(
        name,
        help=command.HELP,
        description=command.__doc__,
        formatter_class=argparse.HelpFormatter if reflow else argparse.RawDescriptionHelpFormatter,
    )
    command.add_arguments(parser)
    parser.set_defaults(handler=command.run)
