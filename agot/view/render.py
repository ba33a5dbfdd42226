"""Turning page data into HTML: one Jinja2 environment per way of linking pages.

On the server a link is a path (``/run/<id>``); in the one-file export it is an anchor
(``#run-<id>``) to a ``<section>`` of the same file. Templates call ``url(kind, ...)`` and never
know which. Autoescaping is on: every model reply, prompt and dataset string is untrusted text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

import jinja2

Url = Callable[..., str]


class Page(NamedTuple):
    """Where a kind of page lives, as templates over its parameters (``run``, ``index``,
    ``trace``)."""

    path: str  #: on the server
    anchor: str  #: the id of its ``<section>`` in the export


PAGES = {
    "runs": Page("/", "runs"),
    "run": Page("/run/{run}", "run-{run}"),
    "item": Page("/run/{run}/item/{index}", "item-{run}-{index}"),
    "trace": Page("/trace/{trace}", "trace-{trace}"),
    "compare": Page("/compare", "compare"),
}


def _fill(template: str, params: dict[str, Any], escape: Callable[[str], str]) -> str:
    """``template`` with the page's parameters, each escaped (an item's index as an integer)."""
    return template.format_map(
        {name: escape(str(int(v) if name == "index" else v)) for name, v in params.items()}
    )


def _page(kind: str) -> Page:
    if kind not in PAGES:
        raise ValueError(f"unknown page kind {kind!r}")
    return PAGES[kind]


def server_url(kind: str, *, runs: Sequence[str] | None = None, **params: Any) -> str:
    """The page's path on the server; the ``runs`` a comparison shows go in the query."""
    path = _fill(_page(kind).path, params, quote)
    return path + (f"?{urlencode([('run', r) for r in runs])}" if runs else "")


def anchor_id(kind: str, **params: Any) -> str:
    """The id of a page's ``<section>`` in the export."""
    return _fill(_page(kind).anchor, params, str)


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
        self.env.filters["datetime"] = _datetime

    def page(self, page: str, c: dict[str, Any], *, compare_all: str | None = None) -> str:
        return self.env.get_template("page.html").render(
            page=page, c=c, title=c.get("title", "agot"), compare_all=compare_all
        )

    def section(self, section: dict[str, Any]) -> str:
        """One page of the export as its ``<section>`` (to be packed by the caller)."""
        return self.env.get_template("section.html").render(section=section)

    def export(
        self,
        sections: list[dict[str, Any]],
        *,
        compare_all: str | None,
        packed: Sequence[tuple[str, str]] = (),
    ) -> str:
        return self.env.get_template("export.html").render(
            sections=sections,
            packed=packed,
            title="agot runs",
            page="export",
            compare_all=compare_all,
        )


def _datetime(timestamp: float) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM`` (the viewer runs where the runs were made)."""
    import datetime

    try:
        return datetime.datetime.fromtimestamp(float(timestamp)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):
        return "?"
