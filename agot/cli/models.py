"""Model flags shared by every subcommand: named models with their own endpoint, and ``-M``.

``--model`` takes ``[NAME=]MODEL[@URL]`` (comma-separated in ``agot eval``): ``NAME`` is how
results and tables call the model (so two endpoints serving the same model stay apart), and
``@URL`` is that model's own ``api_base``, as in ``--model a=openai/x@http://h1:8000/v1,
b=openai/x@http://h2:8000/v1``. ``-M key=value`` (repeatable) passes backend options to every
model, like lm-eval's ``--model_args`` and inspect's ``-M``: ``n_ctx``, ``n_threads`` and
``device`` set the named options, anything else goes to the backend's ``extra`` options.
Values are JSON when they parse (``4096``, ``true``), else text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agot.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
#: -M keys that are BackendOptions fields; the rest land in ``extra``.
_FIELDS = ("n_ctx", "n_threads", "device")


@dataclass(frozen=True)
class ModelSpec:
    """One ``--model`` entry: the name rows carry, the model string, its own endpoint."""

    name: str
    model: str
    api_base: str | None = None


def parse_model_spec(text: str, *, what: str = "--model") -> ModelSpec:
    """One ``[NAME=]MODEL[@URL]`` entry; its endpoint passes the one endpoint check, and the
    name rows carry is written with any secret in it masked (the model string keeps it)."""
    from agot.backends.registry import split_endpoint
    from agot.url_secrets import redact_model

    raw = text.strip()
    if not raw:
        raise ConfigError(f"{what} got an empty entry: give a model string such as local")
    name, eq, rest = raw.partition("=")
    if eq and _NAME.match(name) and "/" not in name:
        if not rest.strip():
            raise ConfigError(f"{what} {redact_model(raw)!r}: no model after {name}=")
        model, api_base = split_endpoint(rest.strip(), what=what)
        return ModelSpec(name=name, model=model, api_base=api_base)
    model, api_base = split_endpoint(raw, what=what)
    return ModelSpec(name=redact_model(raw), model=model, api_base=api_base)


def parse_model_list(text: str | None) -> list[ModelSpec]:
    if text is not None and text.strip() and not text.replace(",", "").strip():
        raise ConfigError(f"--model {text!r} names no model: give a model string such as local")
    specs = [parse_model_spec(part) for part in (text or "local").split(",") if part.strip()]
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--model names {', '.join(repeated)} more than once")
    return specs or [ModelSpec("local", "local")]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_model_args(items: list[str] | None) -> dict[str, Any]:
    """``-M key=value`` entries as Dispatcher keyword arguments (named fields and ``extra``)."""
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(f"-M takes key=value, got {item!r} (e.g. -M n_ctx=4096)")
        if key in ("api_key", "key"):
            raise ConfigError(
                "-M api_key is refused (command lines end up in shell history and process "
                "lists): set the provider's environment variable, e.g. OPENAI_API_KEY"
            )
        if key == "api_base":
            raise ConfigError("use --api-base URL or --model MODEL@URL for the endpoint, not -M")
        if key in _FIELDS:
            out[key] = _value(value)
        else:
            extra[key] = _value(value)
    if extra:
        out["extra"] = extra
    return out


def add_model_arg_option(group: Any) -> None:
    group.add_argument(
        "-M",
        "--model-arg",
        dest="model_args",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="backend option for the model(s), repeatable: n_ctx, n_threads, device, or any "
        "key the backend reads from its extra options (e.g. -M native_schema=false)",
    )


def check_endpoint_flags(args: Any) -> None:
    """Every flag that names a model or an endpoint, checked before the command does anything.

    ``--model``, ``--api-base``, ``--route``, ``--escalate-to`` and ``--judge`` each go through
    the one endpoint check (:mod:`agot.endpoints`) here, so a malformed endpoint is a one-line
    error naming its flag, whichever subcommand took it, before a model is loaded or a
    connection opened.
    """
    from agot.endpoints import check_api_base

    model = getattr(args, "model", None)
    if isinstance(model, list):  # classify: once per agent
        for entry in model:
            parse_model_spec(entry)
    elif isinstance(model, str):
        parse_model_list(model)
    if getattr(args, "api_base", None) is not None:
        check_api_base(args.api_base, what="--api-base")
    if getattr(args, "route", None):
        from agot.routing.spec import parse_routes

        parse_routes(args.route, what="--route")
    for flag in ("escalate_to", "judge"):
        value = getattr(args, flag, None)
        if value is not None:
            parse_model_spec(value, what="--" + flag.replace("_", "-"))
