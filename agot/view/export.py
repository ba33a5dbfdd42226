"""``agot view --export FILE.html``: every page of the viewer in one self-contained file.

Each page becomes a ``<section>``; the address's ``#anchor`` picks the one shown, so links,
the back button and bookmarks work from a file opened straight off the disk, mailed, or put
on any static host. Nothing is loaded from the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agot.output_paths import write_text
from agot.view import pages
from agot.view.data import Catalog
from agot.view.render import Renderer, anchor_id, export_url


def export_html(catalog: Catalog) -> str:
    """The HTML text of the whole catalog."""
    renderer = Renderer(export_url, export=True)
    sections: list[dict[str, Any]] = [{"id": "runs", "page": "runs", "c": pages.runs_page(catalog)}]
    runs = catalog.runs()
    for run in runs:
        sections.append(
            {"id": anchor_id("run", run=run.id), "page": "run", "c": pages.run_page(run)}
        )
        for index in range(len(run.rows)):
            sections.append(
                {
                    "id": anchor_id("item", run=run.id, index=index),
                    "page": "item",
                    "c": pages.item_page(run, index),
                }
            )
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
    return renderer.export(sections, compare_all=compare_all)


def write_export(catalog: Catalog, target: str | os.PathLike[str]) -> Path:
    return write_text(target, export_html(catalog), "--export")
