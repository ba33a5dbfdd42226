"""``agot view --export FILE.html``: every page of the viewer in one self-contained file.

Each page becomes a ``<section>``; the address's ``#anchor`` picks the one shown, so links,
the back button and bookmarks work from a file opened straight off the disk, mailed, or put
on any static host. Nothing is loaded from the network.

Item pages are most of a run's bytes (every call's prompt and completion, graph pictures), so
each is stored deflated and base64-encoded in a ``<script type="application/x-agot-page">``
and unpacked by the browser (``DecompressionStream``) when it is opened: the file grows with
what the lists show plus about a fifth of the item pages' text, and opens at once.
"""

from __future__ import annotations

import base64
import os
import re
import zlib
from pathlib import Path
from typing import Any

from agot.output_paths import write_text
from agot.view import pages
from agot.view.data import Catalog
from agot.view.render import Renderer, anchor_id, export_url

#: The element that holds one packed page; its id is ``z-`` and the page's anchor.
_PACKED = re.compile(r'<script type="application/x-agot-page" id="z-([^"]+)">([^<]*)</script>')


def pack(html: str) -> str:
    """``html`` deflated (zlib format, what ``DecompressionStream("deflate")`` reads), base64."""
    return base64.b64encode(zlib.compress(html.encode("utf-8"), 6)).decode("ascii")


def unpack(data: str) -> str:
    return zlib.decompress(base64.b64decode(data)).decode("utf-8")


def packed_pages(html: str) -> dict[str, str]:
    """The packed pages of an export, by anchor, as HTML (for tests and tools that read one)."""
    return {m[1]: unpack(m[2]) for m in _PACKED.finditer(html)}


def readable(html: str) -> str:
    """An export with every packed page unpacked in place: the text a reader can reach."""
    return _PACKED.sub(lambda m: unpack(m[2]), html)


def export_html(catalog: Catalog) -> str:
    """The HTML text of the whole catalog."""
    renderer = Renderer(export_url, export=True)
    sections: list[dict[str, Any]] = [{"id": "runs", "page": "runs", "c": pages.runs_page(catalog)}]
    packed: list[tuple[str, str]] = []
    runs = catalog.runs()
    for run in runs:
        sections.append(
            {"id": anchor_id("run", run=run.id), "page": "run", "c": pages.run_page(run)}
        )
        siblings = pages.siblings_by_item(run)
        for index in range(len(run.rows)):
            anchor = anchor_id("item", run=run.id, index=index)
            page = pages.item_page(run, index, siblings=siblings)
            section = {"id": anchor, "page": "item", "c": page}
            packed.append((anchor, pack(renderer.section(section))))
    for saved in catalog.traces():
        sections.append(
            {
                "id": anchor_id("trace", trace=saved.id),
                "page": "trace",
                "c": pages.saved_trace_page(saved),
            }
        )
    compare_all = None
    if len(runs) > 1:
        sections.append({"id": "compare", "page": "compare", "c": pages.compare_page(runs)})
        compare_all = export_url("compare")
    return renderer.export(sections, compare_all=compare_all, packed=packed)


def write_export(catalog: Catalog, target: str | os.PathLike[str]) -> Path:
    return write_text(target, export_html(catalog), "--export")
