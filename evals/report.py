"""One table over result folders, in the layout of the AGoT paper's results table.

Rows are strategies (x model), columns data sets; each cell holds the data set's headline
metric with its bootstrap 95% interval and the mean token cost per item. Everything is
recomputed from ``results.jsonl`` (not copied from ``summary.json``), so folders written by
different runs, or resumed ones, combine consistently, and the interval uses one fixed seed.

Conventions, so a cell means the same thing everywhere:

* one row per (dataset, subset, id, strategy, model); when folders repeat an item, the row
  read last wins (folders are read in the order given, lines in file order);
* an item that failed (``error`` set) without the metric counts as 0 (a failure is a miss);
  an item without the metric and without an error (e.g. a failed judge call) is left out,
  and ``n`` says how many items the cell covers;
* the headline metric of a data set is the first of :data:`HEADLINE_ORDER` its rows carry
  (``judge`` first: the paper's QA metric), unless ``metric=`` names one.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agot.errors import ConfigError

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"

#: Which metric heads a data set's column, first match wins.
HEADLINE_ORDER = (
    "judge",
    "accuracy",
    "success",
    "word_acc",
    "macro_f1",
    "loose_acc",
    "em",
    "f1",
)

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


class ReportRow(BaseModel):
    strategy: str
    model: str
    cells: dict[str, Cell] = Field(default_factory=dict)


class Report(BaseModel):
    """The whole table, plus judge-vs-EM agreement where rows carry both."""

    datasets: list[str]
    metrics: dict[str, str]
    rows: list[ReportRow]
    sources: list[str]
    seed: int
    agreement: dict[str, dict[str, Any]] = Field(default_factory=dict)


# -- reading ----------------------------------------------------------------------------------
def read_rows(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of ``folder/results.jsonl`` as dicts (a torn last line, from a kill, is skipped)."""
    path = Path(folder).expanduser()
    file = path / RESULTS_FILE if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(
            f"no {RESULTS_FILE} in {str(path)!r}: pass folders written by 'agot eval --out DIR'"
        )
    lines = file.read_text(encoding="utf-8").split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # torn final line without its newline
                break
            raise ConfigError(
                f"{file}:{number} is not valid JSON; fix or delete that line"
            ) from None
        if not isinstance(row, dict) or not {"id", "strategy", "scores"} <= row.keys():
            raise ConfigError(
                f"{file}:{number} is not a result row (needs at least id, strategy, scores)"
            )
        rows.append(row)
    return rows


def read_summary(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``summary.json`` of ``folder`` ({} when absent or unreadable: it is optional here)."""
    try:
        data = json.loads((Path(folder).expanduser() / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def dataset_label(row: Mapping[str, Any]) -> str:
    dataset = str(row.get("dataset") or "unknown")
    subset = row.get("subset")
    return f"{dataset}/{subset}" if subset else dataset


def _latest(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    keyed: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}
    for row in rows:
        key = (dataset_label(row), str(row["id"]), str(row["strategy"]), str(row.get("model")))
        keyed.pop(key, None)  # re-insert so the order follows the winning row
        keyed[key] = row
    return list(keyed.values())


# -- computing --------------------------------------------------------------------------------
def _bootstrap(values: Sequence[float], seed: int, resamples: int) -> tuple[float, float, float]:
    """Mean and percentile 95% interval; :mod:`agot.evals.stats` when numpy is there."""
    try:
        from agot.evals.stats import bootstrap_mean
    except ImportError:  # the evals extra (numpy) is missing: a small pure-Python fallback
        return _bootstrap_plain(values, seed, resamples)
    estimate = bootstrap_mean(values, resamples=resamples, seed=seed)
    assert estimate.value is not None and estimate.low is not None and estimate.high is not None
    return estimate.value, estimate.low, estimate.high


def _bootstrap_plain(
    values: Sequence[float], seed: int, resamples: int
) -> tuple[float, float, float]:
    import random

    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    low = means[int(0.025 * (resamples - 1))]
    high = means[round(0.975 * (resamples - 1))]
    return sum(values) / n, low, high


def headline_metric(rows: Sequence[Mapping[str, Any]], forced: str | None = None) -> str | None:
    """The metric that heads a data set's column (see :data:`HEADLINE_ORDER`)."""
    seen: list[str] = []
    for row in rows:
        for name in row.get("scores") or {}:
            if name not in seen:
                seen.append(name)
    if forced is not None:
        return forced if forced in seen else None
    for name in HEADLINE_ORDER:
        if name in seen:
            return name
    return seen[0] if seen else None


def _tokens(row: Mapping[str, Any]) -> float:
    usage = row.get("usage") or {}
    return float(usage.get("prompt_tokens", 0) or 0) + float(usage.get("completion_tokens", 0) or 0)


def _cost(row: Mapping[str, Any]) -> float:
    return float((row.get("usage") or {}).get("cost", 0) or 0)


def make_cell(
    dataset: str, metric: str, rows: Sequence[Mapping[str, Any]], seed: int, resamples: int
) -> Cell:
    values: list[float] = []
    errors = stopped = 0
    for row in rows:
        errors += bool(row.get("error"))
        stopped += bool(row.get("stopped"))
        score = (row.get("scores") or {}).get(metric)
        if score is None:
            if row.get("error"):
                values.append(0.0)
            continue
        values.append(float(score))
    value: float | None = None
    low: float | None = None
    high: float | None = None
    if values:
        value, low, high = _bootstrap(values, seed, resamples)
    return Cell(
        dataset=dataset,
        metric=metric,
        value=value,
        low=low,
        high=high,
        n=len(values),
        errors=errors,
        stopped=stopped,
        tokens_per_item=sum(_tokens(r) for r in rows) / len(rows) if rows else None,
        cost_per_item=sum(_cost(r) for r in rows) / len(rows) if rows else None,
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
) -> Report:
    """Read every folder and compute the table (see the module docstring for the rules)."""
    if not folders:
        raise ConfigError("agot report needs at least one results folder")
    rows: list[dict[str, Any]] = []
    for folder in folders:
        rows.extend(read_rows(folder))
    rows_final = _latest(rows)
    if not rows_final:
        raise ConfigError("the results folders hold no rows yet: run 'agot eval' first")

    datasets: list[str] = []
    order: dict[tuple[str, str], int] = {}
    for row in rows_final:
        label = dataset_label(row)
        if label not in datasets:
            datasets.append(label)
        order.setdefault((str(row["strategy"]), str(row.get("model"))), len(order))

    metrics: dict[str, str] = {}
    for label in datasets:
        chosen = headline_metric([r for r in rows_final if dataset_label(r) == label], metric)
        if chosen is not None:
            metrics[label] = chosen
    if metric is not None and not metrics:
        raise ConfigError(f"no result row has the metric {metric!r}")

    report_rows = []
    for strategy, model in sorted(order, key=lambda k: _strategy_key(k[0], order[k])):
        entry = ReportRow(strategy=strategy, model=model)
        for label, name in metrics.items():
            mine = [
                r
                for r in rows_final
                if dataset_label(r) == label
                and str(r["strategy"]) == strategy
                and str(r.get("model")) == model
            ]
            if mine:
                entry.cells[label] = make_cell(label, name, mine, seed, resamples)
        report_rows.append(entry)

    return Report(
        datasets=[d for d in datasets if d in metrics],
        metrics=metrics,
        rows=report_rows,
        sources=[str(Path(f)) for f in folders],
        seed=seed,
        agreement=_agreements(rows_final),
    )


def _agreements(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Judge-vs-EM agreement per dataset x strategy x model, where both metrics exist."""
    from agot.evals.judge import agreement

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        scores = row.get("scores") or {}
        if "judge" in scores and "em" in scores:
            key = f"{dataset_label(row)} | {row['strategy']} | {row.get('model')}"
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
    return text


def to_markdown(report: Report) -> str:
    header = ["Strategy", "Model", *(f"{d} ({report.metrics[d]})" for d in report.datasets)]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---", "---"] + ["---:"] * len(report.datasets)) + " |",
    ]
    for row in report.rows:
        cells = [cell_text(row.cells.get(d)) for d in report.datasets]
        lines.append("| " + " | ".join([row.strategy, row.model, *cells]) + " |")
    counts = sorted({c.n for row in report.rows for c in row.cells.values()})
    lines += [
        "",
        "Cells: headline metric in % with its bootstrap 95% interval (seed "
        f"{report.seed}), then mean tokens per item (prompt + completion) and, where the "
        f"backend reported one, mean cost per item. Items per cell: "
        f"{', '.join(str(n) for n in counts) or 'none'}. Sources: {', '.join(report.sources)}.",
    ]
    troubled = [
        f"{row.strategy}/{row.model} on {cell.dataset}: {cell.errors} failed, "
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
    )
    writer.writerow(["strategy", "model", *(f"{d}:{f}" for d in report.datasets for f in fields)])
    for row in report.rows:
        out: list[str] = [row.strategy, row.model]
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
