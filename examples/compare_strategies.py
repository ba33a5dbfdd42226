"""Compare strategies on a small eval: a table with confidence intervals and two plots.

Run as a script (``python examples/compare_strategies.py``) or open
``compare_strategies.ipynb``, built from this file by ``examples/build_notebooks.py``.
"""

# %% [markdown]
# # Comparing strategies
#
# Run Direct, chain-of-thought and AGoT on the same questions, then compare them: a summary
# table (metric with a bootstrap 95% interval, tokens, cost, latency), accuracy against cost,
# and an item-by-item paired comparison.
#
# The questions are six invented two-hop questions in HotpotQA's file layout
# (`examples/data/tiny_hotpot.json`), scored with HotpotQA's exact match and F1. The model
# comes from `AGOT_MODEL` (default `local`, the small embedded model: expect low scores and a
# few minutes of CPU; `AGOT_LIMIT` sets how many questions). With `AGOT_MODEL=scripted` (the
# test suite) the replies are canned, so the numbers only illustrate the pictures.

# %%
import os

from _demo import DATA, demo_model, model_string, output_dir, show

from agot.evals import evaluate
from agot.evals.frames import load_runs, summary_table
from agot.evals.plots import plot_cost_tradeoff, plot_paired

model = demo_model()
limit = int(os.environ.get("AGOT_LIMIT", "6" if model_string() == "scripted" else "3"))
out = output_dir() / f"compare-{model_string().replace('/', '_')}"
print("model:", model_string(), "| questions:", limit, "| results in:", out)

# %% [markdown]
# `evaluate` runs every question under every strategy concurrently over one dispatcher per
# model and appends each finished item to `results.jsonl` at once. `resume=True` makes a
# second run of this cell continue from there instead of starting over (the same as
# `agot eval hotpotqa --data ... --strategy direct,cot,agot --out DIR --resume`).

# %%
summary = evaluate(
    "hotpotqa",
    data=str(DATA / "tiny_hotpot.json"),
    strategies=["direct", "cot", "agot"],
    models=[model],
    limit=limit,
    out=str(out),
    resume=True,
    progress=False,
    per_strategy_params={"agot": {"max_depth": 1, "max_layers": 2, "max_nodes": 2}},
    strategy_params={"max_tokens": 96},
)
print(summary.table())

# %% [markdown]
# ## The results as a DataFrame
#
# `load_runs` reads one or more output folders into pandas: one row per item x strategy x
# model, with `scores.*` and `usage.*` flattened into columns, so any slice is one line away.

# %%
runs = load_runs(out)
show(runs[["id", "strategy", "prediction", "gold", "scores.em", "scores.f1", "usage.total_tokens"]])

# %% [markdown]
# `summary_table` gives one row per strategy x model: the headline metric (here exact match)
# with its bootstrap 95% interval, errors, tokens and cost per item, latency. With six
# questions the intervals are wide: that is the honest answer.

# %%
table = summary_table(runs)
show(table)

# %% [markdown]
# ## Accuracy against cost
#
# One point per strategy, with its 95% interval; further left is cheaper, higher is better.

# %%
show(plot_cost_tradeoff(runs, x="tokens", table=table), "compare_tradeoff")

# %% [markdown]
# ## Item by item
#
# Two strategies on the same items: each point is one question (jittered when scores repeat).
# Points below the diagonal are questions AGoT got right and CoT did not. The title gives the
# paired bootstrap interval of the difference and an exact sign test on the untied items.

# %%
show(plot_paired(runs, "agot", "cot"), "compare_paired")
