"""Evaluation presets: named bundles of settings, kept as data so a summary can print them.

``--preset agot-paper`` reproduces the AGoT paper's setup (d = 1 nesting level, L = 3 layers,
N = 3 new nodes per layer, temperature 0.3, 100 questions sampled per data set). The sample is
drawn with a recorded seed, so the same 100 items come back on every run and machine.

A preset only fills in what the user did not say: :func:`merge_preset` takes the flags the
user gave *explicitly* (see :func:`explicit_dests`, which tells "given" from "argparse
default") and lets each of them override the preset's value.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agot.errors import ConfigError

T = TypeVar("T")


class Preset(BaseModel):
    """A named set of eval settings. ``settings`` keys are the ``agot eval`` argument dests."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    source: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)


#: Seed of the paper preset's 100-item sample (recorded in every summary that uses it).
PAPER_SAMPLE_SEED = 2502

PRESETS: dict[str, Preset] = {
    "agot-paper": Preset(
        name="agot-paper",
        description=(
            "AGoT paper settings: max depth 1, 3 layers, 3 new nodes per layer, temperature "
            "0.3, 100 questions sampled per data set with a fixed seed"
        ),
        source="Pandey et al. 2025, arXiv 2502.05078 (experiments: gpt-4o-mini, d=1, L=3, N=3)",
        settings={
            "max_depth": 1,
            "max_layers": 3,
            "max_nodes": 3,
            "temperature": 0.3,
            "limit": 100,
            "sample": True,
            "sample_seed": PAPER_SAMPLE_SEED,
        },
    ),
}


def preset_names() -> tuple[str, ...]:
    return tuple(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ConfigError naming the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown preset {name!r}: choose one of {known}") from None


def merge_preset(preset: Preset | str | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """The preset's settings overridden by every explicitly ``given`` value.

    ``given`` must hold only what the user actually passed (a flag left at its argparse
    default must not override the preset); ``None`` values count as not given.
    """
    merged: dict[str, Any] = {}
    if preset is not None:
        merged.update((get_preset(preset) if isinstance(preset, str) else preset).settings)
    merged.update({k: v for k, v in given.items() if v is not None})
    return merged


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_all_parsers(sub))
    return found


def explicit_dests(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The argument dests that ``argv`` sets explicitly (not left at their defaults).

    Re-parses ``argv`` with every default (of the parser and its subparsers) switched to
    ``argparse.SUPPRESS``, so only given arguments appear; the defaults are put back after.
    """
    saved: list[tuple[argparse.ArgumentParser, list[tuple[argparse.Action, Any]], dict]] = []
    try:
        for each in _all_parsers(parser):
            actions = [(a, a.default) for a in each._actions]
            saved.append((each, actions, dict(each._defaults)))
            for action, _ in actions:
                if not isinstance(action, argparse._SubParsersAction):
                    action.default = argparse.SUPPRESS
            each._defaults.clear()
        namespace, _ = parser.parse_known_args(list(argv))
    finally:
        for each, actions, defaults in saved:
            for action, default in actions:
                action.default = default
            each._defaults.update(defaults)
    commands = {
        a.dest
        for each in _all_parsers(parser)
        for a in each._actions
        if isinstance(a, argparse._SubParsersAction)
    }
    return set(vars(namespace)) - commands


def apply_preset(
    args: argparse.Namespace, parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[argparse.Namespace, Preset | None]:
    """``args`` with ``args.preset`` (if any) filled in under the explicitly given flags.

    Settings the parser has no argument for are set on the namespace too (e.g. ``sample``),
    so the runner finds every preset value as an attribute.
    """
    name = getattr(args, "preset", None)
    if not name:
        return args, None
    preset = get_preset(name)
    given = explicit_dests(parser, argv)
    merged = vars(args).copy()
    for key, value in preset.settings.items():
        if key not in given:
            merged[key] = value
    return argparse.Namespace(**merged), preset


def fill_from_preset(args: argparse.Namespace) -> Preset | None:
    """Fill ``args`` in place from ``args.preset`` where a flag was left at ``None``.

    For parsers whose preset-controlled flags all default to ``None`` (``agot eval``'s
    ``--limit``, ``--temperature``, ``--max-depth``, ``--max-layers``, ``--max-nodes`` do),
    ``None`` means "not given", so no argv re-parse is needed. Settings without a flag
    (``sample``, ``sample_seed``) are added as attributes. Returns the preset applied.
    """
    name = getattr(args, "preset", None)
    if not name:
        return None
    preset = get_preset(name)
    for key, value in preset.settings.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return preset


def sample_records(items: Sequence[T], limit: int | None, seed: int) -> list[T]:
    """``limit`` items drawn without replacement with ``random.Random(seed)``, in input order.

    Keeping input order makes the sample's results read like the dataset's; all items come
    back when ``limit`` is None or not smaller than the input.
    """
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 0:
        raise ConfigError(f"sample size must be >= 0, got {limit}")
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]
