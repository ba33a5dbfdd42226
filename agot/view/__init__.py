"""``agot view``: a local web viewer over eval run folders and saved traces.

Pages: the runs list, a run (per-strategy summary with intervals, paired comparisons, plots,
a sortable and filterable item table), an item (question, gold, prediction, scores, the thought
graph with nested graphs to unfold, the call timeline with its critical path, every call's
prompt and completion), and a comparison of runs item by item with the items that flipped.
Runs are read through :mod:`agot.evals.run_folder` only. Needs ``pip install "agot[view]"``.
"""

from __future__ import annotations

from agot.view.data import Catalog

__all__ = ["Catalog"]
