"""Build ``examples/*.ipynb`` from the example scripts (``# %%`` cells), so both stay in step.

Each example is written once, as a plain Python script in the "percent" cell format that
Jupyter, VS Code and jupytext all read: ``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines are comments. Run ``python examples/build_notebooks.py`` after editing
a script; the test suite fails when a notebook is out of date.

Notebooks are committed *executed* (``--execute``, the default when writing), on the scripted
model (``AGOT_MODEL=scripted``: no weights, no network, the same output every time), so a reader
on GitHub sees the graphs, tables and plots without running anything. ``--check`` compares the
cells' sources only, since outputs hold timings.
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


def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    """What a notebook says, without what running it printed: (kind, id, source) per cell."""
    return [(c.cell_type, c.get("id", ""), c.source) for c in nb.cells]


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb`` on the scripted model in a scratch folder (files it saves go there)."""
    import os
    import tempfile

    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as scratch:
        saved = {k: os.environ.get(k) for k in ("AGOT_MODEL", "AGOT_EXAMPLES_OUT", "MPLBACKEND")}
        os.environ.update(
            AGOT_MODEL="scripted",
            AGOT_EXAMPLES_OUT=os.path.join(scratch, "example-output"),
            MPLBACKEND="module://matplotlib_inline.backend_inline",
        )
        try:
            sys.path.insert(0, str(HERE))
            client = NotebookClient(
                nb,
                kernel_name="python3",
                timeout=300,
                record_timing=False,
                resources={"metadata": {"path": str(HERE)}},
            )
            client.execute()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in EXAMPLES:
        target = HERE / f"{name}.ipynb"
        nb = build(name)
        if check:
            stored = (
                nbformat.reads(target.read_text(encoding="utf-8"), as_version=4)
                if target.exists()
                else None
            )
            if stored is None or sources(stored) != sources(nb):
                stale.append(target.name)
        else:
            if "--no-execute" not in argv:
                nb = execute(nb)
            target.write_text(render(nb), encoding="utf-8")
            print(f"wrote {target}")
    if stale:
        print("out of date (run python examples/build_notebooks.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
