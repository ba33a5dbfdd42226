"""Trace events of finished scripted calls, for tests of what reads a trace's timing.

The plan, the timeline drawing and the critical path read only a call's id, role, times and
dependencies; this fills in the other fields every such test would otherwise spell out.
"""

from __future__ import annotations

from typing import Any

from agot.trace import TraceEvent


def trace_event(
    call_id: str, start: float, end: float, *depends: str, role: str = "solve", **fields: Any
) -> TraceEvent:
    """A call of the scripted backend from ``start`` to ``end`` (seconds) that named the calls
    ``depends`` as its inputs; ``fields`` sets any other field (``queued_s``, token counts,
    ``inputs_at``)."""
    return TraceEvent(
        call_id=call_id,
        role=role,
        start=start,
        end=end,
        depends_on=list(depends),
        backend="scripted",
        model="m",
        **fields,
    )
