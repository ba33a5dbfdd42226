"""The command line the faithfulness replays share (``benchmarks/bench_*_replay.py``).

A replay runs a published method's own code (from a checkout outside this repository, named
by a flag) and agot on the same scripted replies; ``--record FILE`` saves the published side,
and ``--recorded FILE`` replays against such a file where the checkout is not at hand (the
tests do, so they need neither the checkout nor its dependencies).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def replay_parser(description: str, checkout: str, what: str) -> argparse.ArgumentParser:
    """A parser with ``--<checkout>`` (the published repository's checkout, ``what``),
    ``--recorded`` and ``--record``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(f"--{checkout}", type=Path, help=f"checkout of {what}")
    parser.add_argument("--recorded", type=Path, help="the published side saved by --record")
    parser.add_argument("--record", type=Path, help="save the published side here")
    return parser


def published_side(
    parser: argparse.ArgumentParser, args: argparse.Namespace, checkout: str
) -> tuple[Path | None, dict[str, Any]]:
    """(the checkout, or None) and the recorded runs (empty without ``--recorded``); a usage
    error when neither is given."""
    repo = getattr(args, checkout.replace("-", "_"))
    if repo is None and args.recorded is None:
        parser.error(f"give --{checkout} (run the published code) or --recorded FILE")
    return repo, json.loads(args.recorded.read_text()) if args.recorded else {}


def save_published(args: argparse.Namespace, saved: dict[str, Any]) -> None:
    """Write the published side to ``--record``'s file, when given."""
    if args.record:
        args.record.write_text(json.dumps(saved, indent=1) + "\n")
