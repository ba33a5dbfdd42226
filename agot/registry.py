"""Named registries: one shape for strategies, backends, datasets and scorers.

A :class:`Registry` maps a name to an entry (a factory, or a spec object for datasets). Three
ways in, looked up in this order on first use of a name:

* ``registry.register(name, entry)`` (or ``@registry.register(name)`` on a factory);
* ``registry.register_lazy(name, "module.path")``: a built-in whose module registers it when
  imported, so looking up ``hotpotqa`` never imports the GPQA loader, nor ``cot`` the AGoT engine;
* the ``agot.plugins`` entry-point group, for third-party packages: each entry point names a
  module (imported) or a callable (called with no arguments) that registers its entries. They
  load once, the first time a name is not found or the names are listed, so an installed plugin
  costs nothing until someone asks for something agot does not know.

An entry may name the modules it needs (``requires=("torch",)``) and how to get them
(``install="pip install 'agot[gpu]'"``): they are checked on first use with ``find_spec`` (no
import), and a missing one is a ConfigError naming it, not an ImportError deep inside a run.

A third-party package registers a backend, say, like this (``pyproject.toml``)::

    [project.entry-points."agot.plugins"]
    mybackend = "agot_mybackend.plugin"

    # agot_mybackend/plugin.py
    from agot.backends.registry import register_backend
    register_backend("mine", MyBackend.from_model_string, requires=("mysdk",),
                     install="pip install agot-mybackend")
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

from agot.errors import ConfigError

T = TypeVar("T")

#: The entry-point group third-party packages use to add strategies, backends, datasets or
#: scorers.
PLUGIN_GROUP = "agot.plugins"

_plugins_loaded = False


def load_plugins() -> None:
    """Load every ``agot.plugins`` entry point, once per process.

    A plugin that fails to import is a ConfigError naming the plugin and the cause.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True  # first, so a plugin that looks names up does not recurse
    for point in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = point.load()
        except ImportError as exc:
            raise ConfigError(
                f"agot plugin {point.name!r} ({point.value}) failed to import: {exc}"
            ) from None
        if callable(loaded):
            loaded()


def require_modules(what: str, modules: Iterable[str], install: str | None = None) -> None:
    """ConfigError naming what ``what`` needs unless every module in ``modules`` can be found
    (by ``find_spec``: nothing is imported)."""
    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):  # a parent package is missing
            found = None
        if found is None:
            missing.append(module)
    if missing:
        hint = f": {install}" if install else ""
        raise ConfigError(f"{what} needs {' and '.join(missing)}, which is not installed{hint}")


class _Entry(Generic[T]):
    __slots__ = ("install", "requires", "value")

    def __init__(self, value: T, requires: tuple[str, ...], install: str | None) -> None:
        self.value, self.requires, self.install = value, requires, install


class Registry(Generic[T]):
    """Entries of one ``kind`` ("strategy", "backend", ...) by case-insensitive name."""

    def __init__(
        self,
        kind: str,
        *,
        aliases: Mapping[str, str] | None = None,
        error: type[Exception] = ConfigError,
    ) -> None:
        self.kind = kind
        self.aliases = dict(aliases or {})
        self.error = error
        self._entries: dict[str, _Entry[T]] = {}
        self._lazy: dict[str, str] = {}

    def key(self, name: str) -> str:
        """The canonical form of ``name``: stripped, lower-case, aliases resolved."""
        key = name.strip().lower()
        return self.aliases.get(key, key)

    @overload
    def register(
        self,
        name: str,
        entry: None = None,
        *,
        requires: Iterable[str] = (),
        install: str | None = None,
    ) -> Callable[[T], T]: ...

    @overload
    def register(
        self, name: str, entry: T, *, requires: Iterable[str] = (), install: str | None = None
    ) -> T: ...

    def register(
        self,
        name: str,
        entry: T | None = None,
        *,
        requires: Iterable[str] = (),
        install: str | None = None,
    ) -> T | Callable[[T], T]:
        """Add ``entry`` under ``name`` (a later registration replaces an earlier one).

        Without ``entry`` this is a decorator. ``requires`` and ``install``: see the module
        docstring.
        """
        if entry is None:
            return lambda value: self.register(name, value, requires=requires, install=install)
        self._entries[self.key(name)] = _Entry(entry, tuple(requires), install)
        return entry

    def register_lazy(self, name: str, module: str) -> None:
        """``name`` is registered by ``module`` when it is imported (done on first use)."""
        self._lazy[self.key(name)] = module

    def _lookup(self, name: str) -> _Entry[T] | None:
        key = self.key(name)
        if key not in self._entries and key in self._lazy:
            importlib.import_module(self._lazy[key])
        if key not in self._entries:
            load_plugins()
        return self._entries.get(key)

    def find(self, name: str) -> T | None:
        """The entry for ``name``, or None when neither built-ins nor plugins have it; a
        ConfigError when it needs a module that is not installed."""
        entry = self._lookup(name)
        if entry is None:
            return None
        require_modules(f"{self.kind} {name.strip()!r}", entry.requires, entry.install)
        return entry.value

    def get(self, name: str) -> T:
        """The entry for ``name``; an error listing the known names when there is none."""
        if not isinstance(name, str):
            raise ConfigError(f"{self.kind} must be a name, got {type(name).__name__}")
        entry = self.find(name)
        if entry is None:
            raise self.error(f"unknown {self.kind} {name!r}: choose from {', '.join(self.names())}")
        return entry

    def names(self) -> list[str]:
        """Every name known now (registered, lazy built-ins and plugins), sorted."""
        load_plugins()
        return sorted(set(self._entries) | set(self._lazy))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None


__all__ = ["PLUGIN_GROUP", "Registry", "load_plugins", "require_modules"]
