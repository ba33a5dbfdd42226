"""Gantt-style timeline of one run's model calls, computed from its trace events alone.

Why: the wall time of a graph strategy depends on how many calls were in flight at once and on
the longest chain of calls that had to wait for each other (the critical path). One bar per
call, from its start to its end, placed in the lowest free lane (greedy interval colouring, so
the number of lanes is the peak concurrency); bars coloured by role; calls on the critical path
outlined in black. A user reads parallelism off the picture: many stacked lanes mean the
dispatcher overlapped calls, a long single lane means the run was sequential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agot.critical_path import critical_path, parallelism, span
from agot.trace import TraceEvent

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colours of the roles the built-in strategies use; other roles cycle through ``tab10``.
ROLE_COLOURS: dict[str, str] = {
    "decompose": "#5c6bc0",
    "assess": "#ffb300",
    "solve": "#43a047",
    "check": "#8e24aa",
    "final": "#e53935",
    "vote": "#00897b",
    "chat": "#6d4c41",
    "judge": "#546e7a",
}
_CYCLE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def as_events(run: Any) -> list[TraceEvent]:
    """Trace events of ``run``: a Result/KairanbanResult (``.events``), a trace dict, or a list
    of TraceEvents or event dicts."""
    if isinstance(run, Mapping):
        run = run.get("events", [])
    elif hasattr(run, "events"):
        run = run.events
    return [e if isinstance(e, TraceEvent) else TraceEvent.model_validate(e) for e in run]


def assign_lanes(events: Sequence[TraceEvent]) -> list[int]:
    """Lane of each event (same order as ``events``): the lowest lane free at its start.

    A lane is free once its previous call has ended (a call may start the instant another
    ends). The lane count equals the peak number of overlapping calls.
    """
    order = sorted(range(len(events)), key=lambda i: (events[i].start, events[i].end))
    lane_end: list[float] = []
    lanes = [0] * len(events)
    for i in order:
        event = events[i]
        for lane, end in enumerate(lane_end):
            if end <= event.start:
                lanes[i] = lane
                lane_end[lane] = event.end
                break
        else:
            lanes[i] = len(lane_end)
            lane_end.append(event.end)
    return lanes


def _text_colour(rgb: tuple[float, float, float]) -> str:
    """Black on light bars, white on dark ones (relative luminance)."""
    r, g, b = rgb
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.55 else "white"


def role_colour(role: str, roles_seen: list[str]) -> str:
    if role in ROLE_COLOURS:
        return ROLE_COLOURS[role]
    if role not in roles_seen:
        roles_seen.append(role)
    return _CYCLE[roles_seen.index(role) % len(_CYCLE)]


def plot_timeline(
    run: Any,
    *,
    ax: Axes | None = None,
    highlight_critical: bool = True,
    labels: bool = True,
    title: str | None = None,
) -> Figure:
    """Draw the timeline of ``run`` (see :func:`as_events`) and return its figure.

    Bars are in one ``BarContainer`` (``ax.containers[0]``), one bar per event in the order of
    ``run``'s events, each centred on its lane's y (lane ``i`` at ``y = i``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    events = as_events(run)
    if ax is None:
        height = 1.2 + 0.35 * max(1, len(set(assign_lanes(events))) if events else 1)
        fig, ax = plt.subplots(figsize=(10, min(height, 12)))
    else:
        fig = ax.figure  # type: ignore[assignment]
    lanes = assign_lanes(events)
    t0 = min((e.start for e in events), default=0.0)
    cp_len, cp_ids = critical_path(events) if highlight_critical else (0.0, [])
    on_path = set(cp_ids)
    extra_roles: list[str] = []
    colours = [role_colour(e.role, extra_roles) for e in events]
    edge = ["black" if e.call_id in on_path else "white" for e in events]
    widths = [2.0 if e.call_id in on_path else 0.6 for e in events]
    bars = ax.barh(
        lanes,
        [max(e.duration, 0.0) for e in events],
        left=[e.start - t0 for e in events],
        height=0.7,
        color=colours,
        edgecolor=edge,
        linewidth=widths,
        alpha=1.0,
    )
    for bar, event in zip(bars, events, strict=True):
        if event.error:
            bar.set_hatch("xx")
            bar.set_edgecolor("#c62828")
            bar.set_alpha(0.6)
        elif event.cached:
            bar.set_alpha(0.4)
    total = span(events)
    if labels and events and total > 0:
        from matplotlib.colors import to_rgb

        for event, lane, colour in zip(events, lanes, colours, strict=True):
            if event.duration >= 0.06 * total:
                ax.text(
                    event.start - t0 + event.duration / 2,
                    lane,
                    event.node_id or event.role,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=_text_colour(to_rgb(colour)),
                    clip_on=True,
                )
    if highlight_critical and len(cp_ids) > 1:
        # Connect the critical chain: end of each call to the start of the next one.
        by_id = {e.call_id: (e, lane) for e, lane in zip(events, lanes, strict=True)}
        xs, ys = [], []
        for call_id in cp_ids:
            event, lane = by_id[call_id]
            xs += [event.start - t0, event.end - t0]
            ys += [lane, lane]
        ax.plot(xs, ys, color="black", linewidth=0.8, linestyle=":", zorder=3)
    n_lanes = max(lanes, default=-1) + 1
    ax.set_yticks(range(n_lanes))
    ax.set_yticklabels([f"lane {i}" for i in range(n_lanes)], fontsize=8)
    ax.set_ylim(n_lanes - 0.5, -0.5)
    ax.set_xlabel("seconds since the first call")
    ax.grid(axis="x", alpha=0.3)
    roles = list(dict.fromkeys(e.role for e in events))
    handles = [Patch(color=role_colour(r, extra_roles), label=r) for r in roles]
    if any(e.error for e in events):
        handles.append(Patch(facecolor="white", edgecolor="#c62828", hatch="xx", label="failed"))
    if any(e.cached for e in events):
        handles.append(Patch(facecolor="#9e9e9e", alpha=0.4, label="cached"))
    if highlight_critical and cp_ids:
        handles.append(
            Patch(facecolor="white", edgecolor="black", linewidth=2, label="critical path")
        )
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    if title is None:
        title = (
            f"{len(events)} calls, wall {total:.2f}s, critical path {cp_len:.2f}s "
            f"({len(cp_ids)} calls), parallelism {parallelism(events):.2f}, "
            f"peak concurrency {n_lanes}"
        )
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
