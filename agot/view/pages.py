"""The content of each viewer page, as plain data for the templates.

The server and the static export render the same templates from these functions; only the
``url`` function differs (paths on the server, ``#anchors`` in the one-file export).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agot.errors import ConfigError
from agot.evals.run_folder import ResultRow
from agot.evals.tradeoff import plot_groups
from agot.plan.render import planned_vs_actual
from agot.view import plots
from agot.view.data import Catalog, Run, SavedTrace

Url = Callable[..., str]


# -- runs list ------------------------------------------------------------------------------
def runs_page(catalog: Catalog) -> dict[str, Any]:
    """Every run, newest first (folders created since the last look included)."""
    catalog.refresh()
    runs = sorted(catalog.runs(), key=lambda r: -(r.date or 0.0))
    live = any(r.status == "running" for r in runs)
    return {"title": "Runs", "runs": runs, "traces": catalog.traces(), "live": live}


# -- one run ----------------------------------------------------------------------------------
@dataclass
class ItemRow:
    """One line of a run's item table."""

    index: int
    row: ResultRow
    score: float | None
    tokens: int


def run_page(run: Run) -> dict[str, Any]:
    items = [
        ItemRow(i, r, run.score(r), r.usage.prompt_tokens + r.usage.completion_tokens)
        for i, r in enumerate(run.rows)
    ]
    headline = run.headline or "score"
    points = []
    for g in run.groups:
        if g.n and g.errors >= g.n:
            continue  # every item failed: no score to plot
        est = g.metrics.get(headline)
        value = est.value if est is not None else None
        low = est.low if est is not None else None
        high = est.high if est is not None else None
        points.append((g.label, g.tokens_per_item, value, low, high))
    latency = [
        (g.label, [r.latency_s for r in run.rows if (r.strategy, r.model) == (g.strategy, g.model)])
        for g in run.groups
    ]
    return {
        "title": run.name,
        "run": run,
        "item_rows": items,
        "metrics": sorted({m for g in run.groups for m in g.metrics}, key=_metric_order(headline)),
        "info": run_info(run),
        "live": run.status == "running",
        "tradeoff_svg": plots.score_vs_tokens(points, headline),
        # the run folder's tradeoff.svg, drawn again from the numbers (never the file's markup)
        "pareto_svg": plot_groups(run.groups, headline).svg,
        "latency_svg": plots.histogram(latency, "latency per item (s)"),
        # agot eval --plan: each figure as predicted beside what the run spent
        "plan_rows": planned_vs_actual(run.folder.path),
    }


#: run.json fields the Info section shows, in order, with their labels (the rest follow).
_INFO_FIELDS = (
    ("started_at", "started"),
    ("command", "command line"),
    ("agot_version", "agot version"),
    ("python", "Python"),
    ("dataset", "dataset"),
    ("subset", "subset"),
    ("split", "split"),
    ("data", "data file"),
    ("limit", "limit"),
    ("sample_seed", "sample seed"),
    ("seed", "seed"),
    ("preset", "preset"),
    ("models", "models"),
    ("routing", "routing"),
    ("limits", "limits per model"),
    ("concurrency", "items in flight"),
    ("scorers", "scorers"),
    ("answer_format", "answer format"),
    ("redacted", "item text redacted"),
)
#: Shown elsewhere in the section (settings), or internal (the resume fingerprint).
_INFO_HIDDEN = {"strategies", "strategy_settings", "strategy_params", "per_strategy_params"}


def run_info(run: Run) -> dict[str, Any]:
    """The Info section: each strategy's resolved settings, then run.json's other fields."""
    import datetime
    import json
    import shlex

    info = run.info

    def shown(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, default=str)

    fields: list[tuple[str, str]] = []
    for key, label in _INFO_FIELDS:
        value = info.get(key)
        if value is None or value == [] or value == {}:
            continue
        if key == "command" and isinstance(value, list):
            value = shlex.join(str(v) for v in value)
        if key == "started_at" and isinstance(value, int | float):
            stamp = datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
            value = stamp.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        fields.append((label, shown(value)))
    known = {k for k, _ in _INFO_FIELDS} | _INFO_HIDDEN
    for key, value in info.items():
        if key not in known and key != "fingerprint" and value not in (None, [], {}):
            fields.append((key.replace("_", " "), shown(value)))
    fingerprint = info.get("fingerprint")
    if isinstance(fingerprint, dict) and fingerprint.get("data_sha256"):
        fields.append(("data SHA-256", str(fingerprint["data_sha256"])))
    settings = info.get("strategy_settings")
    strategies: list[tuple[str, list[tuple[str, str]]]] = []
    if isinstance(settings, dict):
        for name, values in settings.items():
            if isinstance(values, dict):
                strategies.append((str(name), [(str(k), shown(v)) for k, v in values.items()]))
    else:  # a run written before settings were recorded: what the caller set, if anything
        given = info.get("strategy_params") or {}
        for name in run.strategies:
            per = (info.get("per_strategy_params") or {}).get(name) or {}
            values = {**given, **per}
            strategies.append((name, [(str(k), shown(v)) for k, v in values.items()]))
    return {"fields": fields, "strategies": strategies, "resolved": isinstance(settings, dict)}


def _metric_order(headline: str) -> Callable[[str], tuple[int, str]]:
    return lambda name: (0 if name == headline else 1, name)


# -- one item (a row of a run, or a saved trace) --------------------------------------------
@dataclass
class NestedGraph:
    """A nested graph shown folded under its complex thought."""

    node_id: str
    title: str
    svg: str
    thoughts: int
    children: list[NestedGraph] = field(default_factory=list)


@dataclass
class Call:
    """One model call, for the call list."""

    event: Any
    offset_s: float
    critical: bool


@dataclass
class CallGroup:
    """The calls made for one thought (or for the run as a whole: its proposals of the top
    graph, the synthesis, a single-call strategy's answer), in the order they started."""

    node_id: str | None
    title: str
    calls: list[Call]
    anchor: str | None = None  #: the thought's id in the graph pictures

    @property
    def roles(self) -> list[str]:
        return list(dict.fromkeys(c.event.role for c in self.calls))


def group_calls(calls: Sequence[Call], titles: dict[str, str]) -> list[CallGroup]:
    """``calls`` grouped by the thought they served, groups in the order their first call
    started (``titles``: a thought's title by id; the anchor is set for thoughts drawn)."""
    from agot.render.style import node_key

    groups: dict[str | None, list[Call]] = {}
    for call in sorted(calls, key=lambda c: (c.offset_s, c.event.call_id)):
        groups.setdefault(call.event.node_id, []).append(call)
    out = []
    for node, members in groups.items():
        layer = re.fullmatch(r"(?:(.+)\.)?layer(\d+)", node or "")
        if node is None:
            title = "the run as a whole (top-level steps)"
        elif layer:
            where = f"nested graph of thought {layer[1]}" if layer[1] else "top graph"
            title = f"{where}: proposal of layer {layer[2]}"
        elif node in titles:
            title = f"thought {node}: {titles[node]}"
        else:
            title = f"step {node}"
        anchor = node_key(node) if node in titles else None
        out.append(CallGroup(node, title, members, anchor))
    return out


def trace_view(
    trace: dict[str, Any] | None, *, full_picture: bool = True, engine: str = "auto"
) -> dict[str, Any]:
    """Graph pictures, timeline and calls of a saved trace (the object Result.save_trace
    writes); an empty view when the run kept no trace. ``full_picture=False`` leaves out the
    all-levels picture (the top graph and its nested graphs in one drawing, shown apart
    too): a third of an AGoT item's bytes in the one-file export, and one Graphviz run.
    ``engine`` draws the graphs (:func:`agot.render.svg.graph_to_svg`)."""
    empty: dict[str, Any] = {
        "has_trace": False,
        "trace_problem": None,
        "graph_svg": None,
        "graph_full_svg": None,
        "nested": [],
        "thoughts": [],
    }
    if trace is None:
        return empty
    from pydantic import ValidationError

    from agot.critical_path import critical_path, parallelism, span
    from agot.errors import AgotError
    from agot.render.timeline_svg import timeline_svg
    from agot.result import Result

    try:
        result = Result.model_validate(trace)
        graph = result.thought_graph()
    except (ValidationError, AgotError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {**empty, "trace_problem": f"the trace is not one agot can read ({first})"}
    events = result.events
    _, path = critical_path(events)
    on_path = set(path)
    t0 = min((e.start for e in events), default=0.0)
    calls = [Call(e, e.start - t0, e.call_id in on_path) for e in events]
    view: dict[str, Any] = {
        **empty,
        "has_trace": True,
        "result": result,
        "calls": calls,
        # Drawn 1,300 units wide and scaled to the page (style.css), so it fills a wide
        # window and still fits a 1,024 px one.
        "timeline_svg": timeline_svg(events, width=1300.0),
        "span_s": span(events),
        "parallelism": parallelism(events),
        "critical_calls": len(path),
        "text_kept": any(e.messages is not None for e in events),
        "call_groups": group_calls(calls, {}),
    }
    if graph is not None:
        from agot.render.style import display_text

        titles = {node.id: display_text(node.title) for _, node in graph.walk()}
        view["call_groups"] = group_calls(calls, titles)
        from agot.render.svg import graph_to_svg

        view["graph_svg"] = graph_to_svg(_shallow(graph), engine=engine)
        full = graph.subgraphs and full_picture
        view["graph_full_svg"] = graph_to_svg(graph, engine=engine) if full else None
        view["nested"] = _nested(graph, engine)
        view["thoughts"] = [node for _, node in graph.walk()]
    return view


def _shallow(graph: Any) -> Any:
    """``graph`` without its nested graphs (complex thoughts keep their thick border)."""
    top = copy.copy(graph)
    top.subgraphs = {}
    return top


def _nested(graph: Any, engine: str = "auto") -> list[NestedGraph]:
    from agot.render.style import display_text
    from agot.render.svg import graph_to_svg

    out = []
    for node in graph.nodes():
        sub = graph.subgraphs.get(node.id)
        if sub is None:
            continue
        out.append(
            NestedGraph(
                node_id=node.id,
                title=display_text(node.title),
                svg=graph_to_svg(_shallow(sub), engine=engine),
                thoughts=sub.count_nodes(),
                children=_nested(sub, engine),
            )
        )
    return out


def siblings_by_item(run: Run) -> dict[str, list[int]]:
    """Row indexes of each item id (the same item under the run's strategies and models)."""
    out: dict[str, list[int]] = {}
    for i, r in enumerate(run.rows):
        out.setdefault(r.id, []).append(i)
    return out


def item_page(
    run: Run,
    index: int,
    *,
    siblings: dict[str, list[int]] | None = None,
    full_picture: bool = True,
    engine: str = "auto",
) -> dict[str, Any]:
    """An item's page; ``siblings`` (:func:`siblings_by_item`) saves a pass over the rows
    when many items of one run are rendered; ``full_picture``, ``engine``: see
    :func:`trace_view`."""
    row = run.rows[index]
    problem = None
    try:
        trace = run.trace(row)
    except ConfigError as exc:  # outside the run folder, not a file, or not JSON
        trace, problem = None, str(exc)
    same = (siblings or siblings_by_item(run)).get(row.id, [])
    others = [(i, run.rows[i]) for i in same if i != index]
    return {
        "prev_index": index - 1 if index > 0 else None,
        "next_index": index + 1 if index + 1 < len(run.rows) else None,
        "judge": judge_view(row.details),
        "title": f"{row.id} · {row.strategy} @ {row.model}",
        "run": run,
        "row": row,
        "index": index,
        "score": run.score(row),
        "question": (trace or {}).get("question"),
        "siblings": others,
        **trace_view(trace, full_picture=full_picture, engine=engine),
        **({"trace_problem": problem} if problem else {}),
    }


def judge_view(details: dict[str, Any]) -> dict[str, Any] | None:
    """What an LLM judge said about a row, where one scored it: its reason, whether the
    verdict came from the cache, its usage, its call (model, parameters, and the prompt and
    reply where the run kept text), or the error that left the row without a judge score."""
    keys = ("judge_reason", "judge_call", "judge_error", "judge_usage")
    if not any(k in details for k in keys):
        return None
    call = details.get("judge_call") or {}
    return {
        "reason": details.get("judge_reason"),
        "error": details.get("judge_error"),
        "cached": bool(details.get("judge_cached")),
        "usage": details.get("judge_usage") or {},
        "prompt_id": details.get("judge_prompt"),
        "model": call.get("model"),
        "params": call.get("params") or {},
        "messages": call.get("messages") or [],
        "completion": call.get("completion"),
    }


def saved_trace_page(saved: SavedTrace) -> dict[str, Any]:
    try:
        trace: dict[str, Any] | None = saved.load()
        problem = None
    except ConfigError as exc:
        trace, problem = None, str(exc)
    return {
        "title": saved.path.name,
        "saved": saved,
        "question": (trace or {}).get("question"),
        **trace_view(trace),
        **({"trace_problem": problem} if problem else {}),
    }


# -- several runs side by side -----------------------------------------------------------------
@dataclass
class Column:
    """A (run, strategy, model) compared with the others."""

    run: Run
    strategy: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.run.name}: {self.strategy} @ {self.model}"


@dataclass
class CompareRow:
    item: str
    cells: list[tuple[float | None, int | None]]  # (score, row index in its run) per column
    flipped: bool


def compare_page(runs: Sequence[Run]) -> dict[str, Any]:
    columns = [Column(run, g.strategy, g.model) for run in runs for g in run.groups]
    lookup: dict[tuple[int, str], tuple[float | None, int | None]] = {}
    order: list[str] = []
    for c, column in enumerate(columns):
        for index, row in enumerate(column.run.rows):
            if (row.strategy, row.model) != (column.strategy, column.model):
                continue
            lookup[(c, row.id)] = (column.run.score(row), index)
            if row.id not in order:
                order.append(row.id)
    # An item flipped when one strategy and model scored it differently from one run to the
    # next (strategies differing inside a run is what the run page's paired table shows);
    # with no setup in two runs, any two columns that differ.
    setups: dict[tuple[str, str], list[int]] = {}
    for c, column in enumerate(columns):
        setups.setdefault((column.strategy, column.model), []).append(c)
    groups = [cols for cols in setups.values() if len(cols) > 1] or [list(range(len(columns)))]
    rows = []
    for item in order:
        cells: list[tuple[float | None, int | None]] = []
        for c in range(len(columns)):
            cells.append(lookup.get((c, item), (None, None)))
        compared = CompareRow(item, cells, flipped=False)
        compared.flipped = any(_differs(compared, cols) for cols in groups)
        rows.append(compared)
    flips = sum(1 for r in rows if r.flipped)
    by_setup = [
        (f"{strategy} @ {model}", sum(1 for each in rows if _differs(each, cols)))
        for (strategy, model), cols in setups.items()
        if len(cols) > 1
    ]
    warnings = []
    datasets = sorted({r.dataset_label for r in runs if r.rows})
    if len(datasets) > 1:
        warnings.append(
            f"these runs are on different data sets ({', '.join(datasets)}): items with the "
            "same id need not be the same question"
        )
    empty = [r.name for r in runs if not r.rows]
    if empty:
        warnings.append(f"no result rows yet in {', '.join(empty)}")
    return {
        "warnings": warnings,
        "title": "Compare " + ", ".join(r.name for r in runs),
        "runs": list(runs),
        "columns": columns,
        "rows": rows,
        "flips": flips,
        "flips_by_setup": by_setup,
        "paired": run_pairs(columns, setups),
    }


def _differs(row: CompareRow, cols: Sequence[int]) -> bool:
    """Whether columns ``cols`` scored ``row``'s item differently (unscored cells aside)."""
    return len({row.cells[c][0] for c in cols if row.cells[c][0] is not None}) > 1


def run_pairs(columns: Sequence[Column], setups: dict[tuple[str, str], list[int]]) -> list[Any]:
    """Run against run for each strategy and model in several runs: the paired difference of
    the headline score over the items both scored, with its bootstrap interval (what the run
    page's paired table gives for strategies inside one run). Each later run is paired with
    the first one picked, so n runs make n - 1 rows per setup, not n(n - 1)/2."""
    from agot.evals.stats import paired_comparison

    out = []
    for cols in setups.values():
        for a, b in ((cols[0], later) for later in cols[1:]):
            first, second = columns[a], columns[b]
            scores = [_scores_of(first), _scores_of(second)]
            shared = [item for item in scores[0] if item in scores[1]]
            if not shared or first.run.headline != second.run.headline:
                continue
            out.append(
                paired_comparison(
                    [scores[0][i] for i in shared],
                    [scores[1][i] for i in shared],
                    names=(first.run.name, second.run.name),
                    metric=f"{first.run.headline} · {first.strategy} @ {first.model}",
                )
            )
    return out


def _scores_of(column: Column) -> dict[str, float]:
    out = {}
    for row in column.run.rows:
        if (row.strategy, row.model) == (column.strategy, column.model):
            score = column.run.score(row)
            if score is not None:
                out[row.id] = score
    return out
