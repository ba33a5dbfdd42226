"""Presets: the paper's settings as data, filled in under whatever the caller gave."""

from __future__ import annotations

import json

import pytest

from agot.errors import ConfigError
from agot.evals.datasets.sources import sample_records
from agot.evals.presets import (
    PAPER_SAMPLE_SEED,
    AppliedPreset,
    Preset,
    get_preset,
    resolve_preset,
)

AGOT = {"max_depth": 1, "max_layers": 3, "max_nodes": 3, "temperature": 0.3}
TEMP = {"temperature": 0.3}


def test_paper_preset_holds_the_papers_settings() -> None:
    preset = get_preset("agot-paper")
    assert preset.settings == {
        "limit": 100,
        "sample": True,
        "sample_seed": PAPER_SAMPLE_SEED,
        "strategies": ["direct", "cot", "agot"],
    }
    assert preset.strategies == {"direct": TEMP, "cot": TEMP, "agot": AGOT}
    assert preset.judge_free_form
    # it is plain data: it round-trips through JSON (how a summary records it)
    assert Preset.model_validate(json.loads(preset.model_dump_json())) == preset


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="agot-paper"):
        get_preset("nope")


def test_nothing_given_takes_every_preset_value() -> None:
    given = {"limit": None, "sample": None, "sample_seed": None, "strategies": None}
    settings, per_strategy, applied = resolve_preset("agot-paper", given, {}, {})
    assert settings == {
        "limit": 100,
        "sample": True,
        "sample_seed": PAPER_SAMPLE_SEED,
        "strategies": ["direct", "cot", "agot"],
    }
    assert per_strategy == {"direct": TEMP, "cot": TEMP, "agot": AGOT}
    assert applied.overridden == {}
    assert applied.describe() == (
        f"preset agot-paper: limit=100, sample=True, sample_seed={PAPER_SAMPLE_SEED}, "
        "strategies=['direct', 'cot', 'agot'], direct.temperature=0.3, cot.temperature=0.3, "
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
    assert applied.overridden == {
        "direct.temperature": 0.0,
        "cot.temperature": 0.0,
        "agot.temperature": 0.0,
    }


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


def _paper_config(**kwargs):
    from agot.evals.runner import EvalConfig, _with_preset

    return _with_preset(
        EvalConfig(dataset=kwargs.pop("dataset", "hotpotqa"), preset="agot-paper", **kwargs)
    )


def test_paper_preset_runs_direct_cot_and_agot_at_the_papers_settings() -> None:
    config, applied = _paper_config()
    assert config.strategies == ["direct", "cot", "agot"]
    assert config.limit == 100 and config.sample is True
    params = config.per_strategy_params
    assert params["direct"] == params["cot"] == {"temperature": 0.3}
    assert params["agot"] == AGOT
    # free-form QA is judged for semantic equivalence, by the model under test
    judges = [s for s in config.scorers if getattr(s, "name", "") == "judge"]
    assert len(judges) == 1 and judges[0].model is None
    assert applied.overridden == {}


def test_paper_preset_keeps_multiple_choice_scoring_and_given_strategies() -> None:
    config, _ = _paper_config(dataset="gpqa")
    assert config.strategies == ["direct", "cot", "agot"]
    assert not any(getattr(s, "name", "") == "judge" for s in config.scorers)
    config, _ = _paper_config(strategies=["agot"])
    assert config.strategies == ["agot"]


def test_cli_preset_builds_the_three_strategy_run() -> None:
    from agot.cli import build_parser
    from agot.cli.eval import build_config
    from agot.evals.runner import _Run

    args = build_parser().parse_args(["eval", "hotpotqa", "--preset", "agot-paper"])
    run = _Run(build_config(args), records=[], stream=None)
    assert list(run.strategies) == ["direct", "cot", "agot"]
    agot_strategy = run.strategies["agot"]
    assert agot_strategy.params.temperature == 0.3
    assert (agot_strategy.bounds.max_depth, agot_strategy.bounds.max_layers) == (1, 3)
    assert agot_strategy.bounds.max_nodes == 3
    assert run.strategies["cot"].params.temperature == 0.3
