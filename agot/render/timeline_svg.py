"""The call timeline as a self-contained SVG (no matplotlib): for web pages and exports.

The same picture as :func:`agot.render.timeline.plot_timeline`: one bar per model call from its
start to its end in the lowest free lane (so the lane count is the peak concurrency), coloured
by role, failed calls hatched red, cached calls faded, and the critical path (the longest chain
of calls that waited on each other) outlined in black and joined by a dotted line drawn under
the bars (so it never crosses a label). Time a call spent queued (for a concurrency slot or a
rate limit) before it started is a thin grey stripe ahead of its bar, named in its title. Each
bar is a ``<g class="call">`` with ``data-call``/``data-critical`` attributes and a hover title;
its label is dark or white, whichever reads on the role's colour. ``width`` is the drawing's
coordinate width: pages scale it to their own width (``svg.timeline { width: 100% }``).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from agot.critical_path import critical_path, parallelism, span
from agot.render.timeline import ROLE_COLOURS, assign_lanes, role_colour
from agot.trace import TraceEvent

LANE_H = 18.0
BAR_H = 13.0
LEFT = 58.0
RIGHT = 14.0
TOP = 24.0
AXIS = 26.0


def _ticks(total: float) -> list[float]:
    if total <= 0:
        return [0.0]
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if total / step <= 8:
            break
    count = int(total / step) + 1
    return [round(i * step, 6) for i in range(count + 1)]


def label_colour(fill: str) -> str:
    """Near-black on light fills (amber, teal), white on dark ones (WCAG relative luminance)."""
    if not fill.startswith("#") or len(fill) != 7:
        return "#111"

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(fill[i : i + 2]) for i in (1, 3, 5))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast of white against the fill vs of near-black against it: keep the larger.
    return "white" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.057) else "#111"


def timeline_svg(events: Sequence[TraceEvent], *, width: float = 900.0) -> str:
    """SVG of ``events`` (a run's trace events) with the critical path highlighted."""
    if not events:
        return '<p class="empty">no model calls recorded</p>'
    lanes = assign_lanes(events)
    n_lanes = max(lanes) + 1
    t0 = min(e.start - e.queued_s for e in events)
    total = max(span(events), max(e.end for e in events) - t0, 1e-6)
    cp_len, cp_ids = critical_path(events)
    on_path = set(cp_ids)
    ticks = [t for t in _ticks(total) if t <= total * 1.0001] or [0.0]
    plot_w = width - LEFT - RIGHT
    height = TOP + n_lanes * LANE_H + AXIS + 8

    def sx(t: float) -> float:
        return LEFT + t / total * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" '
        'font-size="10">',
        '<defs><pattern id="agot-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f8d7da"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#c62828" stroke-width="2"/></pattern></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        f'<text x="{LEFT}" y="14" font-size="11">{len(events)} calls · span {total:.2f} s · '
        f"critical path {cp_len:.2f} s ({len(cp_ids)} calls) · parallelism "
        f"{parallelism(events):.2f} · peak concurrency {n_lanes}</text>",
    ]
    axis_y = TOP + n_lanes * LANE_H + 4
    for t in ticks:
        parts.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{TOP - 2}" y2="{axis_y}" stroke="#eee"/>'
            f'<text x="{sx(t):.1f}" y="{axis_y + 12}" text-anchor="middle">{t:g}s</text>'
        )
    for lane in range(n_lanes):
        y = TOP + lane * LANE_H + LANE_H / 2 + 3
        parts.append(f'<text x="{LEFT - 6}" y="{y:.1f}" text-anchor="end">lane {lane}</text>')
    extra: list[str] = []
    centres: dict[str, tuple[float, float, float]] = {}
    bars: list[str] = []
    for event, lane in zip(events, lanes, strict=True):
        x = sx(event.start - t0)
        w = max(sx(event.end - t0) - x, 1.5)
        y = TOP + lane * LANE_H + (LANE_H - BAR_H) / 2
        if event.queued_s >= 0.005:
            qx = sx(event.start - event.queued_s - t0)
            bars.append(
                f'<rect class="queued" data-call="{escape(event.call_id)}" x="{qx:.1f}" '
                f'y="{y + BAR_H / 2 - 2:.1f}" width="{max(x - qx, 1.0):.1f}" height="4" '
                f'fill="#bdbdbd"><title>{escape(event.call_id)} queued '
                f"{event.queued_s:.3f} s (waiting for a slot or a rate limit)</title></rect>"
            )
        critical = event.call_id in on_path
        fill = "url(#agot-hatch)" if event.error else role_colour(event.role, extra)
        stroke = "black" if critical else ("#c62828" if event.error else "white")
        opacity = ' fill-opacity="0.45"' if event.cached and not event.error else ""
        tip = (
            f"{event.call_id} · {event.role}"
            + (f" · node {event.node_id}" if event.node_id else "")
            + f" · {event.duration:.3f} s · {event.prompt_tokens}+{event.completion_tokens} tok"
            + (" · cached" if event.cached else "")
            + (" · critical path" if critical else "")
            + (f" · error: {event.error}" if event.error else "")
            + (f" · queued {event.queued_s:.3f} s before it" if event.queued_s >= 0.005 else "")
        )
        bars.append(
            f'<g class="call role-{escape(event.role)}" data-call="{escape(event.call_id)}" '
            f'data-critical="{str(critical).lower()}"><title>{escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{BAR_H}" rx="2" '
            f'fill="{fill}"{opacity} stroke="{stroke}" stroke-width="{1.6 if critical else 0.6}"/>'
        )
        label = event.node_id or event.role
        if w > 6.5 * len(label) + 6:
            ink = "#111" if event.error or event.cached else label_colour(fill)
            bars.append(
                f'<text x="{x + w / 2:.1f}" y="{y + BAR_H - 3:.1f}" text-anchor="middle" '
                f'fill="{ink}" font-size="10.5">{escape(label)}</text>'
            )
        bars.append("</g>")
        centres[event.call_id] = (x, x + w, y + BAR_H / 2)
    if len(cp_ids) > 1:
        points = []
        for call_id in cp_ids:
            left, right, y = centres[call_id]
            points += [f"{left:.1f},{y:.1f}", f"{right:.1f},{y:.1f}"]
        parts.append(
            f'<polyline class="critical-path" points="{" ".join(points)}" fill="none" '
            'stroke="black" stroke-width="0.8" stroke-dasharray="2 2"/>'
        )
    parts += bars  # over the critical path's dotted line, which so shows only between bars
    parts.append("</svg>")
    roles = list(dict.fromkeys(e.role for e in events))
    keys = "".join(
        f'<span class="key"><i style="background:{ROLE_COLOURS.get(r) or role_colour(r, extra)}">'
        f"</i>{escape(r)}</span>"
        for r in roles
    )
    keys += '<span class="key"><i class="critical"></i>critical path</span>'
    if any(e.error for e in events):
        keys += '<span class="key"><i class="failed"></i>failed</span>'
    if any(e.cached for e in events):
        keys += '<span class="key"><i class="cached"></i>cached</span>'
    if any(e.queued_s >= 0.005 for e in events):
        keys += '<span class="key"><i class="queued"></i>queued (waiting to start)</span>'
    return "".join(parts) + f'<div class="legend">{keys}</div>'
