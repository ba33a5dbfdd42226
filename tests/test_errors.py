"""Bad input becomes a typed AgotError with a one-line message naming the field and the fix."""

from __future__ import annotations

from typing import Any

import pytest

import agot
from agot.backends.registry import BackendOptions
from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import (
    AgotError,
    BackendError,
    BudgetExceeded,
    ConfigError,
    DatasetError,
    SchemaError,
    TransientBackendError,
)
from agot.limits import Limits
from agot.strategies import Direct, get_strategy
from agot.types import GenerationRequest


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, message
    return message


def test_hierarchy() -> None:
    for cls in (ConfigError, BackendError, BudgetExceeded, SchemaError, DatasetError):
        assert issubclass(cls, AgotError)
    assert issubclass(TransientBackendError, BackendError)
    # ConfigError is also a ValueError, so generic callers catching ValueError still work.
    assert issubclass(ConfigError, ValueError)
    assert agot.AgotError is AgotError and agot.ConfigError is ConfigError


# (settings class, field, bad value): each is refused naming the class and the field.
BAD_SETTINGS: list[tuple[type, str, Any]] = [
    (Limits, "max_concurrency", -1),
    (Limits, "max_concurrency", 0),
    (Limits, "max_concurrency", "many"),
    (Limits, "requests_per_minute", 0),
    (Limits, "tokens_per_minute", -100),
    (Limits, "timeout_s", 0),
    (Limits, "max_retries", -1),
    (Limits, "schema_retries", -2),
    (Limits, "backoff_initial_s", -0.5),
    (Limits, "max_concurency", 4),  # misspelt: rejected, not ignored
    (Budget, "max_calls", 0),
    (Budget, "max_calls", -3),
    (Budget, "max_tokens", 0),
    (Budget, "max_cost", 0),
    (Budget, "max_cost", -1.0),
    (Budget, "max_wall_s", 0),
    (Budget, "max_nodes", 0),
    (Budget, "max_depth", -1),
]


@pytest.mark.parametrize(
    ("settings_class", "field", "value"),
    BAD_SETTINGS,
    ids=[f"{cls.__name__}-{field}={value}" for cls, field, value in BAD_SETTINGS],
)
def test_bad_settings(settings_class: type, field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        settings_class(**{field: value})
    message = one_line(err.value)
    assert field in message
    assert message.startswith(f"invalid {settings_class.__name__} setting")


def test_zero_depth_budget_is_allowed() -> None:
    # Depth 0 means "no decomposition", a meaningful setting, unlike zero calls.
    assert Budget(max_depth=0).max_depth == 0


def test_bad_backend_options() -> None:
    with pytest.raises(ConfigError, match="n_ctx"):
        BackendOptions(n_ctx=10)
    with pytest.raises(ConfigError, match="n_threads"):
        BackendOptions(n_threads=0)


def test_unknown_dispatcher_option() -> None:
    with pytest.raises(ConfigError, match="api_bsae") as err:
        Dispatcher("scripted", api_bsae="http://127.0.0.1:1")
    one_line(err.value)


def test_unknown_strategy() -> None:
    with pytest.raises(ConfigError) as err:
        get_strategy("graph-of-everything")
    message = one_line(err.value)
    assert "'graph-of-everything'" in message
    for name in ("agot", "cot", "direct", "sc"):
        assert name in message


def test_sync_solve_unknown_strategy() -> None:
    with pytest.raises(ConfigError, match="unknown strategy"):
        agot.solve("q", strategy="nope", model="scripted")


def test_unknown_scripted_table(tmp_path: Any) -> None:
    missing = tmp_path / "missing-table.json"
    # The default model is resolved up front, so the fault shows before any work starts.
    with pytest.raises(ConfigError) as err:
        Dispatcher(f"scripted/{missing}")
    message = one_line(err.value)
    assert "missing-table.json" in message and "not found" in message


async def test_unknown_scripted_table_through_a_strategy(tmp_path: Any) -> None:
    # A configuration fault is raised, not folded into Result.error like a model failure.
    with pytest.raises(ConfigError, match=r"missing-table\.json"):
        await Direct().solve("q", model=f"scripted/{tmp_path / 'missing-table.json'}")


@pytest.mark.parametrize("question", ["", "  ", 3.5, None, ["a list"]])
def test_bad_question(question: Any) -> None:
    with pytest.raises(ConfigError, match="question") as err:
        agot.solve(question, strategy="direct", model="scripted")
    one_line(err.value)


def test_empty_model_string() -> None:
    with pytest.raises(ConfigError, match="model"):
        Dispatcher("  ")


async def test_unknown_scripted_table_in_a_request_override(tmp_path: Any) -> None:
    dispatcher = Dispatcher("scripted")
    request = GenerationRequest.chat("q", model=f"scripted/{tmp_path / 'other.json'}")
    with pytest.raises(ConfigError, match=r"other\.json"):
        await dispatcher.generate(request)


def test_bad_sampling_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="temperature"):
        Direct(temperature=5.0)


def test_non_text_strategy_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        get_strategy(5)  # type: ignore[arg-type]
