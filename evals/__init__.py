"""agot.evals: dataset loaders, scorers faithful to the official ones, and a resumable runner.

>>> from agot.evals import run_eval, load_dataset
>>> records = load_dataset("hotpotqa", data="hotpot_dev_distractor_v1.json", limit=5)
>>> summary = await run_eval("hotpotqa", data="hotpot_dev_distractor_v1.json",
...                          strategies=["cot", "agot"], models=["local"], limit=5, out="runs/hp")
>>> print(summary.table())

Names load lazily, so importing this package stays cheap (numpy and the loaders come in on
first use).
"""

from __future__ import annotations

from agot.lazy import lazy_attributes

_EXPORTS = {
    "EvalRecord": "agot.evals.records",
    "DatasetSpec": "agot.evals.datasets",
    "dataset_names": "agot.evals.datasets",
    "get_dataset": "agot.evals.datasets",
    "load_dataset": "agot.evals.datasets",
    "register_dataset": "agot.evals.datasets",
    "Scorer": "agot.evals.scorers",
    "Score": "agot.evals.scorers",
    "get_scorer": "agot.evals.scorers",
    "register_scorer": "agot.evals.scorers",
    "EvalConfig": "agot.evals.runner",
    "run_eval": "agot.evals.runner",
    "evaluate": "agot.evals.runner",
    "EvalSummary": "agot.evals.summary",
    "summarize": "agot.evals.summary",
    "ResultRow": "agot.evals.run_folder",
    "read_results": "agot.evals.run_folder",
    "RunFolder": "agot.evals.run_folder",
    "paired_comparison": "agot.evals.stats",
    "bootstrap_mean": "agot.evals.stats",
    **{
        name: "agot.evals.frames"
        for name in ("load_runs", "summary_table", "paired_items", "stage_frame")
    },
    **{
        name: "agot.evals.plots"
        for name in ("plot_cost_tradeoff", "plot_paired", "plot_trajectory", "plot_reliability")
    },
    "tradeoff_plot": "agot.evals.tradeoff",
    "pareto_front": "agot.evals.tradeoff",
}


__getattr__ = lazy_attributes(__name__, _EXPORTS)


__all__ = sorted(_EXPORTS)
