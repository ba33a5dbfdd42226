"""``import agot`` from a clone of the repository, wherever agot is installed.

The repository keeps ``backends/`` and ``evals/`` beside ``agot/``, and an install maps them to
``agot.backends`` and ``agot.evals`` (``package-dir`` in pyproject.toml). Python puts the
current folder first on ``sys.path`` for ``python -m agot`` and ``python -c``, so in the
repository root the source folder ``agot/`` shadows the installed package, and without this
module ``agot.backends`` is not found there: exactly where a new user stands after the
Quickstart. :func:`map_source_subpackages` adds a finder for the two names, used only when
this ``agot`` is such a source folder (an installed one holds its subpackages itself).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

#: ``agot.<name>`` -> the folder beside ``agot/`` that holds it in the repository.
SOURCE_SUBPACKAGES = {"agot.backends": "backends", "agot.evals": "evals"}


class SourceTreeFinder(importlib.abc.MetaPathFinder):
    """Finds ``agot.backends`` and ``agot.evals`` in the repository folders beside ``agot/``
    (their own submodules are then found through their ``__path__`` as usual)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        folder = SOURCE_SUBPACKAGES.get(fullname)
        if folder is None:
            return None
        init = self.root / folder / "__init__.py"
        if not init.is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(init.parent)]
        )


def map_source_subpackages(package_dir: Path) -> bool:
    """Install the finder when ``package_dir`` (agot's own folder) lacks the subpackages and
    its parent holds them; True when it did. Idempotent."""
    root = package_dir.parent
    if all((package_dir / name.split(".")[1]).is_dir() for name in SOURCE_SUBPACKAGES):
        return False  # an installed package (or a build tree) that holds them itself
    if not all((root / folder / "__init__.py").is_file() for folder in SOURCE_SUBPACKAGES.values()):
        return False
    if any(isinstance(f, SourceTreeFinder) for f in sys.meta_path):
        return True
    sys.meta_path.append(SourceTreeFinder(root))
    return True


#: Whether this agot was imported from a repository's source folder (and the finder is in use).
FROM_SOURCE_TREE = map_source_subpackages(Path(__file__).resolve().parent)
