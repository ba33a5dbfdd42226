"""The example notebooks run top to bottom (on the scripted backend) and stay in sync with the
scripts they are built from; each example runs once, as its notebook.

Each notebook is executed with nbclient in a fresh kernel whose environment says
``AGOT_MODEL=scripted``, so no model is loaded and no network is touched; any cell error fails
the test. The kernel must be this interpreter (the venv), or the notebooks would test some
other installation of agot.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", EXAMPLES / "build_notebooks.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def scripted_env(monkeypatch, tmp_path):
    """The kernel (a child process) inherits this environment."""
    monkeypatch.setenv("AGOT_MODEL", "scripted")
    monkeypatch.setenv("AGOT_EXAMPLES_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in ("AGOT_REMOTE_MODEL", "AGOT_SERVER_MODEL", "AGOT_TRANSFORMERS_MODEL", "AGOT_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=180,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    return client.execute()


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def test_every_example_has_a_notebook_and_they_are_up_to_date():
    builder = _builder()
    assert {p.stem for p in NOTEBOOKS} == set(builder.EXAMPLES)
    for name in builder.EXAMPLES:
        built = builder.build(name)
        stored = (EXAMPLES / f"{name}.ipynb").read_text(encoding="utf-8")
        nb = nbformat.reads(stored, as_version=4)
        assert builder.sources(nb) == builder.sources(built), (
            f"{name}.ipynb is stale: run python examples/build_notebooks.py"
        )
        nbformat.validate(nb)
        # Committed executed, so a reader sees the pictures without running anything.
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{name}.ipynb was not executed"
        outputs = [o for c in code for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"]
        pictures = [o for o in outputs if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
        if name != "remote_or_gpu":  # its cells need a remote model, a server or a GPU
            assert pictures, f"{name}.ipynb has no pictures"


def test_kernel_is_this_interpreter(scripted_env):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import sys, os\nprint(sys.executable)"))
    nb.cells.append(nbformat.v4.new_code_cell("print(os.environ['AGOT_MODEL'])"))
    done = _execute(nb)
    printed = [o["text"].strip() for o in _outputs(done) if o.get("name") == "stdout"]
    assert Path(printed[0]).resolve() == Path(sys.executable).resolve()
    assert printed[1] == "scripted"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, scripted_env):
    nb = nbformat.read(path, as_version=4)
    done = _execute(nb)  # raises CellExecutionError on the first failing cell
    outputs = _outputs(done)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    rich = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    if path.stem == "quickstart":
        svgs = [o["data"]["image/svg+xml"] for o in rich if "image/svg+xml" in o["data"]]
        assert any("n_final" in s for s in svgs)  # the thought graph was drawn
        assert any("image/png" in o["data"] for o in rich)  # the timeline
        html = [o["data"]["text/html"] for o in rich if "text/html" in o["data"]]
        assert any("Rayleigh scattering" in h for h in html)  # the result's answer
        assert (scripted_env / "quickstart_trace.json").is_file()
    if path.stem in ("compare_strategies", "kairanban"):
        assert sum("image/png" in o["data"] for o in rich) >= 2
    if path.stem == "compare_strategies":
        assert (scripted_env / "compare-scripted" / "results.jsonl").is_file()
    if path.stem == "remote_or_gpu":
        text = "".join(o.get("text", "") for o in outputs)
        assert text.count("skipped:") == 3  # guarded cells stay off without their variables


def test_a_script_saves_and_prints_what_a_notebook_displays(scripted_env, capsys):
    """Each example runs once, as its notebook (above): the notebook and the script share every
    cell, and differ only in ``_demo.show``, which in a plain script saves pictures into
    ``$AGOT_EXAMPLES_OUT`` and prints results instead of displaying them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import agot

    spec = importlib.util.spec_from_file_location("_demo", EXAMPLES / "_demo.py")
    assert spec and spec.loader
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert not demo.in_notebook()
    strategy = agot.AGoT(max_depth=1, max_layers=2, max_nodes=2, max_tokens=64)
    result = agot.run_sync(strategy.solve("Why is the sky blue?", model=demo.demo_model()))
    demo.show(result)
    demo.show(result.thought_graph(), "graph")
    figure = plt.figure()
    demo.show(figure, "timeline")
    printed = capsys.readouterr().out
    assert f"answer: {result.answer}" in printed and "calls" in printed
    assert (scripted_env / "graph.svg").read_text(encoding="utf-8").lstrip().startswith("<")
    assert (scripted_env / "timeline.png").read_bytes().startswith(b"\x89PNG")
    assert not plt.fignum_exists(figure.number)  # closed, so Jupyter would not draw it twice
