"""Presets: the paper's settings as data, filled in under whatever the caller gave."""

from __future__ import annotations

import json

import pytest

from agot.errors import ConfigError
from agot.evals.presets import (
    PAPER_SAMPLE_SEED,
    AppliedPreset,
    Preset,
    get_preset,
    resolve_preset,
    sample_records,
)

AGOT = {"max_depth": 1, "max_layers": 3, "max_nodes": 3, "temperature": 0.3}


def test_paper_preset_holds_the_papers_settings() -> None:
    preset = get_preset("agot-paper")
    assert preset.settings == {"limit": 100, "sample": True, "sample_seed": PAPER_SAMPLE_SEED}
    assert preset.strategies == {"agot": AGOT}
    # it is plain data: it round-trips through JSON (how a summary records it)
    assert Preset.model_validate(json.loads(preset.model_dump_json())) == preset


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="agot-paper"):
        get_preset("nope")


def test_nothing_given_takes_every_preset_value() -> None:
    given = {"limit": None, "sample": None, "sample_seed": None}
    settings, per_strategy, applied = resolve_preset("agot-paper", given, {}, {})
    assert settings == {"limit": 100, "sample": True, "sample_seed": PAPER_SAMPLE_SEED}
    assert per_strategy == {"agot": AGOT}
    assert applied.overridden == {}
    assert applied.describe() == (
        f"preset agot-paper: limit=100, sample=True, sample_seed={PAPER_SAMPLE_SEED}, "
        "agot.max_depth=1, agot.max_layers=3, agot.max_nodes=3, agot.temperature=0.3"
    )


def test_given_values_override_and_are_recorded() -> None:
    settings, per_strategy, applied = resolve_preset(
        "agot-paper",
        {"limit": 5, "sample": None, "sample_seed": None},
        {"max_tokens": 64},
        {"agot": {"max_layers": 2}, "sc": {"n": 4}},
    )
    assert settings["limit"] == 5 and settings["sample"] is True
    assert per_strategy["agot"] == {**AGOT, "max_layers": 2}
    assert per_strategy["sc"] == {"n": 4}  # other strategies' parameters pass through
    assert applied.overridden == {"limit": 5, "agot.max_layers": 2}
    assert "overridden by flags: limit=5, agot.max_layers=2" in applied.describe()


def test_a_run_wide_temperature_beats_the_agot_temperature() -> None:
    # --temperature 0 is given for every strategy: AGoT must not be silently run at 0.3.
    _, per_strategy, applied = resolve_preset(
        "agot-paper", {"limit": None}, {"temperature": 0.0}, {}
    )
    assert "temperature" not in per_strategy["agot"]
    assert per_strategy["agot"] == {"max_depth": 1, "max_layers": 3, "max_nodes": 3}
    assert applied.overridden == {"agot.temperature": 0.0}


def test_a_value_equal_to_the_preset_is_not_an_override() -> None:
    _, _, applied = resolve_preset("agot-paper", {"limit": 100}, {}, {"agot": {"max_depth": 1}})
    assert applied.overridden == {}
    assert AppliedPreset.model_validate(json.loads(applied.model_dump_json())) == applied


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
