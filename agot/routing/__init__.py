"""Model routing: which model serves each reasoning step (local first, escalate when needed).

See :class:`Router` for the policies (per-role routing, cascade with confidence signals,
keeping context passages local) and :mod:`agot.routing.signals` for which signal each backend
supports and what it costs.
"""

from agot.routing.privacy import WITHHELD, Redactor
from agot.routing.router import Escalation, RouteLog, Router
from agot.routing.signals import (
    SIGNALS,
    AgreementSignal,
    LogprobSignal,
    SchemaSignal,
    SelfReportSignal,
    Signal,
    make_signal,
)
from agot.routing.spec import is_in_process, parse_routes
from agot.trace import usage_by, usage_by_model, usage_by_role

__all__ = [
    "SIGNALS",
    "WITHHELD",
    "AgreementSignal",
    "Escalation",
    "LogprobSignal",
    "Redactor",
    "RouteLog",
    "Router",
    "SchemaSignal",
    "SelfReportSignal",
    "Signal",
    "is_in_process",
    "make_signal",
    "parse_routes",
    "usage_by",
    "usage_by_model",
    "usage_by_role",
]
