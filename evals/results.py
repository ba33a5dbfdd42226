"""``results.jsonl``: one JSON object per finished item x strategy x model, append-only.

Why this shape: a run of thousands of model calls must survive a crash, Ctrl-C or SIGKILL
without losing finished work or counting an item twice. Each row is appended as one complete
line and fsynced before the item counts as done (rows finishing together share one write and
one fsync — group commit — so a concurrent run is not serialised on the disk). The only
damage a kill can do is a torn *last* line, which :func:`read_results` drops (and truncates
away) on resume; the item it belonged to is then simply run again.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agot.errors import ConfigError
from agot.types import Usage

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"

Key = tuple[str, str, str]
#: Extra files written with a row: (path, content).
Files = Sequence[tuple[Path, bytes]]


class ResultRow(BaseModel):
    """One finished item under one strategy and model."""

    id: str
    dataset: str
    subset: str | None = None
    split: str | None = None
    strategy: str
    model: str
    seed: int
    gold: Any = None
    raw: str | None = None
    prediction: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    error: str | None = None
    stopped: str | None = None
    trace: str | None = None
    finished_at: float = Field(default_factory=time.time)
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.id, self.strategy, self.model)


class ResultsWriter:
    """Appends rows to ``path``; ``await append(row)`` returns once the line is on disk.

    ``files`` passed with a row (its trace) are written in the same background batch, before
    the row's line: a row on disk always has its trace, and a run makes one thread hand-off
    per batch instead of one per file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._pending: list[tuple[bytes, Files, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._dirs: set[Path] = set()
        self.rows_written = 0

    async def append(self, row: ResultRow, files: Files = ()) -> None:
        line = (row.model_dump_json() + "\n").encode("utf-8")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((line, files, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            files = [f for _, fs, _ in batch for f in fs]
            try:
                await asyncio.to_thread(self._write, b"".join(line for line, _, _ in batch), files)
            except BaseException as exc:  # disk full, or the run is being cancelled
                for _, _, future in batch:
                    if not future.done():
                        if isinstance(exc, Exception):
                            future.set_exception(exc)
                        else:
                            future.cancel()
                if isinstance(exc, Exception):
                    continue
                raise
            self.rows_written += len(batch)
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)

    def _write(self, data: bytes, files: Files = ()) -> None:
        for target, content in files:
            if target.parent not in self._dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(target.parent)
            target.write_bytes(content)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def append_sync(self, row: ResultRow) -> None:
        """The same, for code outside an event loop."""
        self._write((row.model_dump_json() + "\n").encode("utf-8"))
        self.rows_written += 1

    async def aclose(self) -> None:
        if self._flusher is not None:
            await self._flusher
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_results(path: str | os.PathLike[str], *, repair: bool = False) -> list[ResultRow]:
    """Every complete row of ``path`` (none when it does not exist).

    A last line without its newline, or one that does not parse, is what a kill during a write
    leaves: it is ignored, and with ``repair=True`` cut off the file so appends start clean. A
    bad line anywhere else is real damage and raises ConfigError naming the line.
    """
    file = Path(path)
    if not file.exists():
        return []
    data = file.read_bytes()
    lines = data.split(b"\n")
    good_end = len(data) - len(lines[-1])  # byte offset just past the last newline
    complete = lines[:-1]
    rows: list[ResultRow] = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            rows.append(ResultRow.model_validate_json(line))
        except ValueError:
            if number == len(complete) and not lines[-1]:
                good_end -= len(line) + 1  # a torn final line that happened to end in "\n"
                break
            raise ConfigError(
                f"{file}:{number} is not a valid result row; delete that line to resume"
            ) from None
    if repair and good_end < len(data):
        with file.open("r+b") as handle:
            handle.truncate(good_end)
            handle.flush()
            os.fsync(handle.fileno())
    return rows


def latest_rows(rows: Iterable[ResultRow]) -> dict[Key, ResultRow]:
    """One row per (id, strategy, model), the last written winning."""
    out: dict[Key, ResultRow] = {}
    for row in rows:
        out[row.key] = row
    return out


def drop_rows(path: str | os.PathLike[str], keep: Iterable[ResultRow]) -> None:
    """Rewrite ``path`` with only ``keep`` (atomically: temp file, fsync, rename)."""
    file = Path(path)
    temp = file.with_suffix(".jsonl.tmp")
    with temp.open("wb") as handle:
        for row in keep:
            handle.write((row.model_dump_json() + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, file)


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    temp = file.with_name(file.name + ".tmp")
    temp.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")
    os.replace(temp, file)
    return file
