"""The ``agot view`` web app: Starlette routes over a :class:`~agot.view.data.Catalog`.

Every request re-reads what it shows (a run in progress shows its newest rows). There are no
write routes and no static files: each page is one HTML document with its CSS, script and
pictures inline, which is also what makes the one-file export possible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from agot.view import pages
from agot.view.data import Catalog
from agot.view.hosts import HostGuard, HostPolicy
from agot.view.render import Renderer, server_url

T = TypeVar("T")


class _Missing(Exception):
    """No such page (an unknown run, item or trace): answered with the not-found page."""


def create_app(catalog: Catalog, *, hosts: HostPolicy | None = None) -> Starlette:
    """The ASGI app serving ``catalog`` (run it with uvicorn, or ``agot view``).

    It answers only requests whose ``Host:`` header ``hosts`` allows (default: loopback names,
    as for a server bound to 127.0.0.1; see :mod:`agot.view.hosts`).
    """
    renderer = Renderer(server_url)

    def html(page: str, content: dict[str, Any], status: int = 200) -> Response:
        compare_all = (
            server_url("compare", runs=catalog.run_ids()) if len(catalog.run_ids()) > 1 else None
        )
        body = renderer.page(page, content, compare_all=compare_all)
        return HTMLResponse(body, status_code=status)

    def find(lookup: Callable[[str], T], key: str, what: str) -> T:
        try:
            return lookup(key)
        except KeyError:
            raise _Missing(f"no {what} {key!r}") from None

    async def missing(request: Request, exc: Exception) -> Response:
        return html("missing", {"title": "not found", "what": str(exc)}, status=404)

    async def runs(request: Request) -> Response:
        return html("runs", pages.runs_page(catalog))

    async def run(request: Request) -> Response:
        return html("run", pages.run_page(find(catalog.run, request.path_params["run"], "run")))

    async def item(request: Request) -> Response:
        run_id, index = request.path_params["run"], request.path_params["index"]
        found = find(catalog.run, run_id, "run")
        if not 0 <= index < len(found.rows):
            raise _Missing(f"run {run_id!r} has no item {index}")
        return html("item", pages.item_page(found, index))

    async def trace(request: Request) -> Response:
        saved = find(catalog.trace, request.path_params["trace"], "trace")
        return html("trace", pages.saved_trace_page(saved))

    async def compare(request: Request) -> Response:
        ids = request.query_params.getlist("run") or catalog.run_ids()
        chosen = [find(catalog.run, i, "run") for i in ids]
        if not chosen:
            raise _Missing("no runs to compare")
        return html("compare", pages.compare_page(chosen))

    app = Starlette(
        routes=[
            Route("/", runs),
            Route("/run/{run}", run),
            Route("/run/{run}/item/{index:int}", item),
            Route("/trace/{trace}", trace),
            Route("/compare", compare),
        ],
        exception_handlers={_Missing: missing},
    )
    app.add_middleware(HostGuard, policy=hosts or HostPolicy())
    return app
