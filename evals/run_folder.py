"""The run folder: the one module that knows what ``agot eval --out DIR`` writes.

Everything else (the runner, the summary, ``agot report``, the pandas tables and any viewer)
reads and writes a run through this module, so the layout and its rules live in one place::

    DIR/run.json         what defines the run (dataset, subset, split, seed, strategies, ...)
    DIR/results.jsonl    one ResultRow per finished item x strategy x model, append-only
    DIR/summary.json     the EvalSummary, rewritten at the end of every (resumed) run
    DIR/traces/<strategy>/<model>/<id>.json   the Result of each row (``row.trace`` names it)

Why results.jsonl has this shape: a run of thousands of model calls must survive a crash,
Ctrl-C or SIGKILL without losing finished work or counting an item twice. Each row is appended
as one complete line and fsynced before the item counts as done (rows finishing together share
one write and one fsync, group commit, so a concurrent run is not serialised on the disk). The
only damage a kill can do is a torn *last* line, which :func:`read_results` drops (and
truncates away) on resume; the item it belonged to is then simply run again.

Rules every reader shares:

* **The latest row wins**: one row per :attr:`ResultRow.key` (dataset, subset, id, strategy,
  model, seed); when a file (a resumed run) or several folders repeat a key, the row read last
  wins, kept at the place its key first appeared (:func:`latest_rows`).
* **The headline metric** of a set of rows is the first of :data:`HEADLINE_ORDER` they carry
  (:func:`headline_metric`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agot.errors import ConfigError
from agot.evals.run_lock import LOCK_FILE, RunLock, fingerprint, fingerprint_mismatch
from agot.output_paths import check_output_dir
from agot.types import Usage

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
TRACES_DIR = "traces"

#: Which metric heads a set of rows when none is named: the first of these the rows carry
#: (``judge`` first: the AGoT paper's QA metric).
HEADLINE_ORDER = ("judge", "accuracy", "success", "word_acc", "macro_f1", "loose_acc", "em", "f1")

#: run.json fields that must match for a resumed run to continue a folder.
RUN_IDENTITY = ("dataset", "subset", "split", "seed", "sample_seed")

#: (dataset, subset, id, strategy, model, seed): what makes two rows the same measurement.
Key = tuple[str, str | None, str, str, str, int]
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
        return (self.dataset, self.subset, self.id, self.strategy, self.model, self.seed)

    @property
    def dataset_label(self) -> str:
        """``dataset/subset``, or the dataset alone: how tables name the rows' data set."""
        return f"{self.dataset}/{self.subset}" if self.subset else self.dataset


class ResultsWriter:
    """Appends rows to ``path``; ``await append(row)`` returns once the line is on disk.

    ``files`` passed with a row (its trace) are written in the same background batch, before
    the row's line: a row on disk always has its trace, and a run makes one thread hand-off
    per batch instead of one per file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(self.path, flags, 0o644)
        self._pending: list[tuple[bytes, Files, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._dirs: set[Path] = set()

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

    async def aclose(self) -> None:
        if self._flusher is not None:
            await self._flusher
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_results(
    path: str | os.PathLike[str], *, repair: bool = False, unreadable: list[int] | None = None
) -> list[ResultRow]:
    """Every complete row of ``path`` (none when it does not exist).

    A last line without its newline, or one that does not parse, is what a kill during a write
    leaves: it is ignored, and with ``repair=True`` cut off the file so appends start clean. A
    bad line anywhere else is real damage and raises ConfigError naming the line, unless the
    caller passes an ``unreadable`` list (a reader that shows what it can, such as the viewer):
    then its line number is added there and the line skipped.
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
            if unreadable is not None:
                unreadable.append(number)
                continue
            raise ConfigError(
                f"{file}:{number} is not a valid result row; delete that line to resume"
            ) from None
    if repair and good_end < len(data):
        with file.open("r+b") as handle:
            handle.truncate(good_end)
            handle.flush()
            os.fsync(handle.fileno())
    return rows


def latest_rows(rows: Iterable[ResultRow]) -> list[ResultRow]:
    """One row per :attr:`ResultRow.key`: the last one read wins, at the place its key first
    appeared (so a resumed item keeps its position in the run's order)."""
    out: dict[Key, ResultRow] = {}
    for row in rows:
        out[row.key] = row
    return list(out.values())


def headline_metric(names: Iterable[str], forced: str | None = None) -> str | None:
    """The metric that heads rows scored with ``names`` (in first-seen order).

    ``forced`` wins when present (None when it is not); else the first of
    :data:`HEADLINE_ORDER` present, else the first name seen.
    """
    seen = list(dict.fromkeys(names))
    if forced is not None:
        return forced if forced in seen else None
    for name in HEADLINE_ORDER:
        if name in seen:
            return name
    return seen[0] if seen else None


def rewrite_results(path: str | os.PathLike[str], keep: Iterable[ResultRow]) -> None:
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
    """Write ``data`` as JSON through a temp file and a rename: readers never see half a file."""
    return write_text_atomic(
        path, json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n"
    )


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` through a temp file and a rename: readers never see half a file."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    temp = file.with_name(file.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, file)
    return file


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (with a short hash when anything was replaced)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"
    if safe != text or len(safe) > 100:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe[:80]}-{digest}"
    return safe


def find_results(source: str | os.PathLike[str]) -> list[Path]:
    """The ``results.jsonl`` files ``source`` names: the file itself, a run folder's, or every
    one below a folder of runs. Nothing found is a ConfigError naming the path."""
    path = Path(source).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        if (path / RESULTS_FILE).is_file():
            return [path / RESULTS_FILE]
        found = sorted(path.rglob(RESULTS_FILE))
        if found:
            return found
    raise ConfigError(
        f"no {RESULTS_FILE} in {str(path)!r}: pass folders written by 'agot eval --out DIR'"
    )


class RunFolder:
    """One run folder: where each of its files lives, and how each is read and written.

    A run writes the folder under an exclusive lock (:mod:`agot.evals.run_lock`): taken by
    :meth:`acquire` (or :meth:`start`), held until :meth:`release`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = RunLock(self.path)

    def acquire(self) -> None:
        """Create the folder if needed and take its lock (ConfigError when another run holds
        it, or when the folder cannot be created or written)."""
        check_output_dir(self.path, "run folder", create=True)
        self.refuse_links()
        try:
            self._lock.acquire()
        except OSError as exc:
            raise ConfigError(
                f"cannot lock run folder {str(self.path)!r}: {exc.strerror or exc}"
            ) from None

    def release(self) -> None:
        self._lock.release()

    def refuse_links(self) -> None:
        """ConfigError when a file or folder a run writes inside the folder is a symbolic link.

        A run opens these for writing: a ``.lock`` link would truncate its target, a
        ``results.jsonl`` link append rows to it, a ``traces`` link (or one inside it) write
        traces into another folder. A run folder made by agot holds no links, so one there
        was put there by someone else, and a resumed run refuses to write through it.
        """
        names = (LOCK_FILE, RESULTS_FILE, RUN_FILE, SUMMARY_FILE, TRACES_DIR)
        temps = (f"{RESULTS_FILE}.tmp", f"{RUN_FILE}.tmp", f"{SUMMARY_FILE}.tmp")
        found = [self.path / name for name in (*names, *temps) if (self.path / name).is_symlink()]
        traces = self.path / TRACES_DIR
        if not found and traces.is_dir():
            for top, dirs, files in os.walk(traces):  # never descends into a linked folder
                found += [Path(top, n) for n in (*dirs, *files) if Path(top, n).is_symlink()]
                if found:
                    break
        if found:
            raise ConfigError(
                f"{found[0]} is a symbolic link: a run writes through nothing in its folder "
                "that points elsewhere; remove the link, or choose another --out"
            )

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS_FILE

    @property
    def info_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_FILE

    def trace_path(self, strategy: str, model: str, item_id: str) -> Path:
        """Where the trace of one row goes (``row.trace`` holds it relative to the folder)."""
        return self.path / TRACES_DIR / slug(strategy) / slug(model) / f"{slug(item_id)}.json"

    def read_results(self, *, repair: bool = False) -> list[ResultRow]:
        return read_results(self.results_path, repair=repair)

    def start(
        self,
        info: dict[str, Any],
        *,
        resume: bool = False,
        retry_errors: bool = False,
        data: str | os.PathLike[str] | None = None,
    ) -> list[ResultRow]:
        """Lock the folder, make it ready for a run described by ``info`` (run.json) and
        return the rows already finished there.

        A folder with results is continued only with ``resume`` and only when run.json agrees
        on :data:`RUN_IDENTITY` and on the inputs' fingerprint (``data`` is the data file or
        folder, hashed); ``retry_errors`` drops the failed rows so they run again. A torn last
        line (a kill mid-write) is cut off either way, so appends start clean.
        """
        self.acquire()
        info = {**info, "fingerprint": fingerprint(info, data)}
        rows = self.read_results(repair=True)
        if rows and not resume:
            raise ConfigError(
                f"{self.results_path} already holds {len(rows)} results: pass --resume to "
                "continue that run, or choose another --out"
            )
        previous = self.read_info() if resume else None
        if previous is not None:
            for key in RUN_IDENTITY:
                if previous.get(key) != info[key]:
                    raise ConfigError(
                        f"--resume: {self.path} was run with {key}={previous.get(key)!r}, not "
                        f"{info[key]!r}; pass the same {key} or choose another --out"
                    )
            before = previous.get("fingerprint")
            differs = fingerprint_mismatch(before, info["fingerprint"]) if before else None
            if differs:
                raise ConfigError(
                    f"--resume: {self.path} was run with other inputs: {differs}; pass the "
                    "same inputs or choose another --out"
                )
        if retry_errors and any(r.error for r in rows):
            rows = [r for r in latest_rows(rows) if not r.error]
            self.rewrite_results(rows)
        self.write_info(info)
        return rows

    def rows(self, *, unreadable: list[int] | None = None) -> list[ResultRow]:
        """The folder's rows under the latest-row-wins rule (``unreadable``: as in
        :func:`read_results`)."""
        return latest_rows(read_results(self.results_path, unreadable=unreadable))

    def writer(self) -> ResultsWriter:
        return ResultsWriter(self.results_path)

    def rewrite_results(self, keep: Iterable[ResultRow]) -> None:
        rewrite_results(self.results_path, keep)

    def read_info(self) -> dict[str, Any] | None:
        """``run.json`` (None when the folder has none yet)."""
        return _read_json(self.info_path)

    def write_info(self, info: dict[str, Any]) -> Path:
        return write_json_atomic(self.info_path, info)

    def read_summary(self) -> dict[str, Any] | None:
        """``summary.json`` (None when absent: a run that has not finished yet)."""
        return _read_json(self.summary_path)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        return write_json_atomic(self.summary_path, summary)

    def read_trace(self, row: ResultRow) -> dict[str, Any] | None:
        """The trace ``row`` points at, as the JSON object ``Result.save_trace`` writes.

        Only a file inside the folder is read (symlinks resolved): a row whose ``trace`` is an
        absolute path or climbs out with ``..`` names some other file, and reading it would
        show that file to whoever views the run. That is a ConfigError, as is bad JSON.
        """
        if not row.trace:
            return None
        root = self.path.resolve()
        target = (root / row.trace).resolve()
        if not target.is_relative_to(root):
            raise ConfigError(f"trace {row.trace!r} of item {row.id!r} is outside {self.path}")
        if target.exists() and not target.is_file():  # a FIFO or a device would block the read
            raise ConfigError(f"trace {row.trace!r} of item {row.id!r} is not a regular file")
        return _read_json(target)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object")
    return data
