"""The run summary: per strategy x model, every metric with its bootstrap CI, plus costs.

It is computed from ``results.jsonl`` alone (whatever mix of first runs and resumes produced
it), so re-summarising a folder later gives the same numbers. Pairs of groups that share items
(two strategies on one model, or one strategy on two models) get a paired comparison on the
headline metric.

Every number a table shows about a metric comes from :func:`estimate` here: ``agot eval``'s
table, ``summary.json`` and ``agot report`` (:mod:`agot.evals.report`), with one rule for an
item without the metric (:func:`agot.evals.scorers.metrics.item_score`: a failed item counts 0,
any other is left out).

With an LLM judge beside EM (``--judge``), each group also gets the judge-vs-EM
:class:`~agot.evals.judge.Agreement` (how often they differ, with a few item ids and their
prediction/gold for each kind), so a user sees what the judge adds over string matching.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from agot.errors import ConfigError
from agot.evals.judge import Agreement, agreement
from agot.evals.presets import AppliedPreset
from agot.evals.run_folder import ResultRow, RunFolder, latest_rows
from agot.evals.scorers import Scorer
from agot.evals.scorers.metrics import Mean, item_score
from agot.evals.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Estimate,
    PairedComparison,
    paired_comparison,
)
from agot.fleet.stats import EndpointStat, endpoint_stats, endpoint_table
from agot.percentile import percentile
from agot.text import columns, number
from agot.types import Usage


class StageStat(BaseModel):
    """A Kairanban stage (after agent ``stage`` wrote), averaged over a group's items.

    ``mean_entropy``: mean Shannon entropy (nats) of the board after the stage;
    ``mean_variance``: mean disagreement of the agents so far (see
    :mod:`agot.kairanban.metrics`); ``after_idobata``: the agent had seen the idobata round.
    """

    stage: int
    n: int
    mean_entropy: float | None = None
    mean_variance: float | None = None
    after_idobata: bool = False


class GroupSummary(BaseModel):
    """One strategy on one model."""

    strategy: str
    model: str
    n: int
    metrics: dict[str, Estimate]
    unparsed: float | None = None
    errors: int = 0
    stopped: int = 0
    #: The strategy's model usage over the group's items (cached calls are counted in
    #: ``calls`` and are free of tokens and cost).
    usage: Usage = Field(default_factory=Usage)
    #: Mean latency of one item (the strategy's wall time on it, queueing included).
    latency_mean_s: float | None = None
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    #: Judge vs EM over the group's rows that carry both (None when no row does).
    agreement: Agreement | None = None
    #: The judge's own calls (not in ``calls``/tokens/cost above, which are the strategy's).
    judge_usage: Usage | None = None
    #: Mean entropy and variance per stage (Kairanban variants; empty for other strategies).
    stages: list[StageStat] = Field(default_factory=list)
    #: Mean time the scorers took per item, in milliseconds (None for rows that predate it).
    score_ms_per_item: float | None = Field(
        default=None, description="Mean wall time of all scorers on one item, milliseconds"
    )
    #: The slowest item's scoring time, in milliseconds.
    score_ms_max: float | None = Field(
        default=None, description="Longest wall time of all scorers on one item, milliseconds"
    )

    @property
    def label(self) -> str:
        return f"{self.strategy} @ {self.model}"

    @property
    def tokens_per_item(self) -> float:
        return self.usage.total_tokens / self.n if self.n else 0.0

    @property
    def calls_per_item(self) -> float:
        return self.usage.calls / self.n if self.n else 0.0

    @property
    def cost_per_item(self) -> float:
        """Mean USD per item (0 when the backend reports no prices: local and scripted)."""
        return self.usage.cost / self.n if self.n else 0.0

    @model_validator(mode="before")
    @classmethod
    def _flat_usage(cls, data: Any) -> Any:
        """A summary.json written before groups held one ``usage`` had its counters inline."""
        if isinstance(data, dict) and "usage" not in data:
            flat = {k: data[k] for k in Usage.model_fields if k in data}
            if flat:
                data = {k: v for k, v in data.items() if k not in flat} | {"usage": flat}
        return data


class EvalSummary(BaseModel):
    """What ``summary.json`` holds and ``agot eval`` prints."""

    dataset: str
    subset: str | None = None
    split: str | None = None
    seed: int = 0
    #: Seed of the item sample (``--sample`` or a preset); None when the first items were run.
    sample_seed: int | None = None
    items: int = 0
    headline: str
    metrics: list[str]
    groups: list[GroupSummary]
    comparisons: list[PairedComparison] = Field(default_factory=list)
    scorers: list[dict[str, Any]] = Field(default_factory=list)
    out: str | None = None
    wall_s: float | None = None
    notes: list[str] = Field(default_factory=list)
    preset: AppliedPreset | None = None
    #: Per endpoint (models served by several replicas): calls, errors, latency percentiles.
    endpoints: list[EndpointStat] = Field(default_factory=list)

    def group(self, strategy: str, model: str | None = None) -> GroupSummary:
        for g in self.groups:
            if g.strategy == strategy and (model is None or g.model == model):
                return g
        raise KeyError(
            f"no results for strategy {strategy!r}" + (f" on {model!r}" if model else "")
        )

    def table(self, width: int | None = None) -> str:
        """The printed table (plain text, aligned columns). Wider than ``width`` columns (a
        terminal's), it is printed as two narrower tables that share the strategy and model
        columns, scores then cost and latency, so no row wraps mid-row; a table still too
        wide (many metrics) is printed one group per block, wrapped at `` · ``."""
        shown = [m for m in self.metrics if m != "unparsed"]
        has_unparsed = "unparsed" in self.metrics
        header = ["strategy", "model", "n", *shown]
        if has_unparsed:
            header.append("unparsed")
        # Usage per item, so strategies run on different item counts (a resumed or capped run)
        # still compare; the totals are in summary.json.
        header += ["errors", "calls/item", "tokens/item", "cost/item", "mean s", "p50 s", "p95 s"]
        rows = [header]
        for g in self.groups:
            row = [g.strategy, g.model, str(g.n)]
            for m in shown:
                est = g.metrics.get(m)
                cell = est.format() if est is not None else "n/a"
                if est is not None and est.n != g.n:
                    cell += f" (n={est.n})"
                row.append(cell)
            if has_unparsed:
                row.append(number(g.unparsed))
            row += [
                str(g.errors),
                number(g.calls_per_item, 1)
                + (
                    f" ({g.usage.cached_calls}/{g.usage.calls} cache hits)"
                    if g.usage.cached_calls
                    else ""
                )
                + (f" +{g.usage.cancelled} cancelled" if g.usage.cancelled else ""),
                _human(round(g.tokens_per_item))
                + (
                    f" ({g.usage.cached_share:.0%} of prompt cached)"
                    if g.usage.cached_share is not None
                    else ""
                ),
                f"${g.cost_per_item:.4f}",
                number(g.latency_mean_s, 2),
                number(g.latency_p50_s, 2),
                number(g.latency_p95_s, 2),
            ]
            rows.append(row)
        lines = _fit(rows, 3 + len(shown) + has_unparsed, width)
        title = f"{self.dataset}"
        extra = [x for x in (self.subset, self.split) if x]
        if extra:
            title += f" ({', '.join(extra)})"
        title += f" · {self.items} items"
        if self.sample_seed is not None:
            title += f" (sampled, seed {self.sample_seed})"
        title += f" · seed {self.seed}"
        if self.wall_s is not None:
            title += f" · {self.wall_s:.1f} s"
        out = [title]
        if self.preset is not None:
            out.append(self.preset.describe())
        out += lines
        if self.comparisons:
            out.append("")
            out += [c.format() for c in self.comparisons]
        staged = [g for g in self.groups if g.stages]
        if staged:
            out.append("")
            out.append("per stage: mean entropy H (nats) / mean variance V (* = after idobata)")
            for g in staged:
                cells = " · ".join(
                    f"{s.stage}{'*' if s.after_idobata else ''}: H {number(s.mean_entropy)}"
                    f" V {number(s.mean_variance, 4)}"
                    for s in g.stages
                )
                out.append(f"  {g.label}: {cells}")
        judged = [g for g in self.groups if g.agreement is not None or g.judge_usage is not None]
        if judged:
            out.append("")
            for g in judged:
                out += _judge_lines(g)
        timed = [g for g in self.groups if g.score_ms_per_item is not None]
        if timed:
            out.append("")
            cells = " · ".join(
                f"{g.label}: {g.score_ms_per_item:.1f} ms (max {g.score_ms_max:.1f})" for g in timed
            )
            out.append(f"scoring time per item: {cells}")
        if self.endpoints:
            out.append("")
            out += endpoint_table(self.endpoints)
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


def _fit(rows: list[list[str]], split: int, width: int | None) -> list[str]:
    """``rows`` as aligned columns within ``width``: whole, as two tables (the first ``split``
    columns, then the first two and the rest), or one block per row wrapped at `` · ``."""
    lines = columns(rows)
    if width is None or max(map(len, lines)) <= width:
        return lines
    scores = columns([row[:split] for row in rows])
    costs = columns([row[:2] + row[split:] for row in rows])
    if max(map(len, scores + costs)) <= width:
        return [*scores, "", *costs]
    header, out = rows[0], []
    for row in rows[1:]:
        out.append(f"{row[0]} · {row[1]}")
        line = ""
        for name, cell in zip(header[2:], row[2:], strict=True):
            piece = f"{name} {cell}"
            if line and len(line) + 3 + len(piece) > width:
                out.append(line)
                line = ""
            line = f"{line} · {piece}" if line else f"  {piece}"
        out.append(line)
    return out


def load_summary(folder: RunFolder) -> EvalSummary | None:
    """A run folder's ``summary.json`` as the :class:`EvalSummary` it was written from (None
    while the run has not finished); a file that does not hold one is a :class:`ConfigError`."""
    data = folder.read_summary()
    if data is None:
        return None
    try:
        return EvalSummary.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{folder.summary_path} is not an eval summary ({where}: {first['msg']})"
        ) from None


#: Disagreement examples printed per kind (summary.json keeps every kind's examples).
_PRINTED_EXAMPLES = 2


def _judge_lines(g: GroupSummary) -> list[str]:
    """The judge section of one group: agreement with EM, disagreement examples, judge cost."""
    head = f"judge vs em · {g.label}:"
    a = g.agreement
    if a is not None and a.n:
        kappa = number(a.kappa, 2)
        head += (
            f" agree on {a.both_true + a.both_false}/{a.n} ({a.agreement:.3f}, kappa {kappa});"
            f" differ on {a.judge_only + a.em_only}: judge yes/em no {a.judge_only},"
            f" em yes/judge no {a.em_only}"
        )
        if a.skipped:
            head += f"; {a.skipped} without both scores"
    else:
        head += " no row has both scores"
    if g.judge_usage is not None:
        u = g.judge_usage
        head += f" · judge calls {u.calls} ({u.cached_calls} cached), {_human(u.total_tokens)} tok"
        if u.cost:
            head += f", ${u.cost:.4f}"
    lines = [head]
    for kind, label in (("judge_only", "judge yes, em no"), ("em_only", "em yes, judge no")):
        for ex in (a.examples.get(kind, []) if a is not None else [])[:_PRINTED_EXAMPLES]:
            lines.append(f"  {label}: {ex.id}: prediction {ex.prediction!r}, gold {ex.gold!r}")
    return lines


def summarize(
    rows: Sequence[ResultRow],
    scorers: Sequence[Scorer],
    *,
    dataset: str,
    subset: str | None = None,
    split: str | None = None,
    seed: int = 0,
    out: str | None = None,
    wall_s: float | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    notes: Sequence[str] = (),
    sample_seed: int | None = None,
    preset: AppliedPreset | None = None,
    order: Sequence[str] = (),
) -> EvalSummary:
    """Group ``rows`` (the latest row of each key winning) and compute every metric.

    Groups follow ``order`` (strategy labels, as the run lists them), then first appearance.
    """
    unique = latest_rows(rows)
    rank = {label: i for i, label in enumerate(order)}
    unique.sort(key=lambda r: rank.get(r.strategy, len(rank)))
    metrics = list(dict.fromkeys(m for s in scorers for m in s.metrics))
    headline = scorers[0].headline_metric if scorers else (metrics[0] if metrics else "score")
    groups = group_rows(unique)
    summaries = [
        group_summary(strategy, model, members, _estimates(members, scorers, resamples))
        for (strategy, model), members in groups.items()
    ]
    comparisons = _comparisons(groups, headline, resamples)
    return EvalSummary(
        dataset=dataset,
        subset=subset,
        split=split,
        seed=seed,
        sample_seed=sample_seed,
        items=len({r.id for r in unique}),
        headline=headline,
        metrics=metrics,
        groups=summaries,
        comparisons=comparisons,
        scorers=[s.describe() for s in scorers],
        out=out,
        wall_s=wall_s,
        notes=list(notes),
        preset=preset,
        endpoints=endpoint_stats(
            r.details["endpoints"] for r in unique if isinstance(r.details.get("endpoints"), dict)
        ),
    )


def group_rows(rows: Iterable[ResultRow]) -> dict[tuple[str, str], list[ResultRow]]:
    """``rows`` by (strategy, model), in order of first appearance."""
    groups: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.strategy, row.model), []).append(row)
    return groups


def _estimates(
    rows: Sequence[ResultRow], scorers: Sequence[Scorer], resamples: int
) -> dict[str, Estimate]:
    """Every scorer metric over ``rows``: a mean per item, or a corpus statistic (macro-F1)."""
    estimates: dict[str, Estimate] = {}
    for scorer in scorers:
        for metric in scorer.metrics:
            if metric not in estimates:
                estimates[metric] = estimate(rows, metric, scorer=scorer, resamples=resamples)
    return estimates


def item_scores(rows: Iterable[ResultRow], metric: str) -> dict[str, float]:
    """Item id -> ``metric``'s value, for the items the missing-score rule counts."""
    found = ((r.id, item_score(r.scores, r.error, metric)) for r in rows)
    return {item: value for item, value in found if value is not None}


def estimate(
    rows: Sequence[ResultRow],
    metric: str,
    *,
    scorer: Scorer | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """``metric`` over one group's ``rows`` with its bootstrap interval, computed by the metric
    object ``scorer`` declares for it (:meth:`Scorer.metric`), or, without a scorer, as the
    mean of the items' values (:func:`item_scores`)."""
    found = scorer.metric(metric) if scorer is not None else Mean(metric)
    return found.estimate(rows, resamples=resamples, seed=seed)


def group_summary(
    strategy: str, model: str, rows: Sequence[ResultRow], metrics: dict[str, Estimate]
) -> GroupSummary:
    """One group's summary from its rows and its metric estimates: the counts, usage and
    latency, judge agreement and Kairanban stages are the same however the metrics were
    estimated (by the run's scorers here, from the rows' scores by a viewer of a run still
    in progress)."""
    latencies = [r.latency_s for r in rows]
    unparsed = metrics.get("unparsed")
    return GroupSummary(
        strategy=strategy,
        model=model,
        n=len(rows),
        metrics=metrics,
        unparsed=unparsed.value if unparsed is not None else None,
        errors=sum(1 for r in rows if r.error),
        stopped=sum(1 for r in rows if r.stopped),
        usage=Usage.total(r.usage for r in rows),
        latency_mean_s=statistics.fmean(latencies) if latencies else None,
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        agreement=_agreement(rows),
        judge_usage=_judge_usage(rows),
        stages=stage_stats(rows),
        **_scoring_times(rows),
    )


def _scoring_times(rows: Sequence[ResultRow]) -> dict[str, float | None]:
    """Mean and longest scoring time per item (the runner records ``details["score_s"]``)."""
    times = [t for r in rows if isinstance(t := r.details.get("score_s"), int | float)]
    if not times:
        return {"score_ms_per_item": None, "score_ms_max": None}
    return {
        "score_ms_per_item": 1000 * sum(times) / len(times),
        "score_ms_max": 1000 * max(times),
    }


def stage_stats(rows: Sequence[ResultRow]) -> list[StageStat]:
    """Mean entropy and variance per stage over the rows whose details carry a trajectory
    (Kairanban variants; definitions in :mod:`agot.kairanban.metrics`)."""
    by_stage: dict[int, tuple[list[float], list[float], list[bool]]] = {}
    for row in rows:
        trajectory = row.details.get("trajectory")
        if not isinstance(trajectory, list):
            continue
        for stage in trajectory:
            if not isinstance(stage, Mapping) or not isinstance(stage.get("stage"), int):
                continue
            ent, var, after = by_stage.setdefault(stage["stage"], ([], [], []))
            if stage.get("entropy") is not None:
                ent.append(float(stage["entropy"]))
            if stage.get("variance") is not None:
                var.append(float(stage["variance"]))
            after.append(bool(stage.get("after_idobata")))
    return [
        StageStat(
            stage=k,
            n=len(after),
            mean_entropy=statistics.fmean(ent) if ent else None,
            mean_variance=statistics.fmean(var) if var else None,
            after_idobata=any(after),
        )
        for k, (ent, var, after) in sorted(by_stage.items())
    ]


def _agreement(rows: Sequence[ResultRow]) -> Agreement | None:
    """Judge vs EM when some row carries both (QA sets judged with ``--judge``)."""
    if not any("judge" in r.scores and "em" in r.scores for r in rows):
        return None
    return agreement(rows)


def _judge_usage(rows: Sequence[ResultRow]) -> Usage | None:
    """The judge's calls summed over ``rows`` (the runner keeps them apart from the item's)."""
    found = [
        r.details["judge_usage"] for r in rows if isinstance(r.details.get("judge_usage"), dict)
    ]
    return Usage.total(Usage.model_validate(u) for u in found) if found else None


def _comparisons(
    groups: Mapping[tuple[str, str], list[ResultRow]], metric: str, resamples: int
) -> list[PairedComparison]:
    out = []
    for (ka, ra), (kb, rb) in itertools.combinations(groups.items(), 2):
        if ka[0] != kb[0] and ka[1] != kb[1]:
            continue  # differ in both strategy and model: not a controlled comparison
        a, b = item_scores(ra, metric), item_scores(rb, metric)
        shared = sorted(set(a) & set(b))
        if not shared:
            continue
        names = (_label(ka, kb), _label(kb, ka))
        out.append(
            paired_comparison(
                [a[i] for i in shared],
                [b[i] for i in shared],
                names=names,
                metric=metric,
                resamples=resamples,
            )
        )
    return out


def _label(key: tuple[str, str], other: tuple[str, str]) -> str:
    return key[0] if key[1] == other[1] else f"{key[0]}@{key[1]}"


def _human(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)
