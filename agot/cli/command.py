"""What the subcommands share: how a module is registered on ``agot``'s parser, and how the
end of a single run (``solve``, ``classify``) becomes the exit status.

A subcommand module declares only what is its own: its docstring (the description of
``agot NAME --help``), ``HELP`` (its line in ``agot --help``), ``add_arguments(parser)`` and
``run(args) -> int``; ``REFLOW_DESCRIPTION = True`` lets argparse rewrap a docstring written as
plain prose (otherwise its line breaks, paragraphs and examples are kept as written). Nothing
beyond argparse is imported here: ``agot --help`` builds every subcommand's parser.
"""

from __future__ import annotations

import argparse
import re
import sys
from types import ModuleType
from typing import Any


def add_command(sub: Any, name: str, command: ModuleType, *, arguments: bool = True) -> None:
    """Register subcommand ``name``, declared by module ``command``, on ``sub`` (what
    ``add_subparsers`` returned); the parsed arguments carry ``handler``, its ``run``.
    ``arguments=False`` registers only its name and help line (another command is running)."""
    reflow = getattr(command, "REFLOW_DESCRIPTION", False)
    parser = sub.add_parser(
        name,
        help=command.HELP,
        description=plain_text(command.__doc__),
        formatter_class=argparse.HelpFormatter if reflow else argparse.RawDescriptionHelpFormatter,
    )
    if arguments:
        command.add_arguments(parser)
    parser.set_defaults(handler=command.run)


#: reST markup a docstring may carry: ``literal`` and :role:`~dotted.target`.
_LITERAL = re.compile(r"``(.+?)``", re.S)
_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]*\.)?([^`]+?)`")


def plain_text(doc: str | None) -> str | None:
    """A module docstring as a terminal shows it: reST literals and roles become their text
    (``agot solve`` reads agot solve; :class:`~agot.Result` reads Result)."""
    if doc is None:
        return None
    return _ROLE.sub(r"\1", _LITERAL.sub(r"\1", doc))


def finish(result: Any, *, partial: str) -> int:
    """Say on stderr how a run fell short, and return its exit status.

    A run that stopped early (a budget ran out) has already printed what it had, its
    ``partial`` answer or result, so it exits 0 with a note; a run that failed exits 2.
    """
    if result.stopped:
        print(f"agot: stopped early: {result.stopped} (partial {partial})", file=sys.stderr)
    if result.error:
        print(f"agot: error: {result.error}", file=sys.stderr)
        return 2
    return 0
