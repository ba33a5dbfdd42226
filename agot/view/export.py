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
import multiprocessing as mp
import os
import re
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from agot.output_paths import write_text
from agot.view import pages
from agot.view.data import Catalog, Run
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
        packed += _packed_items(run)
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


#: How the export draws item pages' graphs: the built-in layout (see _pack_range).
EXPORT_ENGINE = "python"

#: Rows from which item pages are rendered by several processes (each page takes 5-20 ms,
#: most of it laying out and drawing the graph).
PARALLEL_FROM = 400
_FORKED: Run | None = None  # the run a forked worker renders (inherited, never pickled)


def _packed_items(run: Run) -> list[tuple[str, str]]:
    """Every item page of ``run``, packed, in row order; on several processes when the run is
    large and the platform can fork (the workers inherit the loaded run)."""
    global _FORKED
    rows = len(run.rows)
    workers = min(os.cpu_count() or 1, 16)
    if rows < PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
        return _pack_range(run, range(rows))
    size = max(50, -(-rows // (workers * 4)))
    chunks = [range(start, min(start + size, rows)) for start in range(0, rows, size)]
    _FORKED = run
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            return [page for part in pool.map(_pack_forked, chunks) for page in part]
    finally:
        _FORKED = None


def _pack_forked(indexes: range) -> list[tuple[str, str]]:
    assert _FORKED is not None
    return _pack_range(_FORKED, indexes)


def _pack_range(run: Run, indexes: range) -> list[tuple[str, str]]:
    renderer = Renderer(export_url, export=True)
    siblings = pages.siblings_by_item(run)
    out = []
    for index in indexes:
        anchor = anchor_id("item", run=run.id, index=index)
        # Without the all-levels picture (its parts are on the page already), and drawn by
        # the built-in layout, not a Graphviz process per picture: an AGoT item renders in
        # 50 ms instead of 296 and packs to 8.0 KB instead of 11.1 (same shared machine).
        page = pages.item_page(
            run, index, siblings=siblings, full_picture=False, engine=EXPORT_ENGINE
        )
        out.append((anchor, pack(renderer.section({"id": anchor, "page": "item", "c": page}))))
    return out


def write_export(catalog: Catalog, target: str | os.PathLike[str]) -> Path:
    return write_text(target, export_html(catalog), "--export")
