"""One extra for everything a user runs, and errors that name the extra bringing what is
missing (checked against pyproject.toml, so the table cannot drift from the real extras)."""

from __future__ import annotations

import builtins
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from agot.cli import main
from agot.extras import ALL, MODULE_EXTRAS, install_hint

EXTRAS = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
    "optional-dependencies"
]


def _names(extra: str) -> set[str]:
    out = set()
    for spec in EXTRAS[extra]:
        req = Requirement(spec)
        if req.name == "agot":
            for inner in req.extras:
                out |= _names(inner)
        else:
            out.add(req.name.lower())
    return out


@pytest.mark.parametrize("module", sorted(MODULE_EXTRAS))
def test_each_module_is_brought_by_the_extra_the_table_names(module):
    distribution, extra = MODULE_EXTRAS[module]
    assert distribution in _names(extra)


def test_all_brings_every_extra_a_user_runs_and_not_gpu_ray_or_dev():
    assert set(ALL) == {"local", "litellm", "evals", "notebooks", "view"}
    assert _names("all") == set().union(*(_names(e) for e in ALL))
    assert not _names("all") & {"torch", "ray", "pytest", "selenium"}


def test_hints_name_the_extra():
    assert (
        install_hint("numpy.linalg")
        == 'pip install "agot[evals]" (or "agot[all]": everything a user runs)'
    )
    assert install_hint("torch") == 'pip install "agot[gpu]"'
    assert install_hint("somethingelse") is None


def test_a_missing_optional_module_is_one_line_naming_its_extra(monkeypatch, capsys, tmp_path):
    real_import = builtins.__import__

    def no_starlette(name, *args, **kwargs):
        if name.split(".")[0] in ("starlette", "pandas"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_starlette)
    assert main(["view", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agot: error: agot view needs starlette:") and "agot[view]" in err
    assert err.count("\n") == 1


def test_the_command_line_names_the_extra_of_any_missing_optional_module(monkeypatch, capsys):
    import agot.cli.report

    def needs_scipy(args):
        raise ModuleNotFoundError("No module named 'scipy'", name="scipy.stats")

    monkeypatch.setattr(agot.cli.report, "run", needs_scipy)
    assert main(["report", "runs"]) == 2
    err = capsys.readouterr().err
    assert err == (
        'agot: error: this needs scipy, which is not installed: pip install "agot[evals]" '
        '(or "agot[all]": everything a user runs)\n'
    )

    def needs_unknown(args):
        raise ModuleNotFoundError("No module named 'zzz'", name="zzz")

    monkeypatch.setattr(agot.cli.report, "run", needs_unknown)
    with pytest.raises(ModuleNotFoundError):  # not an optional dependency: a real bug, shown
        main(["report", "runs"])
