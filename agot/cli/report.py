"""``agot report DIR [DIR ...]``: one paper-style table over ``agot eval`` result folders.

Rows are strategies (x model), columns data sets; each cell is the headline metric with its
bootstrap 95% interval and the mean tokens per item. Markdown goes to stdout (``--format csv``
for CSV); ``--out`` writes both files.
"""

from __future__ import annotations

import argparse

HELP = "tabulate agot eval result folders (Markdown and CSV)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="folders written by agot eval --out")
    parser.add_argument(
        "--out",
        default=None,
        metavar="PATH",
        help="write PATH.md and PATH.csv (PATH ending in .md or .csv), or report.md and "
        "report.csv inside folder PATH; without it the table goes to stdout",
    )
    parser.add_argument(
        "--format",
        default="markdown",
        choices=("markdown", "csv"),
        help="what to print to stdout when --out is not given (default markdown)",
    )
    parser.add_argument(
        "--metric",
        default=None,
        help="metric for every column (default: judge, accuracy, success, word_acc, ... "
        "whichever a data set's rows carry first)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="fold folders that ran the same setup (data set, strategy, model) into one row; "
        "by default each such folder keeps its own row",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agot.errors import ConfigError
    from agot.evals.report import build_report, to_csv, to_markdown, write_report

    for folder in args.dirs:
        path = Path(folder)
        if path.is_file() and path.suffix != ".jsonl":
            raise ConfigError(
                f"{folder!r} is a file, not a results folder: pass folders written by "
                "'agot eval --out DIR' (or their results.jsonl)"
            )

    if args.seed < 0:
        raise ConfigError(f"--seed must be 0 or more (a bootstrap seed), got {args.seed}")
    report = build_report(args.dirs, metric=args.metric, seed=args.seed, merge=args.merge)
    _say_how_runs_were_counted(args.dirs, merge=args.merge)
    if args.out:
        for path in write_report(report, args.out):
            print(f"wrote {path}")
        return 0
    print(to_csv(report) if args.format == "csv" else to_markdown(report), end="")
    if args.format != "csv":
        from agot.plan.render import planned_vs_actual_markdown

        for folder in args.dirs:  # a run made with agot eval --plan: its plan against it
            print(planned_vs_actual_markdown(folder), end="")
    return 0


def _say_how_runs_were_counted(dirs: list[str], *, merge: bool) -> None:
    """On stderr, for a folder of runs: how many it holds and whether same-setup ones were
    folded, so ``agot report runs/`` never merges (or splits) without saying so."""
    import sys

    from agot.evals.run_folder import find_results

    for folder in dirs:
        found = find_results(folder)
        if len(found) > 1:
            how = (
                "folded into one row per setup (--merge)"
                if merge
                else "one row per folder where they ran the same setup (--merge folds them)"
            )
            print(f"agot report: {folder} holds {len(found)} run folders, {how}", file=sys.stderr)
