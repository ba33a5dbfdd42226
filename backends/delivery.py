"""Whether the request of the attempt in progress has reached the wire.

A call can be cancelled while its request is in flight (a speculative call that lost, the slower
copy of a hedged request, an attempt cut by a timeout). The server then has the request, and its
prompt tokens are spent although no reply comes back, so the dispatcher counts it in
``Usage.cancelled``. Only the backend can tell whether the bytes left: a request cancelled while
it still waited for a pooled connection never reached the server and must not be counted.

The dispatcher opens a :class:`Delivery` for each attempt (:func:`delivery_for_attempt`);
a backend that knows calls :func:`mark` with ``False`` when it starts and ``True`` once the
request body is written. A backend that says nothing is taken to have sent its request as soon
as it was called (the litellm path cannot see its HTTP client's writes).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator


class Delivery:
    """One attempt's request: ``sent`` is None (the backend does not say), False or True."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent: bool | None = None

    @property
    def reached_server(self) -> bool:
        """Counted as sent: the backend said so, or said nothing."""
        return self.sent is not False


_current: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
    "agot_delivery", default=None
)


@contextlib.contextmanager
def delivery_for_attempt() -> Iterator[Delivery]:
    """The attempt's :class:`Delivery`, current for the backend call inside the block."""
    delivery = Delivery()
    token = _current.set(delivery)
    try:
        yield delivery
    finally:
        _current.reset(token)


def mark(sent: bool) -> None:
    """Say whether the current attempt's request has been written (no-op outside an attempt)."""
    delivery = _current.get()
    if delivery is not None:
        delivery.sent = sent
