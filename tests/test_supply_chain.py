"""Compromised litellm releases (1.82.7, 1.82.8, 1.107.x) can be neither installed nor locked."""

from __future__ import annotations

import importlib.metadata
import site
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BAD = ["1.82.7", "1.82.8", "1.107.0", "1.107.3", "1.107.9"]


def _bad(version: str) -> bool:
    v = Version(version)
    return str(v) in ("1.82.7", "1.82.8") or (v.major, v.minor) == (1, 107)


def test_installed_litellm_is_not_a_compromised_release():
    try:
        version = importlib.metadata.version("litellm")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("litellm is not installed (the `litellm` extra is optional)")
    assert not _bad(version), f"compromised litellm {version} is installed"


def test_no_litellm_init_pth_anywhere_on_the_path():
    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *sys.path}
    dirs.update([*site.getsitepackages(), site.getusersitepackages()])
    found = [
        str(Path(d) / "litellm_init.pth") for d in dirs if (Path(d) / "litellm_init.pth").exists()
    ]
    assert not found, f"litellm_init.pth present: {found}"


def test_pyproject_requirement_excludes_compromised_releases():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = [
        Requirement(r)
        for group in data["project"]["optional-dependencies"].values()
        for r in group
        if r.startswith("litellm")
    ]
    assert reqs, "pyproject must declare litellm with its exclusions"
    for req in reqs:
        for bad in BAD:
            assert not req.specifier.contains(bad), f"{req} admits compromised {bad}"
        assert req.specifier.contains("1.110.2")


def test_ci_constraints_pin_a_safe_litellm():
    lines = (ROOT / "constraints" / "ci.txt").read_text().splitlines()
    pins = [line.split("==")[1].strip() for line in lines if line.lower().startswith("litellm==")]
    assert len(pins) == 1 and not _bad(pins[0])
