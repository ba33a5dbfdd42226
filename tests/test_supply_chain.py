"""Compromised litellm releases (1.82.7, 1.82.8, 1.107.x) can be neither installed nor locked.

The one place for these checks: every requirement in pyproject.toml, every pin in
constraints/*.txt, the installed distribution, and the ``litellm_init.pth`` those releases drop.
"""

from __future__ import annotations

import importlib.metadata
import site
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
#: Releases no requirement or pin may admit (the whole 1.107 series is bad; samples of it).
BAD = ["1.82.7", "1.82.8", "1.107.0", "1.107.3", "1.107.5", "1.107.9"]
SAFE = "1.110.2"


def _bad(version: str) -> bool:
    v = Version(version)
    return str(v) in ("1.82.7", "1.82.8") or (v.major, v.minor) == (1, 107)


def test_the_rule_and_the_list_agree():
    assert all(_bad(v) for v in BAD) and not _bad(SAFE)


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
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project.get("dependencies", [])]
    for group in project.get("optional-dependencies", {}).values():
        specs.extend(group)
    reqs = [r for r in map(Requirement, specs) if r.name.lower() == "litellm"]
    assert reqs, "pyproject must declare litellm with its exclusions"
    for req in reqs:
        for bad in BAD:
            assert not req.specifier.contains(bad), f"{req} admits compromised {bad}"
        assert req.specifier.contains(SAFE), f"{req} refuses {SAFE}"


def test_every_constraints_file_pins_a_safe_litellm():
    pins = []
    for path in sorted((ROOT / "constraints").glob("*.txt")):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                requirement = Requirement(line)
                if requirement.name.lower() == "litellm":
                    pins.append((path.name, requirement))
    assert [name for name, _ in pins].count("ci.txt") == 1, "constraints/ci.txt must pin litellm"
    for name, requirement in pins:
        for bad in BAD:
            assert not requirement.specifier.contains(bad), f"{name}: {requirement}"
