"""One writer per run folder: an OS-level lock on ``DIR/.lock``, and the inputs' fingerprint.

Two ``agot eval --resume`` launched on one folder each read the same finished rows and then
both run every remaining item: every item ends up twice in ``results.jsonl``. So a run takes an
exclusive ``flock`` on the folder's lock file before it reads anything, and holds it to the
end. The kernel drops the lock when the process dies however it dies (``kill -9`` included),
so a crashed run never leaves a stale lock behind; the holder's PID is written into the file
only to name it in the second run's error. (On systems without ``fcntl`` the lock is a no-op.)

``--resume`` continues a folder only with the same inputs. :func:`fingerprint` records what
defines the items and how they are run (data file path, size and SHA-256; dataset, subset,
split, strategies, models, seed) in ``run.json``, and :func:`fingerprint_mismatch` says what
differs, field by field.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from agot.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
#: Fields of the fingerprint, in the order a mismatch is reported.
FINGERPRINT_FIELDS = (
    "dataset",
    "subset",
    "split",
    "data_path",
    "data_size",
    "data_sha256",
    "strategies",
    "models",
    "seed",
)


class RunLock:
    """An exclusive, non-blocking lock on ``folder/.lock``, held until :meth:`release`."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise ConfigError naming the PID of the run that holds it."""
        if self._fd is not None:
            return
        # Never through a link: it would truncate whatever the link points at.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise ConfigError(
                    f"{self.path.parent} is in use by another agot run (PID {holder}): wait for "
                    "it to finish, or choose another --out"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor drops the flock


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_identity(data: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Path, size and SHA-256 of a ``--data`` file (of every file, for a folder)."""
    if data is None:
        return {"data_path": None, "data_size": None, "data_sha256": None}
    path = Path(data).expanduser()
    if not path.exists():  # a hub dataset name, or a path the loader has already refused
        return {"data_path": str(data), "data_size": None, "data_sha256": None}
    if path.is_file():
        return {
            "data_path": str(path.resolve()),
            "data_size": path.stat().st_size,
            "data_sha256": _sha256(path),
        }
    digest, size = hashlib.sha256(), 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        size += file.stat().st_size
        digest.update(f"{file.relative_to(path)}\0{_sha256(file)}\n".encode())
    return {"data_path": str(path.resolve()), "data_size": size, "data_sha256": digest.hexdigest()}


def fingerprint(info: dict[str, Any], data: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The inputs a resumed run must share with the folder (see the module docstring)."""
    return {
        "dataset": info.get("dataset"),
        "subset": info.get("subset"),
        "split": info.get("split"),
        **data_identity(data),
        "strategies": info.get("strategies"),
        "models": info.get("models"),
        "seed": info.get("seed"),
    }


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64:  # a SHA-256
        return value[:12] + "…"
    return repr(value)


def fingerprint_mismatch(previous: dict[str, Any], current: dict[str, Any]) -> str | None:
    """What differs between two fingerprints, as one phrase; None when they agree."""
    differs = [
        f"{name} {_show(previous.get(name))} (now {_show(current.get(name))})"
        for name in FINGERPRINT_FIELDS
        if previous.get(name) != current.get(name)
    ]
    return "; ".join(differs) if differs else None
