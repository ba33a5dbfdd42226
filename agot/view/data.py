"""What the viewer shows, read from disk through the run-folder and summary modules only.

A :class:`Catalog` is built from the paths a user passes (``agot view DIR ...``): a run folder,
a folder holding many run folders, a ``results.jsonl``, or a saved trace (``agot solve
--trace``). Runs are re-read on every request (a run still in progress shows its latest rows);
nothing here writes. Text is shown as stored: redaction happened before the run wrote it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agot.errors import ConfigError
from agot.evals.run_folder import (
    RESULTS_FILE,
    ResultRow,
    RunFolder,
    headline_metric,
    slug,
)
from agot.evals.run_lock import LOCK_FILE
from agot.evals.stats import PairedComparison
from agot.evals.summary import (
    GroupSummary,
    estimate,
    group_rows,
    group_summary,
    load_summary,
)
from agot.fleet.stats import EndpointStat, endpoint_stats
from agot.types import Usage

T = TypeVar("T")


@dataclass
class Run:
    """One eval run folder, summarised."""

    id: str
    folder: RunFolder
    name: str
    dataset: str
    subset: str | None
    split: str | None
    seed: int | None
    rows: list[ResultRow]
    headline: str | None
    groups: list[GroupSummary]
    comparisons: list[PairedComparison] = field(default_factory=list)
    wall_s: float | None = None
    started_at: float | None = None
    finished: bool = False
    #: What could not be read (an unreadable results line, a bad run.json or summary.json):
    #: the page shows the rest and says what is missing.
    problems: list[str] = field(default_factory=list)
    #: Line numbers of results.jsonl that are not result rows (counted, never a page error).
    unreadable_lines: list[int] = field(default_factory=list)
    #: run.json as written (empty when missing or unreadable): the run's provenance.
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(r.strategy for r in self.rows))

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(r.model for r in self.rows))

    @property
    def items(self) -> int:
        return len({r.id for r in self.rows})

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.error)

    @property
    def usage(self) -> Usage:
        """The model usage of every row of the run."""
        return Usage.total(r.usage for r in self.rows)

    @property
    def endpoints(self) -> list[EndpointStat]:
        """Per endpoint of a model served by several replicas (empty otherwise)."""
        per_item = (r.details.get("endpoints") for r in self.rows)
        return endpoint_stats(d for d in per_item if isinstance(d, dict))

    @property
    def dataset_label(self) -> str:
        return f"{self.dataset}/{self.subset}" if self.subset else self.dataset

    @property
    def status(self) -> str:
        """``running`` (a live process holds the folder), ``finished``, ``failed`` (every
        row errored, or nothing ran), or ``interrupted`` (no summary and no live run)."""
        if not self.finished and _held_by_live_process(self.folder.path):
            return "running"
        if self.rows and all(r.error for r in self.rows):
            return "failed"
        if self.finished:
            return "finished" if self.rows else "failed"
        return "interrupted"

    @property
    def date(self) -> float | None:
        """When the run started (run.json), else when its newest row was written."""
        if self.started_at is not None:
            return self.started_at
        return max((r.finished_at for r in self.rows), default=None)

    def score(self, row: ResultRow) -> float | None:
        """The row's headline score (None when it has none)."""
        if self.headline is None:
            return None
        value = row.scores.get(self.headline)
        if value is None and row.error:
            return 0.0  # a failure counts as a miss, as in the summary
        return value

    def trace(self, row: ResultRow) -> dict[str, Any] | None:
        """The row's trace, read only from inside the run folder (ConfigError otherwise)."""
        return self.folder.read_trace(row)


@dataclass
class SavedTrace:
    """A single saved run (``agot solve --trace FILE``)."""

    id: str
    path: Path

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path} is not a readable trace ({exc})") from None
        if not isinstance(data, dict) or "events" not in data:
            raise ConfigError(f"{self.path} is not an agot trace (no 'events')")
        return data


class Catalog:
    """The runs and traces under the paths given to ``agot view``.

    Folders are scanned again when the runs list is shown or an unknown run or trace is
    asked for, so a run started after the viewer appears without a restart; ids of runs
    already seen stay as they were.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        if not paths:
            raise ConfigError("agot view needs at least one run folder or trace file")
        self.paths: list[Path] = []
        for raw in paths:
            path = Path(raw).expanduser()
            if not path.exists():
                raise ConfigError(f"{str(raw)!r} does not exist: pass eval folders or trace files")
            if path.is_dir() and _scan_dir(path) == ([], []):
                raise ConfigError(
                    f"no {RESULTS_FILE} or trace files in {str(raw)!r}: pass folders "
                    "written by 'agot eval --out DIR' or files by 'agot solve --trace'"
                )
            self.paths.append(path)
        self.folders: list[Path] = []
        self.trace_files: list[Path] = []
        self.refresh()

    def refresh(self) -> None:
        """Look for run folders and traces again (new ones are added after the known ones)."""
        folders: list[Path] = []
        traces: list[Path] = []
        for path in self.paths:
            if path.is_file():
                (folders if path.name == RESULTS_FILE else traces).append(
                    path.parent if path.name == RESULTS_FILE else path
                )
            elif path.is_dir():
                found_folders, found_traces = _scan_dir(path)
                folders += found_folders
                traces += found_traces
        self.folders = _merged(self.folders, folders)
        self.trace_files = _merged(self.trace_files, traces)
        self._ids = _unique_ids([f.name for f in self.folders])
        self._trace_ids = _unique_ids([f.stem for f in self.trace_files])

    def run_ids(self) -> list[str]:
        return list(self._ids)

    def runs(self) -> list[Run]:
        return [self.run(run_id) for run_id in self._ids]

    def run(self, run_id: str) -> Run:
        if run_id not in self._ids:
            self.refresh()
        try:
            index = self._ids.index(run_id)
        except ValueError:
            raise KeyError(run_id) from None
        return load_run(run_id, self.folders[index])

    def traces(self) -> list[SavedTrace]:
        return [SavedTrace(i, p) for i, p in zip(self._trace_ids, self.trace_files, strict=True)]

    def trace(self, trace_id: str) -> SavedTrace:
        if trace_id not in self._trace_ids:
            self.refresh()
        for saved in self.traces():
            if saved.id == trace_id:
                return saved
        raise KeyError(trace_id)


def _merged(known: list[Path], found: list[Path]) -> list[Path]:
    """``known`` that still exist, in their order, then what is new in ``found``."""
    present = set(found)
    out = [p for p in known if p in present]
    seen = set(out)
    out += [p for p in dict.fromkeys(found) if p not in seen]
    return out


def _scan_dir(root: Path) -> tuple[list[Path], list[Path]]:
    """(run folders, saved traces) below ``root``: a run folder holds a results.jsonl and is
    not searched further; a saved trace is a ``*.json`` file outside run folders whose first
    bytes look like a trace (an object with a ``question``)."""
    folders: list[Path] = []
    traces: list[Path] = []
    for current, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(current)
        if RESULTS_FILE in files:
            folders.append(here)
            dirs[:] = []
            continue
        for name in sorted(files):
            if name.endswith(".json") and _looks_like_trace(here / name):
                traces.append(here / name)
    return folders, traces


def _looks_like_trace(path: Path) -> bool:
    try:
        if not path.is_file():  # a FIFO would block the read
            return False
        with path.open("rb") as handle:
            head = handle.read(200)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"question"' in head


def _unique_ids(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        base = slug(name)
        candidate, n = base, 2
        while candidate in out:
            candidate, n = f"{base}-{n}", n + 1
        out.append(candidate)
    return out


def load_run(run_id: str, path: Path) -> Run:
    """Read one run folder: run.json, its rows (latest wins) and summary.json when written."""
    folder = RunFolder(path)
    problems: list[str] = []
    info = _attempt(folder.read_info, problems) or {}
    unreadable: list[int] = []
    rows = _attempt(lambda: folder.rows(unreadable=unreadable), problems) or []
    if unreadable:
        shown = ", ".join(str(n) for n in unreadable[:10]) + (", ..." * (len(unreadable) > 10))
        problems.append(
            f"{len(unreadable)} unreadable line{'s' * (len(unreadable) != 1)} in "
            f"{RESULTS_FILE} (line {shown}): not shown and not counted"
        )
    summary = _attempt(lambda: load_summary(folder), problems)
    first = rows[0] if rows else None
    dataset = str(info.get("dataset") or (first.dataset if first else "?"))
    if summary is not None:
        headline: str | None = summary.headline
        groups = [_with_cached_calls(g, rows) for g in summary.groups]
        comparisons = summary.comparisons
    else:
        headline = headline_metric(m for r in rows for m in r.scores)
        groups, comparisons = summarise_rows(rows), []
    return Run(
        id=run_id,
        folder=folder,
        name=path.name,
        dataset=dataset,
        subset=info.get("subset", first.subset if first else None),
        split=info.get("split", first.split if first else None),
        seed=info.get("seed", first.seed if first else None),
        rows=rows,
        headline=headline,
        groups=groups,
        comparisons=comparisons,
        wall_s=summary.wall_s if summary is not None else None,
        started_at=_number(info.get("started_at")),
        finished=summary is not None,
        problems=problems,
        unreadable_lines=unreadable,
        info=info,
    )


def _held_by_live_process(folder: Path) -> bool:
    """Whether the PID a run writes into its folder's lock file (emptied when the run ends)
    is a live process. Read only: the viewer never takes the lock."""
    try:
        text = (folder / LOCK_FILE).read_text(encoding="ascii", errors="replace").strip()
        pid = int(text)
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


def _attempt(read: Callable[[], T], problems: list[str]) -> T | None:
    """``read()``, or None with its error added to ``problems`` when the file cannot be read:
    one damaged file shows as a note on its run, never as an error page for every run."""
    try:
        return read()
    except ConfigError as exc:
        problems.append(str(exc))
    except OSError as exc:
        problems.append(f"{getattr(exc, 'filename', None) or 'a file'}: {exc.strerror or exc}")
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _with_cached_calls(group: GroupSummary, rows: Sequence[ResultRow]) -> GroupSummary:
    """``group`` as read from a summary.json written before groups counted their cached
    calls: counted from the rows instead."""
    if "cached_calls" in group.usage.model_fields_set:
        return group
    mine = [r for r in rows if (r.strategy, r.model) == (group.strategy, group.model)]
    usage = group.usage.model_copy(update={"cached_calls": sum(r.usage.cached_calls for r in mine)})
    return group.model_copy(update={"usage": usage})


def summarise_rows(rows: Sequence[ResultRow]) -> list[GroupSummary]:
    """Groups of a run that has not written summary.json yet (still running, or killed):
    each metric's mean with a bootstrap interval, the summary's own estimate (a failed item
    without a metric counts as a miss)."""
    groups = []
    for (strategy, model), members in group_rows(rows).items():
        names = list(dict.fromkeys(m for r in members for m in r.scores))
        metrics = {name: estimate(members, name) for name in names}
        groups.append(group_summary(strategy, model, members, metrics))
    return groups
