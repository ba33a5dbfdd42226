"""Package attributes imported on first access (PEP 562's module ``__getattr__``).

``import agot`` must stay fast (the CLI's ``--help``, a notebook's first cell), so names whose
modules pull in heavy dependencies (the AGoT engine, numpy, Ray) are listed with the module
that defines them and imported only when someone reads them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``exports`` (attribute name -> defining module)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
