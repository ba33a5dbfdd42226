"""Argument groups shared by several subcommands (model selection, limits, budgets)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from agot.cli.models import add_model_arg_option

#: What --concurrency means and defaults to, in every command's help.
CONCURRENCY_HELP = (
    "max model calls in flight per model (default: the backend's own: 1 for the embedded "
    "llama.cpp model, 32 for remote models, the batch size for transformers)"
)

#: The replica policies of agot.fleet (kept here so building the parser imports nothing).
REPLICA_POLICIES = ("round-robin", "least-outstanding", "predictive")


class OldFlagName(argparse.Action):
    """A flag's old spelling (hidden from the help): still read, with a one-line warning naming
    the flag that replaces it (``--`` and the destination)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        new = "--" + self.dest.replace("_", "-")
        print(f"agot: warning: {option_string} is deprecated: use {new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        default="local",
        help="[NAME=]MODEL[@URL]: local (embedded, default), llamacpp/<gguf>, "
        "openai/gpt-4o-mini, hosted_vllm/<name>, transformers/<id>, scripted, ...; @URL is the "
        "model's own endpoint (keys come from the provider's usual environment variable, "
        "e.g. OPENAI_API_KEY)",
    )
    group.add_argument(
        "--api-base",
        default=None,
        help="endpoint of an OpenAI-compatible server; several comma-separated URLs (or a fleet "
        "file, .toml/.json) serve the model from several replicas",
    )
    group.add_argument(
        "--replica-policy",
        default=None,
        choices=REPLICA_POLICIES,
        help="which of several --api-base replicas serves each call (default: predictive)",
    )
    group.add_argument(
        "--routing",  # the old name, which read as model routing (--route)
        dest="replica_policy",
        choices=REPLICA_POLICIES,
        action=OldFlagName,
        help=argparse.SUPPRESS,
    )
    add_call_options(group)


def add_call_options(group: Any, *, kept_in: str = "traces", per: str = "model call") -> None:
    """How each model call is made and what is kept of it: ``-M``, ``--no-store-text``,
    ``--temperature`` and ``--max-tokens`` (read back by :func:`sampling_kwargs`). ``kept_in``
    names where calls are recorded and ``per`` what ``--max-tokens`` bounds, in the help."""
    add_model_arg_option(group)
    group.add_argument(
        "--no-store-text",
        dest="store_text",
        action="store_false",
        help=f"keep counts and timings of each call in {kept_in}, not its prompt and completion",
    )
    group.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the strategy's own, e.g. 0.3 for agot as in the "
        "paper, 0.7 for sc, 0 for cot and direct)",
    )
    group.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help=f"max tokens per {per} (default: the strategy's own per step)",
    )


def add_agot_shape_options(group: Any, *, tag: str) -> None:
    """AGoT's graph shape, the method's d, L and N: ``--max-depth``, ``--max-layers`` and
    ``--max-nodes``, and whether a graph may stop early (``--no-early-stop``), read back by
    :func:`agot_shape_from_args`. ``tag`` opens each help line, as it does the command's other
    strategy options."""
    from agot.controller.bounds import Bounds

    shape = Bounds()
    group.add_argument(
        "--max-depth",
        type=int,
        default=None,
        metavar="D",
        help=f"{tag}: nesting depth d (default {shape.max_depth})",
    )
    group.add_argument(
        "--max-layers",
        type=int,
        default=None,
        metavar="L",
        help=f"{tag}: layers per graph L (default {shape.max_layers})",
    )
    group.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        metavar="N",
        help=f"{tag}: new nodes per layer N (default {shape.max_nodes})",
    )
    group.add_argument(
        "--no-early-stop",
        dest="early_stop",
        action="store_const",
        const=False,
        default=None,
        help=f"{tag}: grow every layer of every graph (a next-layer proposal may not declare the "
        "graph ready), for like-for-like graph sizes",
    )


def agot_shape_from_args(args: argparse.Namespace) -> dict[str, int | bool | None]:
    """The AGoT parameters of the graph-shape flags, None where a flag was not given."""
    return {
        "max_depth": args.max_depth,
        "max_layers": args.max_layers,
        "max_nodes": args.max_nodes,
        "early_stop": args.early_stop,
    }


def add_kairanban_shape_options(group: Any, *, tag: str, idobata_default: str) -> None:
    """The Kairanban chain's shape: ``--agents`` and ``--idobata-at`` (read back by
    :func:`kairanban_shape_from_args`). Both default to None, so a command can tell a flag left
    out from one given; ``idobata_default`` says what the command does without ``--idobata-at``.
    """
    from agot.kairanban.options import DEFAULT_AGENTS

    group.add_argument(
        "--agents",
        type=int,
        default=None,
        metavar="N",
        help=f"{tag}: agents N (default {DEFAULT_AGENTS})",
    )
    group.add_argument(
        "--idobata-at",
        type=int,
        default=None,
        metavar="K",
        help=f"{tag}: idobata round after agent K (1..N; 0: none; default {idobata_default})",
    )


def kairanban_shape_from_args(args: argparse.Namespace) -> dict[str, int | None]:
    """The Kairanban parameters of the chain-shape flags, None where a flag was not given."""
    return {"agents": args.agents, "idobata_at": args.idobata_at}


def add_routing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model routing (local first)")
    group.add_argument(
        "--route",
        default=None,
        metavar="ROLE=MODEL,...",
        help="model per step, e.g. assess=local,solve=local,final=openai/gpt-4o (a model may "
        "carry its endpoint: ROLE=MODEL@URL); roles: decompose, assess, solve, final, judge, "
        "...; unnamed roles use --model",
    )
    group.add_argument(
        "--escalate-to",
        default=None,
        metavar="MODEL",
        help="cascade: the routed model answers first and a step goes to MODEL when its reply "
        "fails its schema or its confidence is below --escalate-below",
    )
    group.add_argument(
        "--escalate-below",
        type=float,
        default=None,
        metavar="P",
        help="confidence threshold in [0, 1] for --escalate-to (default 0.7)",
    )
    group.add_argument(
        "--escalate-signal",
        default=None,
        choices=("self", "agree", "logprob", "schema"),
        help="confidence signal: self (the model's own estimate, default), agree (agreement of "
        "--escalate-samples samples), logprob (token log-probabilities), schema (escalate on "
        "schema failure only)",
    )
    group.add_argument(
        "--escalate-samples", type=int, default=None, metavar="K", help="samples for agree (3)"
    )
    group.add_argument(
        "--keep-local",
        default=None,
        choices=("context",),
        help="context: never send the dataset's context passages to a remote model (remote "
        "steps get the question and the local steps' answers); local means in this process "
        "(the embedded model, a GGUF, transformers) or named with --local-model",
    )
    group.add_argument(
        "--local-model",
        dest="local_models",
        action="append",
        default=[],
        metavar="NAME",
        help="with --keep-local: count model NAME (MODEL or MODEL@URL, as given to --model or "
        "--route) as local, such as a llama-server or vLLM on this machine's loopback; "
        "repeatable",
    )


def router_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~agot.routing.Router` the routing flags describe (None: no routing)."""
    from agot.routing import Router

    return Router.from_options(
        getattr(args, "route", None),
        escalate_to=getattr(args, "escalate_to", None),
        escalate_below=getattr(args, "escalate_below", None),
        signal=getattr(args, "escalate_signal", None),
        samples=getattr(args, "escalate_samples", None),
        keep_local=getattr(args, "keep_local", None),
        local_models=getattr(args, "local_models", ()),
    )


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits and budget")
    group.add_argument("--concurrency", type=int, default=None, metavar="C", help=CONCURRENCY_HELP)
    add_call_limit_options(group)
    group.add_argument("--max-calls", type=int, default=None, help="budget: model calls")
    group.add_argument("--budget-tokens", type=int, default=None, help="budget: tokens")
    group.add_argument("--max-cost", type=float, default=None, help="budget: USD")
    group.add_argument("--max-wall", type=float, default=None, help="budget: seconds of wall time")
    add_cache_options(group)


#: What ``--cache`` does with sampled calls, said where it is configured (#31 item 5).
CACHE_HELP = (
    "on-disk response cache; it reuses calls at temperature 0 only, unless --cache-sampled "
    "(the status line counts hits, misses and sampled calls passed by)"
)
CACHE_SAMPLED_HELP = (
    "also cache calls sampled at temperature > 0 (AGoT samples at 0.3, sc at 0.7): a re-run "
    "then replays the same samples instead of drawing new ones"
)


def add_cache_options(group: Any) -> None:
    """``--cache DIR`` and ``--cache-sampled``, spelled the same by every command."""
    group.add_argument("--cache", default=None, metavar="DIR", help=CACHE_HELP)
    group.add_argument("--cache-sampled", action="store_true", help=CACHE_SAMPLED_HELP)


def add_call_limit_options(group: Any) -> None:
    """The limits on one model's calls that every command spells the same way: ``--rpm``,
    ``--tpm``, ``--timeout`` and ``--hedge`` (read back, with ``--concurrency``, by
    :func:`limits_from_args`)."""
    group.add_argument("--rpm", type=float, default=None, help="max requests per minute")
    group.add_argument("--tpm", type=float, default=None, help="max tokens per minute")
    group.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per model call (default 300); for remote models the ceiling of a timeout "
        "learned from observed latency",
    )
    group.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="whole replies only: no streamed requests, so no first-token or stall deadlines "
        "(for servers that cannot stream, and for comparison)",
    )
    group.add_argument(
        "--hedge",
        action="store_true",
        help="remote models: after the observed p95 latency, send one duplicate request and "
        "keep the first reply (both counted as attempts)",
    )


def limits_from_args(args: argparse.Namespace) -> Any:
    from agot.limits import Limits

    fields: dict[str, Any] = {
        "max_concurrency": args.concurrency,
        "requests_per_minute": args.rpm,
        "tokens_per_minute": args.tpm,
    }
    if args.timeout is not None:
        fields["timeout_s"] = args.timeout
    if getattr(args, "hedge", False):
        fields["hedge"] = True
    if getattr(args, "stream", True) is False:
        fields["stream"] = False
    return Limits(**{k: v for k, v in fields.items() if v is not None})


#: ``--budget-per-item KIND=VALUE``: each kind, the option it stands for and its Budget field.
BUDGET_KINDS = {
    "calls": ("max_calls", "--max-calls", int),
    "tokens": ("budget_tokens", "--budget-tokens", int),
    "cost": ("max_cost", "--max-cost", float),
    "wall": ("max_wall", "--max-wall", float),
}


def budget_per_item(args: argparse.Namespace) -> None:
    """Fold ``--budget-per-item SPEC`` into the option it names (``30`` means calls=30), or
    raise ConfigError for a spec that does not read or repeats an option given too."""
    from agot.errors import ConfigError

    spec = getattr(args, "budget_per_item", None)
    if spec is None:
        return
    kind, _, value = spec.partition("=") if "=" in spec else ("calls", "", spec)
    known = BUDGET_KINDS.get(kind.strip().lower())
    if known is None:
        raise ConfigError(
            f"--budget-per-item {spec!r}: name calls, tokens, cost or wall (e.g. tokens=20000)"
        )
    dest, option, kind_type = known
    try:
        number = kind_type(value.strip())
    except ValueError:
        raise ConfigError(
            f"--budget-per-item {spec!r}: {value.strip()!r} is not a number"
        ) from None
    if getattr(args, dest) is not None:
        raise ConfigError(f"--budget-per-item {spec!r} and {option} both set that budget: give one")
    setattr(args, dest, number)


def budget_from_args(args: argparse.Namespace) -> Any:
    from agot.budget import Budget

    budget_per_item(args)
    fields = {
        "max_calls": args.max_calls,
        "max_tokens": args.budget_tokens,
        "max_cost": args.max_cost,
        "max_wall_s": args.max_wall,
    }
    return Budget(**{k: v for k, v in fields.items() if v is not None})


def dispatcher_from_args(args: argparse.Namespace) -> Any:
    from agot.cli.models import parse_model_args, parse_model_spec
    from agot.dispatcher import Dispatcher

    spec = parse_model_spec(args.model)
    return Dispatcher(
        spec.model,
        limits=limits_from_args(args),
        cache=args.cache,
        cache_sampled=getattr(args, "cache_sampled", False),
        api_base=spec.api_base or args.api_base,
        router=router_from_args(args),
        replica_policy=getattr(args, "replica_policy", None),
        store_text=getattr(args, "store_text", True),
        **parse_model_args(getattr(args, "model_args", None)),
    )


def sampling_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.temperature is not None:
        out["temperature"] = args.temperature
    if args.max_tokens is not None:
        out["max_tokens"] = args.max_tokens
    return out


def samples_help() -> str:
    """``--samples``: self-consistency's n, with its default read from the strategy."""
    import inspect

    from agot.strategies.self_consistency import SelfConsistency

    n = inspect.signature(SelfConsistency.__init__).parameters["n"].default
    return f"sc: samples n, each a chain of thought, then a majority vote (default {n})"
