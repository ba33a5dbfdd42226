"""``import agot`` and ``python -m agot`` work in the repository root, where the source folder
``agot/`` shadows the installed package (Python puts the current folder first on sys.path)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _from_root(*args: str) -> subprocess.CompletedProcess[str]:
    """Python in the repository root with the installed dependencies but not agot's own
    install (``-S`` skips the .pth files, editable installs included; PYTHONPATH gives the
    site-packages folders back): what a user with a non-editable install sees there."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages())}
    return subprocess.run(
        [sys.executable, "-S", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_agot_and_its_subpackages_from_the_repository_root():
    done = _from_root(
        "-c",
        "import agot, agot.backends.scripted, agot.evals.run_folder\n"
        "print(agot.__file__); print(agot.backends.__file__); print(agot.evals.__file__)",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    files = [Path(line) for line in done.stdout.split()]
    assert files == [
        ROOT / "agot/__init__.py",
        ROOT / "backends/__init__.py",
        ROOT / "evals/__init__.py",
    ]


def test_python_m_agot_runs_from_the_repository_root():
    done = _from_root("-m", "agot", "solve", "What is 2 + 2?", "--model", "scripted", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"answer"' in done.stdout


def test_an_installed_layout_is_left_alone(tmp_path):
    from agot._source_tree import map_source_subpackages

    package = tmp_path / "agot"
    for name in ("backends", "evals"):
        (package / name).mkdir(parents=True)
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    assert map_source_subpackages(package) is False  # it holds its subpackages itself
    assert map_source_subpackages(tmp_path / "elsewhere" / "agot") is False  # no source tree
    if not (ROOT / "agot" / "backends").exists():
        assert map_source_subpackages(ROOT / "agot") is True


@pytest.mark.parametrize("name", ["agot.backends", "agot.evals"])
def test_the_finder_maps_only_its_two_names(name):
    from agot._source_tree import SourceTreeFinder

    finder = SourceTreeFinder(ROOT)
    spec = finder.find_spec(name)
    assert spec is not None and spec.origin == str(ROOT / name.split(".")[1] / "__init__.py")
    assert finder.find_spec("agot.tests") is None and finder.find_spec("backends") is None
