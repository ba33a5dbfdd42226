"""agot.registry: one registry shape for strategies, backends, datasets and scorers, and
third-party plugins through the ``agot.plugins`` entry-point group."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import agot.registry
from agot.backends.registry import BACKENDS, parse_model_string, register_backend, resolve_backend
from agot.errors import ConfigError, DatasetError
from agot.evals.datasets import DATASETS, get_dataset
from agot.evals.scorers import SCORERS, QAScorer, register_scorer, scorer_names
from agot.registry import Registry
from agot.strategies import STRATEGIES, CoT, get_strategy, register_strategy, strategy_names


def test_register_get_aliases_and_the_decorator() -> None:
    shapes: Registry[object] = Registry("shape", aliases={"sq": "square"})
    shapes.register("Square", "four sides")

    @shapes.register("circle")
    def circle() -> str:
        return "round"

    assert shapes.get(" SQUARE ") == "four sides"
    assert shapes.get("sq") == "four sides"
    assert shapes.get("circle") is circle and circle() == "round"
    assert "sq" in shapes and "hexagon" not in shapes
    assert shapes.names() == ["circle", "square"]
    with pytest.raises(ConfigError, match=r"unknown shape 'hexagon': choose from circle, square"):
        shapes.get("hexagon")
    with pytest.raises(ConfigError, match="shape must be a name"):
        shapes.get(3)  # type: ignore[arg-type]


def test_a_missing_optional_dependency_is_named_on_first_use() -> None:
    tools: Registry[str] = Registry("tool")
    tools.register("fast", "x", requires=("json", "agot_no_such_module"), install="pip install y")
    assert "fast" in tools  # registering and listing never check
    with pytest.raises(
        ConfigError,
        match=r"tool 'fast' needs agot_no_such_module, which is not installed: pip install y",
    ):
        tools.get("fast")


def test_lazy_entries_import_their_module_on_first_use(tmp_path, monkeypatch) -> None:
    (tmp_path / "agot_lazy_demo.py").write_text(
        "from agot.strategies import register_strategy, CoT\nregister_strategy('lazy-demo', CoT)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    STRATEGIES.register_lazy("lazy-demo", "agot_lazy_demo")
    assert "agot_lazy_demo" not in sys.modules
    assert "lazy-demo" in STRATEGIES.names()
    assert isinstance(get_strategy("lazy-demo"), CoT)
    assert "agot_lazy_demo" in sys.modules


def test_every_kind_uses_the_one_shape() -> None:
    for registry, kind in (
        (STRATEGIES, "strategy"),
        (BACKENDS, "backend"),
        (DATASETS, "dataset"),
        (SCORERS, "scorer"),
    ):
        assert isinstance(registry, Registry) and registry.kind == kind
    assert {"agot", "cot", "direct", "sc"} <= set(STRATEGIES.names())
    assert {"local", "llamacpp", "scripted", "transformers"} <= set(BACKENDS.names())
    assert {"gpqa", "hotpotqa", "game24", "sst5"} <= set(DATASETS.names())
    assert {"qa", "mc", "judge", "classification"} <= set(SCORERS.names())
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        get_dataset("nope")


def test_the_public_register_functions_are_their_registries_own() -> None:
    """``register_strategy`` & co. take an entry or decorate a factory, like ``register``."""
    assert register_strategy("shape-cot", CoT) is CoT and "shape-cot" in strategy_names()
    assert isinstance(get_strategy("Shape-CoT"), CoT)

    @register_backend("shape-demo")
    def _demo(rest: str, options: object) -> object:
        return rest

    assert BACKENDS.get("shape-demo") is _demo
    register_scorer("shape_qa", QAScorer, requires=("no_such_module_xyz",), install="pip x")
    assert "shape_qa" in scorer_names()
    with pytest.raises(ConfigError, match=r"no_such_module_xyz.*pip x"):
        SCORERS.get("shape_qa")


def _install_plugin(root: Path, module: str, source: str, value: str | None = None) -> None:
    """A distribution on sys.path the way pip lays one out: its module and a dist-info
    folder whose entry_points.txt names it in the agot.plugins group."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[agot.plugins]\n{module} = {value or module}\n")


@pytest.fixture
def fresh_plugins(monkeypatch, tmp_path):
    monkeypatch.setattr(agot.registry, "_plugins_loaded", False)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


def test_entry_point_plugins_register_a_strategy_and_a_backend(fresh_plugins) -> None:
    _install_plugin(
        fresh_plugins,
        "agot_demo_plugin",
        """
        from agot.backends.registry import register_backend
        from agot.backends.scripted import ScriptedBackend
        from agot.strategies import CoT, register_strategy

        register_strategy("demo-cot", CoT)
        register_backend("demo", lambda rest, options: ScriptedBackend(model=rest))
        """,
    )
    assert isinstance(get_strategy("demo-cot"), CoT)
    assert parse_model_string("demo/x") == ("demo", "x")
    assert resolve_backend("demo/x").model == "x"
    assert parse_model_string("openai/gpt-4o-mini") == ("litellm", "openai/gpt-4o-mini")


def test_an_entry_point_may_name_a_function_to_call(fresh_plugins) -> None:
    _install_plugin(
        fresh_plugins,
        "agot_call_plugin",
        """
        def setup():
            from agot.evals.scorers import QAScorer, register_scorer

            register_scorer("demo_qa", QAScorer)
        """,
        value="agot_call_plugin:setup",
    )
    assert "demo_qa" in SCORERS.names()


def test_a_broken_plugin_is_a_config_error_naming_it(fresh_plugins) -> None:
    _install_plugin(fresh_plugins, "agot_broken_plugin", "import agot_missing_dependency\n")
    with pytest.raises(ConfigError, match=r"agot plugin 'agot_broken_plugin'.*agot_missing"):
        get_strategy("nothing-registers-this")
