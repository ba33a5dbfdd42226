"""The direction of imports: the core (``agot/``) never imports the eval harness.

``agot.evals`` builds on the core (strategies, dispatcher, results); the core must work, and
import, without it. Only the applications over both packages may reach into ``agot.evals``:
the command line (``agot/cli/``: ``agot eval``, ``agot report``) and the web viewer
(``agot/view/``, which reads run folders through :mod:`agot.evals.run_folder`).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "agot"
SHELLS = (CORE / "cli", CORE / "view")


def _package(path: Path) -> str:
    return ".".join(("agot", *path.relative_to(CORE).parent.parts))


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module ``path`` (in ``package``) imports, absolute, with its line: relative imports
    are resolved and ``importlib.import_module("...")`` calls with a literal name count too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _is_evals(module: str) -> bool:
    return module == "agot.evals" or module.startswith("agot.evals.")


def test_the_core_never_imports_the_eval_harness() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted(CORE.rglob("*.py"))
        if not any(shell in path.parents for shell in SHELLS)
        for line, module in _imports(path, _package(path))
        if _is_evals(module)
    ]
    assert offenders == []


def test_the_scan_sees_every_form_of_import(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import agot.evals.stats\n"
        "from agot.evals import run_eval\n"
        "from agot import evals\n"
        "from .. import evals as e\n"
        "import importlib, agot.evalsx\n"
        "importlib.import_module('agot.evals.report')\n"
    )
    flagged = {line for line, module in _imports(probe, "agot.kairanban") if _is_evals(module)}
    assert flagged == {1, 2, 3, 4, 6}


def test_importing_the_core_loads_no_eval_module() -> None:
    code = (
        "import sys, agot, agot.kairanban, agot.kairanban.variants, agot.controller, "
        "agot.render, agot.strategies, agot.dispatcher\n"
        "print(sorted(m for m in sys.modules if m.startswith('agot.evals')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
