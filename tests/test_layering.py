"""The direction of imports, as a table: a module imports only its own layer or the layers below.

Layers, lowest first (``LAYERS``)::

    base ← render ← backends ← dispatch ← routing ← strategies ← plan ← api ← evals ← apps

* ``base``: the core's plain modules (``agot.types``, ``errors``, ``config``, ``trace``,
  ``result``, ``graph``, ``progress``, ...): every ``agot.*`` module no other layer names.
* ``render``: the pictures of a graph and a trace (``agot.render``).
* ``backends``: ``agot.backends``; ``dispatch``: ``agot.dispatcher`` and ``agot.fleet``;
  ``routing``: ``agot.routing``.
* ``strategies``: the ``Strategy`` base and every strategy (``agot.strategies``,
  ``agot.controller``, ``agot.kairanban``) with the prompts they send (``agot.prompts``).
* ``plan``: predicting a run from its pilot's traces (``agot.plan``); the pilot itself is run
  by the command line.
* ``api``: the package ``agot`` itself (``agot/__init__.py``), which re-exports the layers
  below, and ``agot.api`` (``agot.solve``); no module below imports them.
* ``evals``: the eval harness ``agot.evals``; ``apps``: the command line (``agot.cli``,
  ``agot.__main__``), the viewer (``agot.view``) and the test doubles (``agot.testing``), which
  build scripted runs through the eval harness.

The check reads import *names* (``ast`` over each file; relative imports resolved), with every
file named by its import name through ``pyproject.toml``'s ``package-dir`` mapping
(``backends/`` is ``agot.backends``, ``evals/`` is ``agot.evals``): a check over file paths
would not see that ``backends/llamacpp.py`` is part of ``agot``. Imports inside functions count
as much as those at the top of a file. The few upward imports the design keeps are listed, with
why, in ``ALLOWED_UPWARD``; an entry that no longer occurs fails too, so the list stays exact.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: (layer, import-name prefixes), lowest first. ``base`` takes every ``agot.*`` module no other
#: layer names; ``agot`` alone (``api``) names the package's own ``__init__``, nothing below it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ()),
    ("render", ("agot.render",)),
    ("backends", ("agot.backends",)),
    ("dispatch", ("agot.dispatcher", "agot.fleet")),
    ("routing", ("agot.routing",)),
    ("strategies", ("agot.strategies", "agot.controller", "agot.kairanban", "agot.prompts")),
    ("plan", ("agot.plan",)),
    ("api", ("agot", "agot.api")),
    ("evals", ("agot.evals",)),
    ("apps", ("agot.cli", "agot.__main__", "agot.view", "agot.testing")),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}

#: The upward imports the design keeps: (importing module, imported module) -> why. Each is
#: inside a method, so importing the lower module never loads the upper one.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    **{
        ("agot.graph", f"agot.render.{module}"): "ThoughtGraph.to_svg/to_dot/... draw themselves"
        for module in ("notebook", "dot", "svg", "mermaid")
    },
    ("agot.result", "agot.render.notebook"): "a Result shows itself in a notebook",
}


def layer_of(module: str) -> str:
    """The layer of an import name: the longest prefix a layer names, else ``base``."""
    best, length = "base", 0
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            exact = prefix == "agot"  # the package itself, not everything under it
            hit = module == prefix or (not exact and module.startswith(prefix + "."))
            if hit and len(prefix) > length:
                best, length = name, len(prefix)
    return best


def shipped_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module the distribution ships, by import name: the packages ``pyproject.toml``
    lists, each found through ``package-dir`` (a package without an entry sits in the folder of
    its nearest listed parent, as setuptools lays it out)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    dirs: dict[str, str] = setuptools["package-dir"]
    modules = {}
    for package in setuptools["packages"]:
        parent = max((p for p in dirs if package == p or package.startswith(p + ".")), key=len)
        folder = (
            root
            / dirs[parent]
            / Path(*package[len(parent) + 1 :].split(".") if package != parent else ())
        )
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
    return modules


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """Every ``agot`` module ``path`` (imported as ``module``) imports, absolute, with its line:
    relative imports are resolved, ``from X import y`` counts as ``X`` and as ``X.y`` (``y`` may
    be a module), and ``importlib.import_module("...")`` calls with a literal name count too."""
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in found if name == "agot" or name.startswith("agot.")]


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` if it is a module, else its parent (``from agot.x import Thing`` names ``x``)."""
    if name in modules:
        return name
    parent = name.rpartition(".")[0]
    return parent if parent in modules else None


def upward_imports(modules: dict[str, Path], root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """(importer, imported) -> places, for every import of a higher layer."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, path in modules.items():
        for line, name in imports_of(path, module):
            target = _known(name, modules)
            if target is None or RANK[layer_of(target)] <= RANK[layer_of(module)]:
                continue
            places = found.setdefault((module, target), [])
            if (place := f"{path.relative_to(root)}:{line}") not in places:
                places.append(place)
    return found


def test_every_import_points_down_the_table() -> None:
    found = upward_imports(shipped_modules())
    unlisted = {
        f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)}) at {', '.join(places)}"
        for (a, b), places in found.items()
        if (a, b) not in ALLOWED_UPWARD
    }
    assert unlisted == set()
    stale = set(ALLOWED_UPWARD) - set(found)
    assert stale == set(), "listed upward imports that no longer occur: drop them"


def test_every_shipped_module_is_read_under_its_import_name() -> None:
    modules = shipped_modules()
    assert modules["agot.backends.llamacpp"] == ROOT / "backends" / "llamacpp.py"
    assert modules["agot.evals.scorers"] == ROOT / "evals" / "scorers" / "__init__.py"
    assert modules["agot.cli.progress"] == ROOT / "agot" / "cli" / "progress.py"
    on_disk = {
        path
        for folder in ("agot", "backends", "evals")
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts and (path.parent / "__init__.py").is_file()
    }
    assert set(modules.values()) == on_disk


def test_the_table_places_each_name() -> None:
    assert layer_of("agot") == "api"
    assert layer_of("agot.types") == layer_of("agot.graph") == "base"
    assert layer_of("agot.backends.base") == "backends"
    assert layer_of("agot.fleet.router") == layer_of("agot.dispatcher") == "dispatch"
    assert layer_of("agot.prompts.agot") == layer_of("agot.kairanban") == "strategies"
    assert layer_of("agot.evals.progress") == "evals"
    assert layer_of("agot.cli.progress") == layer_of("agot.view.app") == "apps"
    assert layer_of("agot.cliché") == "base"  # a prefix is a whole name, not a string start


def test_the_scan_sees_every_form_of_import(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import agot.evals.stats\n"
        "from agot.evals import run_eval\n"
        "from agot import evals\n"
        "from .. import evals as e\n"
        "import importlib, agotx\n"
        "importlib.import_module('agot.evals.report')\n"
        "def later():\n"
        "    from ..cli import progress\n"
    )
    names = imports_of(probe, "agot.kairanban.probe")
    flagged = {line for line, name in names if layer_of(name) in ("evals", "apps")}
    assert flagged == {1, 2, 3, 4, 6, 8}
    assert (8, "agot.cli.progress") in names


def test_a_violation_is_reported(tmp_path) -> None:
    (tmp_path / "agot").mkdir()
    (tmp_path / "agot" / "types.py").write_text("from agot.evals.stats import bootstrap_mean\n")
    (tmp_path / "stats.py").write_text("from agot.types import Usage\n")
    modules = {
        "agot.types": tmp_path / "agot" / "types.py",
        "agot.evals.stats": tmp_path / "stats.py",
    }
    found = upward_imports(modules, tmp_path)
    assert found == {("agot.types", "agot.evals.stats"): ["agot/types.py:1"]}


def test_importing_a_layer_loads_nothing_above_it() -> None:
    code = (
        "import sys\n"
        "def loaded(*prefixes): return sorted(m for m in sys.modules if m.startswith(prefixes))\n"
        "import agot, agot.kairanban.variants, agot.controller, agot.render, agot.dispatcher\n"
        "print(loaded('agot.evals', 'agot.cli', 'agot.view'))\n"
        "import agot.evals.runner, agot.evals.report, agot.evals.summary\n"
        "print(loaded('agot.cli', 'agot.view'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "[]"]


def test_architecture_md_states_this_table() -> None:
    """ARCHITECTURE.md's layer section says what this test holds: the same chain, and a table
    row per layer naming its import names."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "\n" + " ← ".join(name for name, _ in LAYERS) + "\n" in text
    rows = {
        line.split("|")[1].strip(): line.split("|")[2]
        for line in text.splitlines()
        if line.startswith("| ") and line.count("|") == 3
    }
    for name, prefixes in LAYERS:
        assert name in rows, f"ARCHITECTURE.md's layer table has no row {name!r}"
        assert all(f"`{p}`" in rows[name] for p in prefixes), (name, rows[name])
