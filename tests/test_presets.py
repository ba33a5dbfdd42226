"""Presets: the paper's settings as data, merged under explicitly given flags."""

from __future__ import annotations

import argparse
import json

import pytest

from agot.errors import ConfigError
from agot.evals.presets import (
    PRESETS,
    Preset,
    apply_preset,
    explicit_dests,
    fill_from_preset,
    get_preset,
    merge_preset,
    sample_records,
)


def test_paper_preset_holds_the_papers_settings() -> None:
    preset = get_preset("agot-paper")
    assert preset.settings == {
        "max_depth": 1,
        "max_layers": 3,
        "max_nodes": 3,
        "temperature": 0.3,
        "limit": 100,
        "sample": True,
        "sample_seed": preset.settings["sample_seed"],
    }
    assert isinstance(preset.settings["sample_seed"], int)
    # it is plain data: it round-trips through JSON (how a summary records it)
    assert Preset.model_validate(json.loads(preset.model_dump_json())) == preset


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="agot-paper"):
        get_preset("nope")


def test_merge_lets_given_values_override() -> None:
    merged = merge_preset("agot-paper", {"limit": 5, "temperature": None, "strategy": "agot"})
    assert merged["limit"] == 5
    assert merged["temperature"] == 0.3  # None means "not given"
    assert merged["strategy"] == "agot"
    assert merged["max_layers"] == 3
    assert merge_preset(None, {"limit": 7}) == {"limit": 7}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agot")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval")
    ev.add_argument("dataset")
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--temperature", type=float, default=0.0)
    ev.add_argument("--max-layers", type=int, default=2)
    ev.add_argument("--max-depth", type=int, default=1)
    ev.add_argument("--strategy", default="cot")
    ev.add_argument("--resume", action="store_true")
    ev.add_argument("--preset", default=None)
    ev.set_defaults(handler=lambda args: 0)
    return parser


def test_explicit_dests_sees_only_given_flags_and_restores_defaults() -> None:
    parser = _parser()
    argv = ["eval", "gpqa", "--preset", "agot-paper", "--temperature", "0", "--resume"]
    assert explicit_dests(parser, argv) == {"dataset", "preset", "temperature", "resume"}
    # the parser still has its defaults afterwards
    args = parser.parse_args(["eval", "gpqa"])
    assert args.limit is None and args.max_layers == 2 and args.resume is False
    assert callable(args.handler)


def test_apply_preset_under_user_flags() -> None:
    parser = _parser()
    argv = ["eval", "hotpotqa", "--preset", "agot-paper", "--limit", "5", "--temperature", "0"]
    args, preset = apply_preset(parser.parse_args(argv), parser, argv)
    assert preset is not None and preset.name == "agot-paper"
    assert args.limit == 5  # given
    assert args.temperature == 0.0  # given, even though it equals the default
    assert args.max_layers == 3 and args.max_depth == 1  # from the preset
    assert args.strategy == "cot"  # not in the preset: the default stays
    assert args.sample is True and args.sample_seed == PRESETS["agot-paper"].settings["sample_seed"]


def test_no_preset_leaves_args_alone() -> None:
    parser = _parser()
    argv = ["eval", "gpqa"]
    args = parser.parse_args(argv)
    same, preset = apply_preset(args, parser, argv)
    assert preset is None and same is args


def test_sample_is_seeded_ordered_and_complete_when_small() -> None:
    items = list(range(1000))
    first = sample_records(items, 100, seed=7)
    assert first == sample_records(items, 100, seed=7)
    assert first != sample_records(items, 100, seed=8)
    assert len(first) == 100 and len(set(first)) == 100
    assert first == sorted(first)  # input order kept
    assert sample_records(items[:50], 100, seed=7) == items[:50]
    assert sample_records(items, None, seed=7) == items
    with pytest.raises(ConfigError):
        sample_records(items, -1, seed=7)


def test_fill_from_preset_treats_none_as_not_given() -> None:
    args = argparse.Namespace(
        preset="agot-paper",
        limit=5,
        temperature=None,
        max_depth=None,
        max_layers=2,
        max_nodes=None,
        strategy="agot",
    )
    preset = fill_from_preset(args)
    assert preset is not None and preset.name == "agot-paper"
    assert args.limit == 5 and args.max_layers == 2  # given
    assert args.temperature == 0.3 and args.max_depth == 1 and args.max_nodes == 3
    assert args.sample is True and isinstance(args.sample_seed, int)
    untouched = argparse.Namespace(preset=None, limit=None)
    assert fill_from_preset(untouched) is None and untouched.limit is None
