"""What the viewer shows, read from disk through the run-folder module only.

A :class:`Catalog` is built from the paths a user passes (``agot view DIR ...``): a run folder,
a folder holding many run folders, a ``results.jsonl``, or a saved trace (``agot solve
--trace``). Runs are re-read on every request (a run still in progress shows its latest rows);
nothing here writes. Text is shown as stored: redaction happened before the run wrote it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agot.errors import ConfigError
from agot.evals.run_folder import (
    RESULTS_FILE,
    ResultRow,
    RunFolder,
    find_results,
    headline_metric,
    slug,
)
from agot.fleet.stats import EndpointStat, endpoint_stats


@dataclass
class Estimate:
    """A metric value with its bootstrap 95% interval (as summary.json stores it)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0

    def text(self, digits: int = 3) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass
class Group:
    """One strategy x model of a run: its numbers over the run's items."""

    strategy: str
    model: str
    n: int
    metrics: dict[str, Estimate]
    errors: int = 0
    stopped: int = 0
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None

    @property
    def label(self) -> str:
        return f"{self.strategy} @ {self.model}"

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_per_item(self) -> float:
        return self.tokens / self.n if self.n else 0.0


@dataclass
class Comparison:
    """A paired comparison of two groups on the headline metric (from summary.json)."""

    a: str
    b: str
    metric: str
    n: int
    difference: Estimate
    wins: int
    losses: int
    ties: int
    p: float | None


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
    groups: list[Group]
    comparisons: list[Comparison] = field(default_factory=list)
    wall_s: float | None = None
    started_at: float | None = None
    finished: bool = False

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
    def calls(self) -> int:
        return sum(r.usage.calls for r in self.rows)

    @property
    def endpoints(self) -> list[EndpointStat]:
        """Per endpoint of a model served by several replicas (empty otherwise)."""
        per_item = (r.details.get("endpoints") for r in self.rows)
        return endpoint_stats(d for d in per_item if isinstance(d, dict))

    @property
    def cached_calls(self) -> int:
        return sum(r.usage.cached_calls for r in self.rows)

    @property
    def tokens(self) -> int:
        return sum(r.usage.prompt_tokens + r.usage.completion_tokens for r in self.rows)

    @property
    def cost(self) -> float:
        return sum(r.usage.cost for r in self.rows)

    @property
    def dataset_label(self) -> str:
        return f"{self.dataset}/{self.subset}" if self.subset else self.dataset

    def score(self, row: ResultRow) -> float | None:
        """The row's headline score (None when it has none)."""
        if self.headline is None:
            return None
        value = row.scores.get(self.headline)
        if value is None and row.error:
            return 0.0  # a failure counts as a miss, as in the summary
        return value

    def trace(self, row: ResultRow) -> dict[str, Any] | None:
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
    """The runs and traces under the paths given to ``agot view``."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        if not paths:
            raise ConfigError("agot view needs at least one run folder or trace file")
        self.folders: list[Path] = []
        self.trace_files: list[Path] = []
        for raw in paths:
            path = Path(raw).expanduser()
            if not path.exists():
                raise ConfigError(f"{str(raw)!r} does not exist: pass eval folders or trace files")
            if path.is_file() and path.name != RESULTS_FILE:
                self.trace_files.append(path)
                continue
            if path.is_dir() and not any(path.rglob(RESULTS_FILE)):
                found = _trace_files(path, [])
                if not found:
                    raise ConfigError(
                        f"no {RESULTS_FILE} or trace files in {str(raw)!r}: pass folders "
                        "written by 'agot eval --out DIR' or files by 'agot solve --trace'"
                    )
                self.trace_files += [f for f in found if f not in self.trace_files]
                continue
            for results in find_results(path):
                if results.parent not in self.folders:
                    self.folders.append(results.parent)
            if path.is_dir():
                found = _trace_files(path, self.folders)
                self.trace_files += [f for f in found if f not in self.trace_files]
        self._ids = _unique_ids([f.name for f in self.folders])
        self._trace_ids = _unique_ids([f.stem for f in self.trace_files])

    def run_ids(self) -> list[str]:
        return list(self._ids)

    def runs(self) -> list[Run]:
        return [self.run(run_id) for run_id in self._ids]

    def run(self, run_id: str) -> Run:
        try:
            index = self._ids.index(run_id)
        except ValueError:
            raise KeyError(run_id) from None
        return load_run(run_id, self.folders[index])

    def traces(self) -> list[SavedTrace]:
        return [SavedTrace(i, p) for i, p in zip(self._trace_ids, self.trace_files, strict=True)]

    def trace(self, trace_id: str) -> SavedTrace:
        for saved in self.traces():
            if saved.id == trace_id:
                return saved
        raise KeyError(trace_id)


def _trace_files(root: Path, run_folders: Sequence[Path]) -> list[Path]:
    """Saved traces below ``root`` that are not part of a run folder (``*.json`` files whose
    first bytes look like a trace: an object with a ``question``)."""
    out = []
    for path in sorted(root.rglob("*.json")):
        if any(folder == path.parent or folder in path.parents for folder in run_folders):
            continue
        try:
            with path.open("rb") as handle:
                head = handle.read(200)
        except OSError:
            continue
        if head.lstrip().startswith(b"{") and b'"question"' in head:
            out.append(path)
    return out


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
    info = folder.read_info() or {}
    rows = folder.rows()
    summary = folder.read_summary()
    first = rows[0] if rows else None
    dataset = info.get("dataset") or (first.dataset if first else "?")
    if summary is not None:
        headline = summary.get("headline")
        groups = [_group_from_summary(g, rows) for g in summary.get("groups", [])]
        comparisons = [_comparison(c) for c in summary.get("comparisons", [])]
    else:
        headline = headline_metric(m for r in rows for m in r.scores)
        groups, comparisons = summarise_rows(rows, headline), []
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
        wall_s=(summary or {}).get("wall_s"),
        started_at=info.get("started_at"),
        finished=summary is not None,
    )


def _estimate(data: dict[str, Any] | None) -> Estimate:
    data = data or {}
    return Estimate(data.get("value"), data.get("low"), data.get("high"), data.get("n", 0))


def _group_from_summary(data: dict[str, Any], rows: Sequence[ResultRow]) -> Group:
    mine = [r for r in rows if r.strategy == data["strategy"] and r.model == data["model"]]
    return Group(
        strategy=data["strategy"],
        model=data["model"],
        n=data.get("n", len(mine)),
        metrics={k: _estimate(v) for k, v in (data.get("metrics") or {}).items()},
        errors=data.get("errors", 0),
        stopped=data.get("stopped", 0),
        calls=data.get("calls", 0),
        cached_calls=sum(r.usage.cached_calls for r in mine),
        prompt_tokens=data.get("prompt_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
        cost=data.get("cost", 0.0),
        latency_p50_s=data.get("latency_p50_s"),
        latency_p95_s=data.get("latency_p95_s"),
    )


def _comparison(data: dict[str, Any]) -> Comparison:
    return Comparison(
        a=data["a"],
        b=data["b"],
        metric=data.get("metric", ""),
        n=data.get("n", 0),
        difference=_estimate(data.get("difference")),
        wins=data.get("wins", 0),
        losses=data.get("losses", 0),
        ties=data.get("ties", 0),
        p=data.get("sign_test_p"),
    )


def summarise_rows(rows: Sequence[ResultRow], headline: str | None) -> list[Group]:
    """Groups of a run that has not written summary.json yet (still running, or killed):
    each metric's mean with a bootstrap interval, the same estimator the summary uses."""
    from agot.evals.stats import bootstrap_mean, percentile

    by_group: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        by_group.setdefault((row.strategy, row.model), []).append(row)
    groups = []
    for (strategy, model), members in by_group.items():
        names = list(dict.fromkeys(m for r in members for m in r.scores))
        metrics = {}
        for name in names:
            values = [r.scores[name] for r in members if name in r.scores]
            if name == headline:
                values += [0.0 for r in members if name not in r.scores and r.error]
            est = bootstrap_mean(values)
            metrics[name] = Estimate(est.value, est.low, est.high, est.n)
        latencies = [r.latency_s for r in members]
        groups.append(
            Group(
                strategy=strategy,
                model=model,
                n=len(members),
                metrics=metrics,
                errors=sum(1 for r in members if r.error),
                stopped=sum(1 for r in members if r.stopped),
                calls=sum(r.usage.calls for r in members),
                cached_calls=sum(r.usage.cached_calls for r in members),
                prompt_tokens=sum(r.usage.prompt_tokens for r in members),
                completion_tokens=sum(r.usage.completion_tokens for r in members),
                cost=sum(r.usage.cost for r in members),
                latency_p50_s=percentile(latencies, 50),
                latency_p95_s=percentile(latencies, 95),
            )
        )
    return groups
