"""Packaging: what a non-editable install puts into site-packages (dependency safety lives in
test_supply_chain.py).

The slow test builds a wheel from the project's own files (what a fresh clone has: tracked and
not-ignored files), installs it into a fresh venv without dependencies and compares
site-packages before and after: only ``agot`` and its dist-info may appear, so ``backends`` and
``evals`` never claim generic top-level names.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

#: Source folder -> import name of the package it ships as.
SOURCE_ROOTS = {"agot": "agot", "backends": "agot.backends", "evals": "agot.evals"}

_IGNORED_IN_COPY = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", "runs", ".whl", "*.pyc",
)  # fmt: skip


def source_packages() -> set[str]:
    """Import names of every folder under agot/, backends/, evals/ with an __init__.py."""
    found = set()
    for folder, name in SOURCE_ROOTS.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            if any(part.startswith(".") or part == "__pycache__" for part in init.parts):
                continue
            rel = init.parent.relative_to(base).parts
            found.add(".".join((name, *rel)))
    return found


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = source_packages() - listed
    assert not missing, f"add to [tool.setuptools].packages in pyproject.toml: {sorted(missing)}"


def test_pyproject_lists_no_stale_packages() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    stale = listed - source_packages()
    assert not stale, f"listed in pyproject.toml but no such folder with __init__.py: {stale}"


def test_package_dir_maps_backends_and_evals() -> None:
    package_dir = PYPROJECT["tool"]["setuptools"]["package-dir"]
    assert package_dir["agot.backends"] == "backends"
    assert package_dir["agot.evals"] == "evals"


def test_no_python_folder_without_init() -> None:
    # A folder of modules without __init__.py would silently be left out of the wheel.
    for folder in SOURCE_ROOTS:
        for path in (ROOT / folder).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            assert (path.parent / "__init__.py").exists(), f"{path.parent} has no __init__.py"


def test_py_typed_is_shipped() -> None:
    assert (ROOT / "agot" / "py.typed").exists()
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert any("py.typed" in patterns for patterns in package_data.values())


# -- a real, non-editable install ---------------------------------------------------------------


def _copy_project(dest: Path) -> Path:
    """The files a fresh clone would have (git's view when available)."""
    files: list[str] | None = None
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        if listed.returncode == 0:
            files = [f for f in listed.stdout.decode().split("\0") if f]
    if files is None:
        shutil.copytree(ROOT, dest, ignore=_IGNORED_IN_COPY)
        return dest
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def _run(*args: Any, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _site_packages(venv: Path) -> Path:
    purelib = _run(
        venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
    )
    return Path(purelib.strip())


def _setuptools_version() -> Version:
    try:
        return Version(importlib.metadata.version("setuptools"))
    except importlib.metadata.PackageNotFoundError:
        return Version("0")


@pytest.mark.slow
def test_wheel_installs_only_agot(tmp_path: Path) -> None:
    if sysconfig.get_platform().startswith("win"):
        pytest.skip("venv layout differs on Windows")
    source = _copy_project(tmp_path / "src")
    dist = tmp_path / "dist"
    # Build offline with this environment's setuptools when it is recent enough for the
    # pyproject (PEP 639 license needs >= 77); else let pip fetch the build requirements.
    offline = _setuptools_version() >= Version("77")
    flags = ["--no-build-isolation", "--no-index"] if offline else []
    _run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", *flags, "-q", "-w", dist)
    (wheel,) = dist.glob("agot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
    version = wheel.name.split("-")[1]
    assert top == {"agot", f"agot-{version}.dist-info"}, top

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    site = _site_packages(venv)
    before = {p.name for p in site.iterdir()}
    _run(venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel)
    after = {p.name for p in site.iterdir()}

    added = after - before
    assert "agot" in added
    dist_infos = {n for n in added if n.endswith(".dist-info")}
    assert len(dist_infos) == 1 and next(iter(dist_infos)).startswith("agot-")
    assert added == {"agot", *dist_infos}, f"unexpected top-level entries: {added}"
    assert not {"backends", "evals", "tests", "benchmarks", "examples"} & after

    installed = site / "agot"
    assert (installed / "py.typed").is_file()
    assert (installed / "backends" / "scripted.py").is_file()
    assert (installed / "evals" / "__init__.py").is_file()
    for package in source_packages():
        folder = installed.joinpath(*package.split(".")[1:])
        assert (folder / "__init__.py").is_file(), f"{package} missing from the install"
    # The console script is installed too.
    assert (venv / "bin" / "agot").is_file()
