"""``agot eval DATASET``: run strategies x models over a benchmark, resumably, with CIs.

Results go to ``OUT/results.jsonl`` (one line per item x strategy x model, written as each
finishes), traces to ``OUT/traces/``, and the summary to ``OUT/summary.json`` and stdout.
``agot eval list`` names the datasets. One run at a time may write OUT (a second one fails at
once, naming the first one's PID), and ``--resume`` refuses a folder run with other inputs.

Exit status: 0 when the run finished (items that errored are counted in the table and named
on stderr with ``--retry-errors`` to rerun them; an AGoT item whose thoughts failed keeps its
answer and counts as errored), 1 when every item errored (a wrong key, a dead endpoint: the
most common error is printed), 2 for bad input, 130 when interrupted.

``--judge MODEL`` adds LLM-judge accuracy (``judge``) to every row beside the dataset's own
metrics, and the summary then shows how often judge and EM disagree. ``--preset agot-paper``
runs the AGoT paper's setup (100 sampled items; AGoT at d=1, L=3, N=3, temperature 0.3);
any flag you give overrides the preset's value.

``--plan`` first runs a pilot of ``--pilot K`` items (default 20), prints the predicted calls,
tokens, cost and wall time of the whole run with 90% intervals (see ``agot plan eval --help``),
then runs the rest, reusing the pilot's rows; ``--max-run-cost USD`` refuses to start the rest
when the predicted 90th-percentile cost exceeds USD, unless ``--yes``.

Classification sets (sst5, tweet_eval, financial_phrasebank) also take the Kairanban variants:
``--strategy single,independent,kcs,kcs+ibc --agents 5 --idobata-at 3`` compares one agent,
independent agents (rows independent-vote and independent-mean, from one run), the kairanban
chain and the chain with the idobata round on the same items; ``kairanban`` is kcs+ibc (kcs
with ``--idobata-at 0``). Rows carry each item's distribution, Brier and log loss; the summary
adds macro-F1, ECE and the mean entropy and variance per stage.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
from pathlib import Path
from typing import Any

from agot.cli.options import (
    CONCURRENCY_HELP,
    add_agot_shape_options,
    add_cache_options,
    add_call_limit_options,
    add_kairanban_shape_options,
    add_model_options,
    add_routing_options,
    samples_help,
)
from agot.cli.search_options import add_search_options

HELP = "evaluate strategies and models on a dataset"


def add_arguments(parser: argparse.ArgumentParser, *, planning: bool = False) -> None:
    """``agot eval``'s flags; ``planning``: for ``agot plan eval``, which adds its own plan
    flags in place of ``--plan``, ``--max-run-cost`` and ``--yes``."""
    from agot.evals.presets import COMPARE_CALLS

    parser.add_argument(
        "dataset",
        help="gpqa, hotpotqa, musique, 2wikimultihopqa, morehopqa, hybridqa, fanoutqa, "
        "game24, sst5, tweet_eval, financial_phrasebank, ... ('list' names them all)",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default=None,
        metavar="PATH",
        help="local file or folder with the dataset (default: Hugging Face hub)",
    )
    data.add_argument(
        "--subset",
        default=None,
        help="e.g. gpqa: main|diamond|extended; hotpotqa: distractor|fullwiki; musique: ans|full",
    )
    data.add_argument("--split", default=None, help="dataset split (default: the dev split)")
    data.add_argument("--limit", type=int, default=None, help="first N items only")
    data.add_argument(
        "--sample",
        action="store_true",
        default=None,
        help="with --limit: a seeded random sample of N items instead of the first N",
    )
    data.add_argument(
        "--sample-seed", type=int, default=None, help="seed of --sample (default: --seed)"
    )
    data.add_argument(
        "--preset",
        default=None,
        help="named settings: agot-paper (direct, cot and agot at d=1, L=3, N=3, temperature "
        "0.3, on 100 items sampled with a fixed seed, free-form QA judged by an LLM); compare "
        "(direct, cot, sc, tot, aot, bon and agot on 100 sampled items, each capped at the same "
        f"{COMPARE_CALLS} calls per item); flags you pass override it",
    )
    data.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for choice shuffling and bootstrap (default 0, recorded)",
    )
    data.add_argument(
        "--redact",
        action="store_true",
        help="keep every item's question, options and context out of results and traces "
        "(always on for GPQA)",
    )
    run_group = parser.add_argument_group("run")
    run_group.add_argument(
        "--strategy",
        default=None,
        help="comma-separated strategies: agot, cot, direct, sc, tot, aot, bon (default cot, or "
        "the preset's); on classification sets also single, independent, kcs, kcs+ibc, kairanban",
    )
    run_group.add_argument(
        "--items-in-flight",
        type=int,
        default=None,
        help="items (x strategy x model) run at once (default: --concurrency, else 8)",
    )
    run_group.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="results folder (default runs/eval-DATASET-TIMESTAMP)",
    )
    run_group.add_argument(
        "--resume", action="store_true", help="continue OUT: skip items already in results.jsonl"
    )
    run_group.add_argument(
        "--retry-errors",
        action="store_true",
        help="with --resume: run again the items that ended in an error",
    )
    run_group.add_argument(
        "--judge",
        "--judge-model",
        dest="judge",
        default=None,
        metavar="MODEL",
        help="add LLM-judge accuracy, judged by MODEL (any model string, e.g. local or "
        "openai/gpt-4o-mini); through the same limits and --cache as the run",
    )
    run_group.add_argument(
        "--scorer",
        default=None,
        help="extra scorers, comma-separated ('judge' alone: the model under test judges)",
    )
    run_group.add_argument(
        "--resamples",
        type=int,
        default=2000,
        help="bootstrap resamples for the intervals (default 2000; corpus metrics such as "
        "macro-F1 use at most 1000)",
    )
    run_group.add_argument("--no-traces", action="store_true", help="do not write per-item traces")
    run_group.add_argument("--quiet", action="store_true", help="no progress line")
    run_group.add_argument("--json", action="store_true", help="print the summary as JSON")
    strat = parser.add_argument_group("strategy options")
    strat.add_argument("--samples", type=int, default=None, metavar="N", help=samples_help())
    add_agot_shape_options(strat, tag="agot")
    add_search_options(strat)
    add_kairanban_shape_options(strat, tag="kairanban variants", idobata_default="N // 2 + 1")
    add_model_options(parser)
    add_routing_options(parser)
    limits = parser.add_argument_group("limits (per model) and budget (per item)")
    limits.add_argument(
        "--concurrency",
        "--calls-in-flight",
        dest="concurrency",
        type=int,
        default=None,
        metavar="C",
        help=CONCURRENCY_HELP,
    )
    add_call_limit_options(limits)
    add_cache_options(limits)
    limits.add_argument("--max-calls", type=int, default=None, help="budget per item: calls")
    limits.add_argument("--budget-tokens", type=int, default=None, help="budget per item: tokens")
    limits.add_argument("--max-cost", type=float, default=None, help="budget per item: USD")
    limits.add_argument("--max-wall", type=float, default=None, help="budget per item: seconds")
    limits.add_argument(
        "--budget-per-item",
        default=None,
        metavar="SPEC",
        help="one budget for every strategy's item, for a matched comparison: N or calls=N, "
        "tokens=N, cost=USD or wall=SECONDS (the same as --max-calls, --budget-tokens, "
        "--max-cost, --max-wall)",
    )
    cluster = parser.add_argument_group("cluster (needs the ray extra: pip install 'agot[ray]')")
    cluster.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run the items on Ray workers: a cluster ADDRESS (host:port, ray://..., auto) or "
        "none for a local Ray instance; results are still written here, --rpm/--tpm hold for "
        "the whole cluster",
    )
    cluster.add_argument(
        "--ray-workers", type=int, default=None, help="eval workers (default: one per CPU)"
    )
    cluster.add_argument(
        "--model-actors",
        type=int,
        default=None,
        metavar="N",
        help="with --ray: host each local model (local, llamacpp/, transformers/) as N actors",
    )
    cluster.add_argument(
        "--gpus-per-actor",
        type=float,
        default=None,
        metavar="F",
        help="with --model-actors: GPUs each reserves (1: one per GPU, 0.5: two share one)",
    )
    if not planning:
        from agot.cli.plan import add_plan_options

        add_plan_options(parser, in_eval=True)


def build_executor(args: argparse.Namespace) -> Any:
    """The RayExecutor the --ray flags describe, or None (run in this process)."""
    from agot.errors import ConfigError

    if args.ray is None:
        if args.ray_workers is not None or args.model_actors is not None:
            raise ConfigError("--ray-workers/--model-actors need --ray [ADDRESS]")
        return None
    if args.gpus_per_actor is not None and args.model_actors is None:
        raise ConfigError("--gpus-per-actor needs --model-actors N")
    from agot.evals.executors import ModelActors, RayExecutor

    actors = None
    if args.model_actors is not None:
        actors = ModelActors(replicas=args.model_actors, num_gpus=args.gpus_per_actor or 0.0)
    return RayExecutor(args.ray or None, workers=args.ray_workers, model_actors=actors)


def items_in_flight(args: argparse.Namespace) -> int:
    """Items run at once: ``--items-in-flight``, else as many as model calls may be in flight
    (``--concurrency``: each item has at least one call going), else 8."""
    return args.items_in_flight or args.concurrency or 8


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _if_set(settings: Any) -> Any:
    """``settings`` when a flag set any of its fields, else None: the run's own defaults apply."""
    return settings if settings.model_fields_set else None


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`~agot.evals.runner.EvalConfig` the flags describe."""
    from agot.cli.models import parse_model_args, parse_model_list
    from agot.cli.options import (
        agot_shape_from_args,
        budget_from_args,
        kairanban_shape_from_args,
        limits_from_args,
        router_from_args,
        sampling_kwargs,
    )
    from agot.cli.search_options import check_search_flags, search_params_from_args
    from agot.errors import ConfigError
    from agot.evals.runner import EvalConfig
    from agot.evals.scorers import JudgeScorer

    strategies = _split(args.strategy) if args.strategy is not None else None
    names = {s.lower() for s in strategies or ()}
    per_strategy: dict[str, dict[str, Any]] = {}
    agot_flags = agot_shape_from_args(args)
    if any(v is not None for v in agot_flags.values()):
        if "agot" not in names and not args.preset:
            raise ConfigError(
                "--max-depth/--max-layers/--max-nodes need --strategy agot (as does "
                "--no-early-stop)"
            )
        per_strategy["agot"] = {k: v for k, v in agot_flags.items() if v is not None}
    kairanban_flags = kairanban_shape_from_args(args)
    if any(v is not None for v in kairanban_flags.values()):
        from agot.evals.classification import canonical_strategy

        if not any(canonical_strategy(name) for name in names):
            raise ConfigError(
                "--agents/--idobata-at need a Kairanban strategy: --strategy single, "
                "independent, kcs, kcs+ibc or kairanban"
            )
        per_strategy["kairanban"] = {k: v for k, v in kairanban_flags.items() if v is not None}
    if args.samples is not None:
        if not names & {"sc", "self-consistency", "self_consistency"}:
            raise ConfigError("--samples needs --strategy sc")
        per_strategy["sc"] = {"n": args.samples}
    search = search_params_from_args(args)
    if strategies is not None or not args.preset:
        check_search_flags(search, strategies or ["cot"])
    per_strategy.update(search)
    if args.retry_errors and not args.resume:
        raise ConfigError("--retry-errors works with --resume (it re-runs failed items of OUT)")
    specs = parse_model_list(args.model)
    backend_args = parse_model_args(args.model_args)
    model_options: dict[str, dict[str, Any]] = {}
    for spec in specs:
        options: dict[str, Any] = dict(backend_args)
        if spec.name != spec.model:
            options["model"] = spec.model
        if spec.api_base is not None:
            options["api_base"] = spec.api_base
        if options:
            model_options[spec.name] = options
    scorers: list[Any] = [name for name in _split(args.scorer) if name.lower() != "judge"]
    if args.judge or any(name.lower() == "judge" for name in _split(args.scorer)):
        scorers.append(JudgeScorer(model=args.judge))
    from agot.url_secrets import redact_text

    return EvalConfig(
        command=[redact_text(str(a)) for a in getattr(args, "command_line", ["agot"])],
        dataset=args.dataset,
        data=args.data,
        subset=args.subset,
        split=args.split,
        strategies=strategies,
        models=[spec.name for spec in specs],
        model_options=model_options,
        limit=args.limit,
        sample=args.sample,
        sample_seed=args.sample_seed,
        preset=args.preset,
        seed=args.seed,
        concurrency=items_in_flight(args),
        store_text=args.store_text,
        out=args.out,
        resume=args.resume,
        retry_errors=args.retry_errors,
        scorers=scorers,
        strategy_params=sampling_kwargs(args),
        per_strategy_params=per_strategy,
        limits=_if_set(limits_from_args(args)),
        api_base=args.api_base,
        router=router_from_args(args),
        replica_policy=args.replica_policy,
        cache=args.cache,
        cache_sampled=args.cache_sampled,
        item_budget=_if_set(budget_from_args(args)),
        save_traces=not args.no_traces,
        resamples=args.resamples,
        progress=not args.quiet,
        redact=args.redact,
    )


def run(args: argparse.Namespace) -> int:
    if args.dataset.strip().lower() == "list":
        return _list_datasets(as_json=args.json)
    from pydantic import ValidationError

    from agot.config import describe_validation_error
    from agot.errors import ConfigError
    from agot.evals.runner import default_out_dir, run_eval
    from agot.sync import run_sync

    check_eval_args(args)
    if args.resume and not args.out:
        raise ConfigError("--resume needs --out DIR (the folder of the run to continue)")
    if not args.out:
        args.out = default_out_dir(args.dataset)
    from agot.output_paths import check_output_dir

    # Proven creatable, then left to the run, which creates it once its data and models are
    # ready: a config error or a missing dataset leaves no empty run folder behind.
    out = Path(args.out).expanduser()
    existed = out.exists()
    check_output_dir(out, "--out", create=True)
    if not existed:
        out.rmdir()
    try:
        config = build_config(args)
        executor = build_executor(args)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("eval", exc)) from None
    # Move the import-time heap (pydantic, litellm, ... : hundreds of thousands of objects)
    # out of the collector's sight: a full collection over it stalls the event loop ~0.1 s,
    # which delays every item in flight.
    if args.plan:
        from agot.cli.plan import plan_before_run

        config = plan_before_run(args, config)
    elif args.pilot is not None or args.what_if or args.max_run_cost is not None:
        raise ConfigError("--pilot, --what-if and --max-run-cost need --plan")
    elif args.price_per_hour is not None or args.yes:
        raise ConfigError("--price-per-hour and --yes need --plan")
    gc.collect()
    gc.freeze()
    try:
        summary = run_sync(run_eval(config, executor=executor))
    except KeyboardInterrupt:
        print(
            f"agot: finished items are saved; continue with --resume --out {args.out}",
            file=sys.stderr,
        )
        raise
    if args.plan:
        from agot.cli.plan import record_actual

        record_actual(args.out, summary)
    if args.json:
        print(summary.model_dump_json(indent=1))
    else:
        # On a terminal the table fits its width (no row wraps); piped, it is printed whole.
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        print(summary.table(width=width))
        print(f"results: {args.out}/results.jsonl · summary: {args.out}/summary.json")
    return _exit_status(args.out)


def check_eval_args(args: argparse.Namespace) -> None:
    """The checks of the flags that need no loading (shared with ``agot plan eval``)."""
    from agot.config import check_count
    from agot.errors import ConfigError

    if args.sample and args.limit is None and not args.preset:
        raise ConfigError("--sample needs --limit N (the sample size)")
    for flag, value in (
        ("--limit", args.limit),
        ("--concurrency", args.concurrency),
        ("--items-in-flight", args.items_in_flight),
    ):
        if value is not None:
            check_count(value, flag)


def _exit_status(out: str) -> int:
    """1 with a one-line reason when every item of the folder errored; else 0, with the error
    rate on stderr when some did."""
    from collections import Counter

    from agot.evals.run_folder import RunFolder

    rows = RunFolder(out).rows()
    errors = [row.error for row in rows if row.error]
    if not errors:
        return 0
    if len(errors) == len(rows):
        common, times = Counter(errors).most_common(1)[0]
        if len(common) > 240:
            common = common[:239] + "…"
        print(
            f"agot: error: every item failed ({len(rows)} of {len(rows)}); most common "
            f"({times}x): {common}",
            file=sys.stderr,
        )
        return 1
    print(
        f"agot: warning: {len(errors)} of {len(rows)} items errored "
        f"({100 * len(errors) / len(rows):.1f}%); run them again with --resume --retry-errors "
        f"--out {out}",
        file=sys.stderr,
    )
    return 0


def _list_datasets(*, as_json: bool = False) -> int:
    from agot.evals.datasets import dataset_names, get_dataset

    if as_json:
        import json

        listing = []
        for name in dataset_names():
            spec = get_dataset(name)
            listing.append(
                {
                    "name": name,
                    "subsets": list(spec.subsets or []),
                    "description": spec.description,
                    "private": bool(getattr(spec, "private", False)),
                }
            )
        print(json.dumps(listing, indent=1, ensure_ascii=False))
        return 0
    for name in dataset_names():
        spec = get_dataset(name)
        subsets = f" [{'|'.join(spec.subsets)}]" if spec.subsets else ""
        print(f"{name}{subsets}: {spec.description}")
    return 0
