"""Evaluation presets: named bundles of settings, kept as data so a summary can print them.

``--preset agot-paper`` reproduces the AGoT paper's protocol: direct prompting (IO), CoT and
AGoT at d = 1 nesting level, L = 3 layers, N = 3 new nodes per layer, every strategy at
temperature 0.3, on 100 questions sampled per data set (with a recorded seed, so the same items
come back on every run and machine), free-form QA judged by an LLM for semantic equivalence and
multiple choice (GPQA, shuffled options) by its letter.

A preset only fills in what the user did not say. :func:`resolve_preset` is the one place this
happens, for the CLI and for Python alike: a setting counts as "given" when the caller set it
(``None`` means not given), and a given value always wins over the preset's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agot.errors import ConfigError


class Preset(BaseModel):
    """A named set of eval settings.

    ``settings`` are run-wide (:class:`~agot.evals.runner.EvalConfig` fields: ``limit``,
    ``sample``, ``sample_seed``, ``strategies``: what runs when the caller names none,
    ``item_budget``: the budget of every item, as a dict of :class:`~agot.budget.Budget` fields);
    ``strategies`` maps a strategy name to the parameters that strategy gets
    (``{"agot": {"max_depth": 1, ...}}``).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    source: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    strategies: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Score free-form QA sets with an LLM judge of semantic equivalence (the model under test
    #: judges unless the run names a judge), as the paper does.
    judge_free_form: bool = False


#: Seed of the paper preset's 100-item sample (recorded in every summary that uses it).
PAPER_SAMPLE_SEED = 2502

#: The paper's temperature, used for every strategy of the paper preset.
PAPER_TEMPERATURE = 0.3

#: The compare preset's budget per item and strategy: model calls (AGoT at d=1, L=3, N=3 needs
#: about this many; ToT's Game of 24 search at its defaults needs several times more).
COMPARE_CALLS = 30

PRESETS: dict[str, Preset] = {
    "agot-paper": Preset(
        name="agot-paper",
        description=(
            "AGoT paper protocol: direct (IO), CoT and AGoT (d=1, L=3, N=3), all at temperature "
            "0.3, on 100 questions sampled per data set with a fixed seed; free-form QA judged "
            "by an LLM for semantic equivalence (multiple choice and exact tasks keep their own "
            "scorer)"
        ),
        source="Pandey et al. 2025, arXiv 2502.05078 (experiments: gpt-4o-mini, d=1, L=3, N=3)",
        settings={
            "limit": 100,
            "sample": True,
            "sample_seed": PAPER_SAMPLE_SEED,
            "strategies": ["direct", "cot", "agot"],
        },
        strategies={
            "direct": {"temperature": PAPER_TEMPERATURE},
            "cot": {"temperature": PAPER_TEMPERATURE},
            "agot": {
                "max_depth": 1,
                "max_layers": 3,
                "max_nodes": 3,
                "temperature": PAPER_TEMPERATURE,
            },
        },
        judge_free_form=True,
    ),
    "compare": Preset(
        name="compare",
        description=(
            "the test-time methods side by side: direct, cot, sc, tot, aot, bon and agot on the "
            "same 100 items sampled with a fixed seed, every strategy capped at the same budget "
            f"per item ({COMPARE_CALLS} model calls; --max-calls / --budget-tokens / --max-cost "
            "set another), each with its own defaults"
        ),
        source="agot issue 29: budget-matched comparison of AGoT with chain, tree and atom methods",
        settings={
            "limit": 100,
            "sample": True,
            "sample_seed": PAPER_SAMPLE_SEED,
            "strategies": ["direct", "cot", "sc", "tot", "aot", "bon", "agot"],
            "item_budget": {"max_calls": COMPARE_CALLS},
        },
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ConfigError naming the known ones otherwise."""
    try:
        return PRESETS[name.strip().lower()]
    except (KeyError, AttributeError):
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown preset {name!r}: choose one of {known}") from None


class AppliedPreset(BaseModel):
    """What a run records about its preset: the preset itself and what the user overrode."""

    preset: Preset
    #: Settings the user gave that replaced the preset's value (``limit`` or
    #: ``agot.temperature``), with the value used instead.
    overridden: dict[str, Any] = Field(default_factory=dict)

    def describe(self) -> str:
        """One line for the printed summary."""
        parts = [f"{k}={v}" for k, v in self.preset.settings.items()]
        for strategy, params in self.preset.strategies.items():
            parts += [f"{strategy}.{k}={v}" for k, v in params.items()]
        line = f"preset {self.preset.name}: {', '.join(parts)}"
        if self.overridden:
            line += "; overridden by flags: " + ", ".join(
                f"{k}={v}" for k, v in self.overridden.items()
            )
        return line


def resolve_preset(
    preset: Preset | str,
    settings: Mapping[str, Any],
    strategy_params: Mapping[str, Any],
    per_strategy_params: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], AppliedPreset]:
    """Fill the preset in under what was given.

    ``settings`` are the given run-wide values (``None``: not given), ``strategy_params`` the
    parameters given for every strategy (``--temperature``) and ``per_strategy_params`` those
    given for one strategy (``--max-depth`` for agot). Returns the run-wide settings and
    per-strategy parameters to use, and the :class:`AppliedPreset` to record. A parameter given
    for all strategies overrides the preset's value for one strategy too: ``--temperature 0``
    with the paper preset runs AGoT at 0.
    """
    chosen = get_preset(preset) if isinstance(preset, str) else preset
    overridden: dict[str, Any] = {}
    run_wide = dict(settings)
    for key, value in chosen.settings.items():
        if run_wide.get(key) is None:
            run_wide[key] = value
        elif run_wide[key] != value:
            overridden[key] = run_wide[key]
    per_strategy = {name: dict(params) for name, params in per_strategy_params.items()}
    # Parameters of strategies that will not run are neither filled in nor reported.
    running = {str(s).strip().lower() for s in run_wide.get("strategies") or ()}
    for strategy, params in chosen.strategies.items():
        if running and strategy not in running:
            continue
        target = per_strategy.setdefault(strategy, {})
        for key, value in params.items():
            given = target.get(key, strategy_params.get(key))
            if given is None:
                target[key] = value
            elif given != value:
                overridden[f"{strategy}.{key}"] = given
    return run_wide, per_strategy, AppliedPreset(preset=chosen, overridden=overridden)
