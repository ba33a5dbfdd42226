"""Build ``examples/*.ipynb`` from the example scripts (``# %%`` cells), so both stay in step.

Each example is written once, as a plain Python script in the "percent" cell format that
Jupyter, VS Code and jupytext all read: ``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines are comments. Run ``python examples/build_notebooks.py`` after editing
a script; the test suite fails when a notebook is out of date. Notebooks are stored without
outputs (the tests execute them; a user's run fills them in).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
#: The example scripts that become notebooks, in reading order.
EXAMPLES = ("quickstart", "compare_strategies", "kairanban", "remote_or_gpu")

KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def cells_of(source: str) -> list[tuple[str, str]]:
    """(kind, text) of each cell of a percent-format script; text before the first cell is
    dropped (the module docstring and imports for linters live there only if repeated)."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            cells.append((kind, []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        out.append((kind, "\n".join(lines)))
    return out


def build(name: str) -> nbformat.NotebookNode:
    source = (HERE / f"{name}.py").read_text(encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["language_info"] = {"name": "python"}
    for index, (kind, text) in enumerate(cells_of(source)):
        cell = (
            nbformat.v4.new_markdown_cell(text)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(text)
        )
        cell["id"] = f"{name[:20]}-{index:02d}"  # stable ids: rebuilding changes nothing
        nb.cells.append(cell)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in EXAMPLES:
        target = HERE / f"{name}.ipynb"
        text = render(build(name))
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if stale:
        print("out of date (run python examples/build_notebooks.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
