"""The counters and measurements users read describe each field in their JSON schema.

``Usage`` and the summary's agreement, endpoint and calibration figures are written to result
files, and the backends' stats are what benchmarks print: a reader of ``summary.json`` (or of
``Model.model_json_schema()``) should learn what ``attempts`` or ``judge_only`` counts without
opening the source. A field added without a description fails here.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agot.backends.batching import EngineStats
from agot.backends.llamacpp import LlamaCppStats
from agot.evals.classification_metrics import CalibrationBin
from agot.evals.judge import Agreement
from agot.fleet.stats import EndpointStat
from agot.types import Usage

DESCRIBED = (Usage, Agreement, EndpointStat, CalibrationBin, LlamaCppStats, EngineStats)


@pytest.mark.parametrize("model", DESCRIBED, ids=lambda m: m.__name__)
def test_every_field_has_a_description(model: type[BaseModel]) -> None:
    properties = model.model_json_schema()["properties"]
    assert set(properties) == set(model.model_fields)
    missing = [name for name, prop in properties.items() if not prop.get("description")]
    assert not missing, f"{model.__name__} fields without a description: {missing}"


def test_described_counters_keep_their_defaults() -> None:
    """Field(description=...) kept each counter's zero default (Usage adds up from it)."""
    assert Usage() + Usage(calls=2, cost=0.5) == Usage(calls=2, cost=0.5)
    assert LlamaCppStats().model_dump() == dict.fromkeys(LlamaCppStats.model_fields, 0)
    assert Agreement().kappa is None and Agreement().n == 0
