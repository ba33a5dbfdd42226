"""Turning page data into HTML: one Jinja2 environment per way of linking pages.

On the server a link is a path (``/run/<id>``); in the one-file export it is an anchor
(``#run-<id>``) to a ``<section>`` of the same file. Templates call ``url(kind, ...)`` and never
know which. Autoescaping is on: every model reply, prompt and dataset string is untrusted text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

Url = Callable[..., str]


def server_url(kind: str, **params: Any) -> str:
    if kind == "runs":
        return "/"
    if kind == "run":
        return f"/run/{quote(params['run'])}"
    if kind == "item":
        return f"/run/{quote(params['run'])}/item/{int(params['index'])}"
    if kind == "trace":
        return f"/trace/{quote(params['trace'])}"
    if kind == "compare":
        runs = params.get("runs")
        return "/compare" + (f"?{urlencode([('run', r) for r in runs])}" if runs else "")
    raise ValueError(f"unknown page kind {kind!r}")


def anchor_id(kind: str, **params: Any) -> str:
    """The id of a page's ``<section>`` in the export."""
    if kind == "runs":
        return "runs"
    if kind == "run":
        return f"run-{params['run']}"
    if kind == "item":
        return f"item-{params['run']}-{int(params['index'])}"
    if kind == "trace":
        return f"trace-{params['trace']}"
    if kind == "compare":
        return "compare"
    raise ValueError(f"unknown page kind {kind!r}")


def export_url(kind: str, **params: Any) -> str:
    return "#" + anchor_id(kind, **params)


class Renderer:
    def __init__(self, url: Url, *, export: bool = False) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("agot.view", "templates"),
            autoescape=jinja2.select_autoescape(["html"], default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(url=url, export=export)

    def page(self, page: str, c: dict[str, Any], *, compare_all: str | None = None) -> str:
        return self.env.get_template("page.html").render(
            page=page, c=c, title=c.get("title", "agot"), compare_all=compare_all
        )

    def export(self, sections: list[dict[str, Any]], *, compare_all: str | None) -> str:
        return self.env.get_template("export.html").render(
            sections=sections, title="agot runs", page="export", compare_all=compare_all
        )
