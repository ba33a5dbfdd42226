"""One table over result folders, in the layout of the AGoT paper's results table.

Rows are strategies (x model), columns data sets; each cell holds the data set's headline
metric with its bootstrap 95% interval and the mean token cost per item. Everything is
recomputed from ``results.jsonl`` (not copied from ``summary.json``), so folders written by
different runs, or resumed ones, combine consistently, and the interval uses one fixed seed.
A cell's value, interval and ``n`` are :func:`agot.evals.summary.estimate`'s, the estimate
``agot eval`` prints, so the two agree on one folder.

Conventions, so a cell means the same thing everywhere:

* within a folder the latest row wins (:func:`agot.evals.run_folder.latest_rows`);
* folders that measured the same setup (data set, strategy and model) stay apart: each gets
  its own row, named by its folder, so two runs of one setup are never silently folded into
  one number; a folder of runs (``runs/``) counts as the run folders below it.
  ``merge=True`` (``--merge``) folds them instead, the folder given last winning
  for items both hold;
* tokens are the tokens paid for; calls answered from the cache cost none and are counted
  apart (``cached_calls``);
* an item that failed (``error`` set) without the metric counts as 0 (a failure is a miss);
  an item without the metric and without an error (e.g. a failed judge call) is left out,
  and ``n`` says how many items the cell covers (the one missing-score rule,
  :func:`agot.evals.scorers.base.item_score`);
* a metric is a mean over items, except a corpus statistic (macro-F1, ECE, MuSiQue's paired
  groups): it is computed by the scorer the run recorded in ``run.json``, rebuilt
  (:meth:`Scorer.from_description`), so its number is the one ``agot eval`` printed;
* the headline metric of a data set is the first of ``HEADLINE_ORDER`` its rows carry
  (:func:`agot.evals.run_folder.headline_metric`), unless ``metric=`` names one.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agot.errors import ConfigError
from agot.evals.run_folder import (
    RESULTS_FILE,
    ResultRow,
    RunFolder,
    find_results,
    headline_metric,
    latest_rows,
    read_results,
)
from agot.evals.scorers.base import Scorer
from agot.evals.summary import estimate
from agot.types import Usage

#: Row order of well-known strategies (the paper's table reads baselines first, AGoT last).
STRATEGY_ORDER = ("direct", "cot", "sc", "self_consistency", "tot", "got", "kairanban", "agot")


class Cell(BaseModel):
    """One strategy x model x data set: the headline metric and what it cost per item."""

    dataset: str
    metric: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    errors: int = 0
    stopped: int = 0
    tokens_per_item: float | None = None
    cost_per_item: float | None = None
    calls: int = 0
    cached_calls: int = 0
    #: Requests the server received whose reply was abandoned (Usage.cancelled).
    cancelled: int = 0
    #: Share of prompt tokens the provider served from its prompt cache (None: none reported).
    cached_prompt_share: float | None = None


class ReportRow(BaseModel):
    strategy: str
    model: str
    #: The folder this row comes from, when another folder measured the same setup.
    run: str | None = None
    cells: dict[str, Cell] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.strategy if self.run is None else f"{self.strategy} [{self.run}]"


class Report(BaseModel):
    """The whole table, plus judge-vs-EM agreement where rows carry both."""

    datasets: list[str]
    metrics: dict[str, str]
    rows: list[ReportRow]
    sources: list[str]
    seed: int
    agreement: dict[str, dict[str, Any]] = Field(default_factory=dict)


# -- reading ----------------------------------------------------------------------------------
def read_rows(source: str | os.PathLike[str]) -> list[ResultRow]:
    """Every row of the run folders ``source`` names (see :func:`run_folder.find_results`)."""
    return [row for file in find_results(source) for row in read_results(file)]


# -- computing --------------------------------------------------------------------------------
def make_cell(
    dataset: str,
    metric: str,
    rows: Sequence[ResultRow],
    seed: int,
    resamples: int,
    scorer: Scorer | None = None,
) -> Cell:
    found = estimate(rows, metric, scorer=scorer, resamples=resamples, seed=seed)
    usage = Usage.total(r.usage for r in rows)
    return Cell(
        dataset=dataset,
        metric=metric,
        value=found.value,
        low=found.low,
        high=found.high,
        n=found.n,
        errors=sum(1 for r in rows if r.error),
        stopped=sum(1 for r in rows if r.stopped),
        tokens_per_item=usage.total_tokens / len(rows) if rows else None,
        cost_per_item=usage.cost / len(rows) if rows else None,
        calls=usage.calls,
        cached_calls=usage.cached_calls,
        cancelled=usage.cancelled,
        cached_prompt_share=usage.cached_share,
    )


def _strategy_key(strategy: str, first_seen: int) -> tuple[int, int]:
    key = strategy.lower()
    rank = STRATEGY_ORDER.index(key) if key in STRATEGY_ORDER else len(STRATEGY_ORDER)
    return rank, first_seen


def build_report(
    folders: Sequence[str | os.PathLike[str]],
    *,
    metric: str | None = None,
    seed: int = 0,
    resamples: int = 2000,
    merge: bool = False,
) -> Report:
    """Read every folder and compute the table (see the module docstring for the rules)."""
    if not folders:
        raise ConfigError("agot report needs at least one results folder")
    # A folder of runs (``runs/``) is read as the run folders below it, each its own source,
    # so same-setup runs there keep a row each, as named folders do (#31 item 8).
    runs = [file for f in folders for file in find_results(f)]
    labelled = _labelled(runs)
    per_folder = [(label, latest_rows(read_results(f))) for label, f in labelled]
    tagged: list[tuple[str | None, ResultRow]]
    if merge:
        tagged = [(None, row) for row in latest_rows(r for _, rows in per_folder for r in rows)]
    else:
        owners: dict[tuple[str, str, str], set[str]] = {}
        for label, rows in per_folder:
            for row in rows:
                owners.setdefault((row.dataset_label, row.strategy, row.model), set()).add(label)
        tagged = [
            (label if len(owners[(r.dataset_label, r.strategy, r.model)]) > 1 else None, r)
            for label, rows in per_folder
            for r in rows
        ]
    if not tagged:
        raise ConfigError("the results folders hold no rows yet: run 'agot eval' first")

    datasets: list[str] = []
    order: dict[tuple[str, str, str | None], int] = {}
    for run, row in tagged:
        if row.dataset_label not in datasets:
            datasets.append(row.dataset_label)
        order.setdefault((row.strategy, row.model, run), len(order))

    corpus = _corpus_metrics([f for _, f in labelled], per_folder)
    metrics: dict[str, str] = {}
    for label in datasets:
        scored = [name for _, r in tagged if r.dataset_label == label for name in r.scores]
        if metric is not None:  # a corpus statistic is never a row's score
            scored += [name for (where, name) in corpus if where == label]
        chosen = headline_metric(scored, metric)
        if chosen is not None:
            metrics[label] = chosen
    if metric is not None and not metrics:
        raise ConfigError(f"no result row has the metric {metric!r}")

    report_rows = []
    for strategy, model, run in sorted(order, key=lambda k: _strategy_key(k[0], order[k])):
        entry = ReportRow(strategy=strategy, model=model, run=run)
        for label, name in metrics.items():
            mine = [
                r
                for tag, r in tagged
                if tag == run
                and r.dataset_label == label
                and r.strategy == strategy
                and r.model == model
            ]
            if mine:
                scorer = corpus.get((label, name))
                entry.cells[label] = make_cell(label, name, mine, seed, resamples, scorer)
        report_rows.append(entry)

    return Report(
        datasets=[d for d in datasets if d in metrics],
        metrics=metrics,
        rows=report_rows,
        sources=[str(Path(f)) for f in folders],
        seed=seed,
        agreement=_agreements([r for _, r in tagged]),
    )


def _corpus_metrics(
    runs: Sequence[Path], per_folder: Sequence[tuple[str, Sequence[ResultRow]]]
) -> dict[tuple[str, str], Scorer]:
    """(dataset label, metric) -> the scorer that computes that corpus metric, rebuilt from
    each run's run.json (a run folder without one, or a scorer that no longer loads, only
    loses its corpus metrics)."""
    from agot.evals.scorers import SCORERS

    found: dict[tuple[str, str], Scorer] = {}
    for file, (_, rows) in zip(runs, per_folder, strict=True):
        labels = {row.dataset_label for row in rows}
        try:
            info = RunFolder(file.parent if file.name == RESULTS_FILE else file).read_info()
            recorded = list((info or {}).get("scorers") or [])
        except Exception:  # an unreadable run.json: no corpus metric
            recorded = []
        for described in recorded:
            try:
                factory = SCORERS.get(str(described.get("name")))
                if not (isinstance(factory, type) and issubclass(factory, Scorer)):
                    continue
                scorer = factory.from_description(described)
            except Exception:  # an old or foreign run.json: no corpus metric
                continue
            for metric in scorer.corpus:
                for label in labels:
                    found.setdefault((label, metric.name), scorer)
    return found


def _labelled(folders: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    """Each run's results file with a short unique name (its folder's name, or its
    parent/name when two folders share a name)."""
    files = [Path(f).expanduser() for f in dict.fromkeys(folders)]
    paths = [f.parent if f.name == RESULTS_FILE else f for f in files]
    names = [p.name or str(p) for p in paths]
    out = []
    for path, name, file in zip(paths, names, files, strict=True):
        if names.count(name) > 1:
            name = f"{path.parent.name}/{name}"
        out.append((name, file))
    return out


def _agreements(rows: Sequence[ResultRow]) -> dict[str, dict[str, Any]]:
    """Judge-vs-EM agreement per dataset x strategy x model, where both metrics exist."""
    from agot.evals.judge import agreement

    groups: dict[str, list[ResultRow]] = {}
    for row in rows:
        if "judge" in row.scores and "em" in row.scores:
            key = f"{row.dataset_label} | {row.strategy} | {row.model}"
            groups.setdefault(key, []).append(row)
    return {key: agreement(group).model_dump(exclude={"examples"}) for key, group in groups.items()}


# -- rendering --------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _tokens_text(tokens: float | None) -> str:
    if tokens is None:
        return ""
    return f"{tokens / 1000:.1f}k tok" if tokens >= 1000 else f"{tokens:.0f} tok"


def cell_text(cell: Cell | None) -> str:
    """``62.0 (52.0–71.0) · 1.2k tok`` (· cost per item when there was a cost)."""
    if cell is None:
        return "—"
    text = _pct(cell.value)
    if cell.low is not None and cell.high is not None:
        text += f" ({_pct(cell.low)}–{_pct(cell.high)})"
    tokens = _tokens_text(cell.tokens_per_item)
    if tokens:
        text += f" · {tokens}"
    if cell.cost_per_item:
        text += f" · ${cell.cost_per_item:.4f}"
    if cell.cached_calls:
        text += f" · {cell.cached_calls}/{cell.calls} calls cached"
    if cell.cancelled:
        text += f" · +{cell.cancelled} requests cancelled in flight"
    if cell.cached_prompt_share is not None:
        text += f" · {cell.cached_prompt_share:.0%} of prompt tokens from the provider's cache"
    return text


def to_markdown(report: Report) -> str:
    header = ["Strategy", "Model", *(f"{d} ({report.metrics[d]})" for d in report.datasets)]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---", "---"] + ["---:"] * len(report.datasets)) + " |",
    ]
    for row in report.rows:
        cells = [cell_text(row.cells.get(d)) for d in report.datasets]
        lines.append("| " + " | ".join([row.label, row.model, *cells]) + " |")
    counts = sorted({c.n for row in report.rows for c in row.cells.values()})
    apart = [row for row in report.rows if row.run is not None]
    notes = []
    if apart:
        notes = [
            "",
            "Rows marked [folder] are runs of the same setup kept apart (pass --merge to fold "
            "them into one row, the folder given last winning for shared items).",
        ]
    lines += [
        "",
        "Cells: headline metric in % with its bootstrap 95% interval (seed "
        f"{report.seed}), then mean paid tokens per item (prompt + completion; calls answered "
        f"from the cache cost none and are counted apart) and, where the backend reported "
        f"one, mean cost per item. Items per cell: "
        f"{', '.join(str(n) for n in counts) or 'none'}. Sources: {', '.join(report.sources)}.",
    ]
    lines += notes
    troubled = [
        f"{row.label}/{row.model} on {cell.dataset}: {cell.errors} failed, "
        f"{cell.stopped} stopped by a budget"
        for row in report.rows
        for cell in row.cells.values()
        if cell.errors or cell.stopped
    ]
    if troubled:
        lines += ["", "Items that failed (scored 0) or were cut short by a budget:"]
        lines += [f"- {text}" for text in troubled]
    if report.agreement:
        lines += [
            "",
            "Judge vs EM agreement (items: both right / both wrong / judge only / EM only):",
        ]
        for key, stats in report.agreement.items():
            share = "n/a" if stats["agreement"] is None else f"{100 * stats['agreement']:.1f}%"
            lines.append(
                f"- {key}: {stats['both_true']} / {stats['both_false']} / "
                f"{stats['judge_only']} / {stats['em_only']} (agree {share})"
            )
    return "\n".join(lines) + "\n"


def _number(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(report: Report) -> str:
    """The same table for machines: per data set the value, interval, n and cost columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = (
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "errors",
        "stopped",
        "tokens_per_item",
        "cost_per_item",
        "calls",
        "cached_calls",
        "cancelled",
    )
    writer.writerow(
        ["strategy", "model", "run", *(f"{d}:{f}" for d in report.datasets for f in fields)]
    )
    for row in report.rows:
        out: list[str] = [row.strategy, row.model, row.run or ""]
        for dataset in report.datasets:
            cell = row.cells.get(dataset)
            if cell is None:
                out += [report.metrics[dataset]] + [""] * (len(fields) - 1)
                continue
            out += [
                cell.metric,
                _number(cell.value),
                _number(cell.low),
                _number(cell.high),
                str(cell.n),
                str(cell.errors),
                str(cell.stopped),
                _number(cell.tokens_per_item, 1),
                _number(cell.cost_per_item, 6),
                str(cell.calls),
                str(cell.cached_calls),
                str(cell.cancelled),
            ]
        writer.writerow(out)
    return buffer.getvalue()


def write_report(report: Report, out: str | os.PathLike[str]) -> list[Path]:
    """Write Markdown and CSV: ``X.md``/``X.csv`` beside each other, or into folder ``out``."""
    target = Path(out).expanduser()
    if target.suffix.lower() in (".md", ".csv"):
        md, csv_path = target.with_suffix(".md"), target.with_suffix(".csv")
    else:
        md, csv_path = target / "report.md", target / "report.csv"
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(to_markdown(report), encoding="utf-8")
    csv_path.write_text(to_csv(report), encoding="utf-8")
    return [md, csv_path]
