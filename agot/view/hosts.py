"""Which ``Host:`` headers the viewer answers: a guard against DNS rebinding.

The viewer binds to loopback, but a web page the user opens elsewhere can point a host name it
controls at 127.0.0.1 and then read the viewer's pages from the user's own browser (every
prompt and reply a run kept): the browser treats that name as the page's own origin. The one
thing such a request cannot fake is its ``Host:`` header, which names the attacker's domain.
So the app answers only the names the user can have meant: loopback names always, the
``--host`` address it was bound to, and when bound to every interface (``0.0.0.0``, ``::``)
also IP literals and this machine's own names. Anything else gets a 403 naming the header.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def host_name(header: str) -> str:
    """The name in a ``Host:`` header, lower-cased, without its port or IPv6 brackets."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


@dataclass(frozen=True)
class HostPolicy:
    """The host names a viewer bound to ``bind`` answers to."""

    bind: str = "127.0.0.1"
    extra: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_bind(cls, bind: str) -> HostPolicy:
        name = host_name(bind) if bind.startswith("[") else bind.strip().lower()
        extra = {name}
        if name in WILDCARDS:
            for own in (socket.gethostname(), socket.getfqdn()):
                if own:
                    extra.add(own.lower())
        return cls(bind=name, extra=frozenset(n for n in extra if n))

    def allows(self, header: str | None) -> bool:
        if not header:
            return False  # HTTP/1.1 requires it; a browser always sends one
        name = host_name(header)
        if name in LOOPBACK_NAMES or name in self.extra:
            return True
        address = _ip(name)
        if address is None:
            return False
        if address.is_loopback:
            return True
        return self.bind in WILDCARDS  # served on every interface: any address of this machine


class HostGuard:
    """ASGI middleware: requests whose ``Host:`` the policy refuses get a plain 403."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            raw = headers.get(b"host")
            header = raw.decode("latin-1") if raw is not None else None
            if not self.policy.allows(header):
                if scope["type"] == "http":
                    await _refuse(send, header)
                else:
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, header: str | None) -> None:
    shown = (header or "(none)")[:100].encode("ascii", "backslashreplace").decode("ascii")
    body = (
        f"agot view: refused Host header {shown!r}: the viewer answers only the names it was "
        "started for (loopback, or the address given to --host)\n"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
