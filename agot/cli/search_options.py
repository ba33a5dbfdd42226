"""The flags of the search strategies (``tot``, ``aot``, ``bon``), shared by solve and eval.

Each flag is named after its strategy (``--tot-breadth``), so one command line can set several
strategies' shapes for ``agot eval --strategy tot,aot,bon``; a flag for a strategy that is not
run is an error, not silently ignored.
"""

from __future__ import annotations

import argparse
from typing import Any

#: flag dest -> (strategy, parameter)
_FLAGS: dict[str, tuple[str, str]] = {
    "tot_mode": ("tot", "mode"),
    "tot_breadth": ("tot", "breadth"),
    "tot_value_samples": ("tot", "value_samples"),
    "tot_steps": ("tot", "steps"),
    "tot_samples": ("tot", "samples"),
    "tot_max_states": ("tot", "max_states"),
    "tot_prune": ("tot", "prune"),
    "aot_iterations": ("aot", "max_iterations"),
    "aot_subquestions": ("aot", "max_subquestions"),
    "aot_ensemble": ("aot", "ensemble"),
    "bon_n": ("bon", "n"),
}


def add_search_options(group: Any) -> None:
    """The ToT, AoT and best-of-N flags (read back by :func:`search_params_from_args`)."""
    from agot.strategies.atom_of_thoughts import DEFAULT_ITERATIONS, DEFAULT_SUBQUESTIONS
    from agot.strategies.best_of_n import DEFAULT_SAMPLES
    from agot.strategies.tot_dfs import MAX_DEPTH, MAX_STATES, PER_STATE, PROPOSE_SAMPLES
    from agot.strategies.tree_of_thoughts import (
        GAME24_DEFAULTS,
        MODES,
        SAMPLE_DEFAULTS,
        SAMPLES_DEFAULT,
    )

    (steps24, breadth24, values24), (steps, breadth, votes) = GAME24_DEFAULTS, SAMPLE_DEFAULTS
    group.add_argument(
        "--tot-mode",
        choices=MODES,
        default=None,
        help="tot: game24 (propose + value BFS), crosswords (DFS with pruning), sample "
        "(sample + vote), or auto (default: game24 for four numbers and 24, crosswords for "
        "clues h1-h5 and v1-v5, else sample)",
    )
    group.add_argument(
        "--tot-breadth",
        type=int,
        default=None,
        metavar="B",
        help=f"tot: states kept per step (default {breadth24} for Game of 24, {breadth} for "
        f"sample/vote); crosswords: candidates tried per state (default {PER_STATE})",
    )
    group.add_argument(
        "--tot-value-samples",
        type=int,
        default=None,
        metavar="K",
        help=f"tot: value samples per state (default {values24}) or votes per step "
        f"(default {votes})",
    )
    group.add_argument(
        "--tot-steps",
        type=int,
        default=None,
        metavar="S",
        help=f"tot: search steps (default {steps24} for Game of 24, {steps} for sample/vote, "
        f"{MAX_DEPTH} for crosswords)",
    )
    group.add_argument(
        "--tot-samples",
        type=int,
        default=None,
        metavar="K",
        help=f"tot: continuations per state (sample/vote, default {SAMPLES_DEFAULT}) or "
        f"proposals per board (crosswords, default {PROPOSE_SAMPLES})",
    )
    group.add_argument(
        "--tot-max-states",
        type=int,
        default=None,
        metavar="N",
        help=f"tot, crosswords: states explored at most (default {MAX_STATES})",
    )
    group.add_argument(
        "--tot-no-prune",
        dest="tot_prune",
        action="store_false",
        default=None,
        help="tot, crosswords: expand states that hold an impossible word (default: prune)",
    )
    group.add_argument(
        "--aot-iterations",
        type=int,
        default=None,
        metavar="N",
        help=f"aot: decompose/contract iterations at most (default {DEFAULT_ITERATIONS})",
    )
    group.add_argument(
        "--aot-subquestions",
        type=int,
        default=None,
        metavar="N",
        help=f"aot: subquestions per decomposition at most (default {DEFAULT_SUBQUESTIONS})",
    )
    group.add_argument(
        "--aot-no-ensemble",
        dest="aot_ensemble",
        action="store_false",
        default=None,
        help="aot: no direct answer beside the chain, no ensemble call (default: both)",
    )
    group.add_argument(
        "--bon-n",
        type=int,
        default=None,
        metavar="N",
        help=f"bon: samples, each verified (default {DEFAULT_SAMPLES})",
    )


def search_params_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Per strategy (``tot``, ``aot``, ``bon``), the parameters its flags set."""
    out: dict[str, dict[str, Any]] = {}
    for dest, (strategy, parameter) in _FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            out.setdefault(strategy, {})[parameter] = value
    return out


def check_search_flags(params: dict[str, dict[str, Any]], strategies: list[str]) -> None:
    """ConfigError when a flag sets a search strategy that is not among ``strategies``."""
    from agot.errors import ConfigError
    from agot.strategies import ALIASES

    chosen = {ALIASES.get(s.strip().lower(), s.strip().lower()) for s in strategies}
    for strategy in params:
        if strategy not in chosen:
            flags = sorted(
                "--"
                + dest.replace("_", "-")
                .replace("aot-ensemble", "aot-no-ensemble")
                .replace("tot-prune", "tot-no-prune")
                for dest, (owner, _) in _FLAGS.items()
                if owner == strategy
            )
            raise ConfigError(
                f"{'/'.join(flags)}: options of --strategy {strategy}, which this command does "
                "not run"
            )
