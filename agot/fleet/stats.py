"""Per-endpoint figures of a run: calls served, latency percentiles, failures.

An eval keeps, in each result row, the latencies of the calls each endpoint served and the
failures it had (:func:`endpoint_calls`, from the item's trace events), so the summary can be
recomputed from ``results.jsonl`` alone like every other figure (:func:`endpoint_stats`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from agot.percentile import percentile
from agot.text import columns, number
from agot.trace import TraceEvent


class EndpointStat(BaseModel):
    """One endpoint over a run (or a group of rows)."""

    endpoint: str = Field(description="the replica's name")
    calls: int = Field(description="calls it served plus attempts it failed")
    errors: int = Field(description="attempts it failed")
    latency_p50_s: float | None = Field(None, description="median seconds of the calls it served")
    latency_p95_s: float | None = Field(None, description="95th percentile of the same")
    latency_p99_s: float | None = Field(None, description="99th percentile of the same")


def endpoint_calls(events: Iterable[TraceEvent]) -> dict[str, dict[str, Any]]:
    """``{endpoint: {"latency_s": [...], "errors": n}}`` for the events of one item.

    A call served by an endpoint adds its duration there (``error`` set: an error instead);
    each endpoint that failed an attempt before the call was served elsewhere adds an error.
    Events without an endpoint (single-endpoint runs, cached replies) are left out.
    """
    out: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return out.setdefault(name, {"latency_s": [], "errors": 0})

    for event in events:
        for name in event.failed_endpoints:
            entry(name)["errors"] += 1
        if event.endpoint is None or event.cached:
            continue
        if event.error is None:
            entry(event.endpoint)["latency_s"].append(round(event.duration, 4))
        elif event.endpoint not in event.failed_endpoints:
            entry(event.endpoint)["errors"] += 1
    return out


def endpoint_stats(per_item: Iterable[Mapping[str, Any]]) -> list[EndpointStat]:
    """Aggregate :func:`endpoint_calls` dicts (one per item) into one line per endpoint."""
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for item in per_item:
        for name, data in item.items():
            latencies.setdefault(name, []).extend(float(x) for x in data.get("latency_s", []))
            errors[name] = errors.get(name, 0) + int(data.get("errors", 0))
    out = []
    for name in sorted(latencies):
        ordered = sorted(latencies[name])
        out.append(
            EndpointStat(
                endpoint=name,
                calls=len(ordered) + errors[name],
                errors=errors[name],
                latency_p50_s=percentile(ordered, 50),
                latency_p95_s=percentile(ordered, 95),
                latency_p99_s=percentile(ordered, 99),
            )
        )
    return out


def endpoint_table(stats: Sequence[EndpointStat]) -> list[str]:
    """Printed lines: one per endpoint (empty when the run had a single endpoint)."""
    if not stats:
        return []

    header = ["endpoint", "calls", "errors", "p50 s", "p95 s", "p99 s"]
    rows = [header] + [
        [
            s.endpoint,
            str(s.calls),
            str(s.errors),
            number(s.latency_p50_s, 2),
            number(s.latency_p95_s, 2),
            number(s.latency_p99_s, 2),
        ]
        for s in stats
    ]
    return columns(rows)
