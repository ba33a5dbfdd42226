"""Eval runs as pandas DataFrames: load result folders and tabulate them (notebooks).

Why a separate module from :mod:`agot.evals.summary` and :mod:`agot.evals.report`: those
produce the fixed printed tables of a run; this one hands the rows to the user as a
``DataFrame`` to slice freely. The pictures drawn from these frames are in
:mod:`agot.evals.plots`.

Conventions (shared with :mod:`agot.evals.report`, so a number here matches the report):

* the latest row wins (:func:`agot.evals.run_folder.latest_rows`), within a file (resumed
  runs append) and across folders, the folder read last winning; the ``run`` column names the
  folder each row came from;
* an item that failed (``error`` set) without the metric counts as 0 (a failure is a miss); an
  item without the metric and without an error is left out, and ``n`` says how many counted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agot.errors import ConfigError
from agot.evals.run_folder import (
    ResultRow,
    find_results,
    headline_metric,
    latest_rows,
    read_results,
)

if TYPE_CHECKING:
    import pandas as pd

_USAGE = ("calls", "prompt_tokens", "completion_tokens", "cost", "cached_calls", "cancelled")


def load_runs(*sources: str | os.PathLike[str]) -> pd.DataFrame:
    """Rows of one or more eval output folders (or ``results.jsonl`` files) as a DataFrame.

    One row per item x strategy x model; ``scores`` and ``usage`` are flattened into
    ``scores.<metric>`` and ``usage.<field>`` columns (plus ``usage.total_tokens``); ``run`` is
    the folder's name and ``source`` the file read. A folder without ``results.jsonl`` directly
    inside is searched recursively.
    """
    import pandas as pd

    if not sources:
        raise ConfigError("load_runs needs at least one eval folder (agot eval --out DIR)")
    files = {}  # which file each row came from, for the run and source columns
    rows = []
    for source in sources:
        for file in find_results(source):
            for row in read_results(file):
                files[id(row)] = file
                rows.append(row)
    records: list[dict[str, Any]] = []
    for row in latest_rows(rows):
        file = files[id(row)]
        data = row.model_dump(mode="json")
        flat = {k: v for k, v in data.items() if k not in ("scores", "usage")}
        for metric, value in data["scores"].items():
            flat[f"scores.{metric}"] = value
        for name in _USAGE:
            flat[f"usage.{name}"] = data["usage"].get(name, 0)
        flat["usage.total_tokens"] = row.usage.total_tokens
        flat["run"] = file.parent.name
        flat["source"] = str(file)
        records.append(flat)
    return pd.DataFrame.from_records(records)


def metrics_of(frame: pd.DataFrame) -> list[str]:
    """Metric names present in ``frame`` (the ``scores.*`` columns, without the prefix)."""
    return [c.removeprefix("scores.") for c in frame.columns if c.startswith("scores.")]


def headline(frame: pd.DataFrame, metric: str | None = None) -> str:
    """``metric`` if given (checked), else the headline metric of the rows
    (:func:`agot.evals.run_folder.headline_metric`)."""
    present = metrics_of(frame)
    chosen = headline_metric(present, metric)
    if chosen is not None:
        return chosen
    if metric is not None:
        raise ConfigError(
            f"no metric {metric!r} in these runs: choose from {', '.join(present) or 'none'}"
        )
    raise ConfigError("these runs carry no scores: was a scorer configured?")


def metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """Per-row values of ``metric`` under the conventions above (NaN: left out)."""
    column = f"scores.{metric}"
    import pandas as pd

    if column in frame.columns:
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    else:
        values = pd.Series(math.nan, index=frame.index, dtype=float)
    if "error" in frame.columns:
        failed = frame["error"].notna() & values.isna()
        values = values.mask(failed, 0.0)
    return values


def summary_table(
    frame: pd.DataFrame,
    metric: str | None = None,
    *,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per strategy x model (x dataset when several): metric with its bootstrap CI,
    errors, tokens, cost and latency.

    Columns: ``n`` (items counted for the metric), ``<metric>``, ``ci_low``, ``ci_high``,
    ``<metric> (CI)`` (formatted), ``errors``, ``tokens/item``, ``cost``, ``cost/item``,
    ``latency mean s``, ``latency p50 s``.
    """
    import numpy as np
    import pandas as pd

    from agot.evals.stats import bootstrap_mean

    if frame.empty:
        raise ConfigError("no result rows to summarise")
    name = headline(frame, metric)
    if by is None:
        by = ["strategy", "model"]
        if "dataset" in frame.columns and frame["dataset"].nunique() > 1:
            by = ["dataset", *by]
    values = metric_values(frame, name)
    out = []
    for key, group in frame.groupby(list(by), sort=False, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        scored = values.loc[group.index].dropna().tolist()
        est = bootstrap_mean(scored, confidence=confidence, resamples=resamples, seed=seed)
        row: dict[str, Any] = dict(zip(by, keys, strict=True))
        row.update(
            {
                "n": est.n,
                name: est.value,
                "ci_low": est.low,
                "ci_high": est.high,
                f"{name} (CI)": est.format(),
                "errors": int(group["error"].notna().sum()) if "error" in group else 0,
                "tokens/item": float(group["usage.total_tokens"].mean()),
                "cost": float(group["usage.cost"].sum()),
                "cost/item": float(group["usage.cost"].mean()),
                "latency mean s": float(group["latency_s"].mean()),
                "latency p50 s": float(np.median(group["latency_s"])),
            }
        )
        out.append(row)
    return pd.DataFrame(out)


def paired_items(
    frame: pd.DataFrame,
    a: str,
    b: str,
    metric: str | None = None,
    *,
    model: str | None = None,
) -> pd.DataFrame:
    """Items scored under both strategies ``a`` and ``b`` (on ``model``, or the only model):
    columns ``id``, ``a``, ``b``, ``diff`` (a - b)."""
    import pandas as pd

    name = headline(frame, metric)
    rows = frame.assign(_value=metric_values(frame, name))
    if model is None:
        models = rows.loc[rows["strategy"].isin([a, b]), "model"].unique().tolist()
        if len(models) > 1:
            raise ConfigError(f"several models ({', '.join(models)}): pass model=")
    else:
        rows = rows[rows["model"] == model]
    picked = {}
    for strategy in (a, b):
        part = rows[rows["strategy"] == strategy]
        if part.empty:
            known = ", ".join(sorted(frame["strategy"].unique()))
            raise ConfigError(f"no rows for strategy {strategy!r}: choose from {known}")
        key = part["dataset"].astype(str) + "/" + part["id"].astype(str)
        picked[strategy] = pd.Series(part["_value"].to_numpy(), index=key)
    joined = pd.concat([picked[a].rename("a"), picked[b].rename("b")], axis=1, join="inner")
    joined = joined.dropna()
    joined["diff"] = joined["a"] - joined["b"]
    return joined.rename_axis("id").reset_index()


def as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise ConfigError(f"expected a mapping or a pydantic model, got {type(obj).__name__}")


def _trajectories(data: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """Normalise the accepted inputs of :func:`stage_frame` to (item name, stages) pairs."""
    if isinstance(data, Mapping | ResultRow) or hasattr(data, "trajectory"):
        data = [data]
    out = []
    for index, item in enumerate(data):
        name = str(index)
        if isinstance(item, ResultRow):  # an eval row: the runner keeps the stages in details
            name, item = item.id, {"trajectory": item.details.get("trajectory") or []}
        if hasattr(item, "trajectory"):
            stages = [as_dict(s) for s in item.trajectory]
        elif isinstance(item, Mapping) and "trajectory" in item:
            stages = [as_dict(s) for s in item["trajectory"]]
            name = str(item.get("id", name))
        elif isinstance(item, Mapping) and "stage" in item:
            stages = [dict(item)]  # a flat stage record; grouped below by its "item" key
            name = str(item.get("item", name))
        else:
            stages = [as_dict(s) for s in item]
        out.append((name, stages))
    return out


def stage_frame(data: Any) -> pd.DataFrame:
    """Per-stage entropy and variance as a DataFrame (columns ``item``, ``stage``, ``agent``,
    ``entropy``, ``variance``, ``after_idobata``).

    ``data``: a KairanbanResult, a list of them, eval result rows of a Kairanban strategy
    (:class:`~agot.evals.run_folder.ResultRow`), dicts from ``KairanbanResult.summary()``, or
    plain lists of stage dicts (one list per item).
    """
    import pandas as pd

    records = []
    for name, stages in _trajectories(data):
        for stage in stages:
            records.append(
                {
                    "item": stage.get("item", name),
                    "stage": int(stage["stage"]),
                    "agent": stage.get("agent"),
                    "entropy": stage.get("entropy"),
                    "variance": stage.get("variance"),
                    "after_idobata": bool(stage.get("after_idobata", False)),
                }
            )
    frame = pd.DataFrame.from_records(
        records, columns=["item", "stage", "agent", "entropy", "variance", "after_idobata"]
    )
    return frame.astype({"entropy": float, "variance": float})


def is_stage_frame(data: Any) -> bool:
    columns = getattr(data, "columns", None)
    return columns is not None and {"stage", "entropy", "variance"} <= set(columns)
