"""Output paths checked before any model call is paid for.

A run that fails to write its trace or results after every call was made has wasted the
money, so the CLI checks every output path first: a file must not be a directory, a folder
must not be a file, nothing may sit under a file, and the place must be creatable and
writable. Each failure is a :class:`~agot.errors.ConfigError` naming the flag and the path.
"""

from __future__ import annotations

import os
from pathlib import Path

from agot.errors import ConfigError


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _check_creatable(path: Path, flag: str) -> None:
    """``path`` (absent) could be created: its nearest existing ancestor is a writable folder."""
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise ConfigError(f"{flag} {str(path)!r}: {str(base)!r} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {str(path)!r}: cannot create it, {str(base)!r} is not writable")


def check_output_file(path: str | os.PathLike[str], flag: str) -> Path:
    """``path`` as a Path, or ConfigError when a file cannot be written there."""
    target = Path(path).expanduser()
    if str(path).endswith(("/", os.sep)) or target.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a folder: give a file name")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise ConfigError(f"{flag} {str(path)!r} is not writable")
        return target
    _check_creatable(target, flag)
    return target


def check_output_dir(path: str | os.PathLike[str], flag: str, *, create: bool = False) -> Path:
    """``path`` as a Path, or ConfigError when a folder cannot be created or written there.

    ``create=True`` creates it (with its parents) as the final check.
    """
    target = Path(path).expanduser()
    if create and not target.exists():
        _check_creatable(target, flag)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"{flag} {str(path)!r}: cannot create it: {exc.strerror or exc}"
            ) from None
    if target.exists():
        if not target.is_dir():
            raise ConfigError(f"{flag} {str(path)!r} is a file, not a folder")
        if not os.access(target, os.W_OK | os.X_OK):
            raise ConfigError(f"{flag} {str(path)!r} is not writable")
        return target
    _check_creatable(target, flag)
    return target


def write_text(path: str | os.PathLike[str], text: str, flag: str) -> Path:
    """Write ``text`` to ``path`` (creating folders); an OSError becomes a ConfigError."""
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return target
