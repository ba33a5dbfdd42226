"""Shared test setup: the tests folder is importable (scripted AGoT behaviours live there), and
the fixtures more than one test module needs."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The viewer's two eval runs (``view_fixtures.build_runs``), made once per module."""
    from view_fixtures import build_runs

    root = tmp_path_factory.mktemp("runs")
    asyncio.run(build_runs(root))
    return root
