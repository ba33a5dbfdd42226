"""Kairanban: multi-agent probabilistic classification, its trajectory and its calibration.

Run as a script (``python examples/kairanban.py``) or open ``kairanban.ipynb``, built from this
file by ``examples/build_notebooks.py``.
"""

# %% [markdown]
# # Kairanban: watching agents converge
#
# A *kairanban* is a notice board passed from house to house. In `agot.Kairanban`, agent 1
# reads a text and writes a document (analysis, reasoning, a probability for every label);
# agent 2 reads the text *and* that document, and so on. With `idobata_at=3`, after agent 3
# every agent chats briefly at the "village well" (idobata) and the later agents read the chat.
#
# Per stage we track the **entropy** of the board's distribution (how unsure it is) and the
# **variance** across the agents so far (how much they disagree), then score a small labelled
# set: accuracy, macro-F1, Brier score, log loss and the calibration (reliability) diagram.
#
# The model comes from `AGOT_MODEL` (default `local`: slow on a CPU, `AGOT_LIMIT` sets how many
# texts); the test suite uses `AGOT_MODEL=scripted`, whose agents follow cue words.

# %%
import os

from _demo import demo_model, model_string, output_dir, show

import agot
from agot.evals import RunFolder, evaluate
from agot.evals.frames import stage_frame
from agot.evals.plots import plot_reliability, plot_trajectory
from agot.evals.records import EvalRecord

model = demo_model()
kairanban = agot.Kairanban(
    labels=["negative", "neutral", "positive"], agents=5, idobata_at=3, max_tokens=256
)
print("model:", model_string(), "| mode:", kairanban.mode)

# %% [markdown]
# ## One text

# %%
one = agot.run_sync(kairanban.predict("The service was slow but the food was great.", model=model))
print("label:", one.label)
print("distribution:", {k: round(v, 3) for k, v in (one.distribution or {}).items()})
for comment in one.dialogue:
    print(f"  idobata, agent {comment.agent}: {comment.text or comment.error}")
show(stage_frame(one))

# %%
show(plot_trajectory(one), "kairanban_one")

# %% [markdown]
# ## A small labelled set
#
# Seven invented sentences with gold labels. `evaluate` (the eval runner, as `agot eval`)
# classifies them concurrently over one dispatcher, writes one results row per text and scores
# the run; the trajectory plot now shows the mean over texts with a ±1 standard deviation band,
# and the shaded stages came after the idobata round.

# %%
texts = [
    ("The food was great and the staff were wonderful.", "positive"),
    ("Service was slow and the soup was awful.", "negative"),
    ("The shop opens at nine on weekdays.", "neutral"),
    ("I love this phone, best purchase this year.", "positive"),
    ("The update left my laptop broken; terrible support.", "negative"),
    ("The parcel arrived on Tuesday.", "neutral"),
    ("Great view, but the waiters were rude.", "negative"),
]
limit = int(os.environ.get("AGOT_LIMIT", "7" if model_string() == "scripted" else "3"))
records = [
    EvalRecord(id=f"s{i}", dataset="tweet_eval", question=text, gold=gold)
    for i, (text, gold) in enumerate(texts[:limit])
]
out = output_dir() / f"kairanban-{model_string().replace('/', '_')}"
summary = evaluate(
    "tweet_eval",  # its labels and scorer; the records replace the data set's own
    records=records,
    strategies=[kairanban],
    models=[model],
    out=str(out),
    resume=True,
    progress=False,
)
group = summary.group("kairanban")
print(f"{group.n - group.errors}/{group.n} answered")
print({name: round(m.value, 3) for name, m in group.metrics.items() if m.value is not None})
rows = RunFolder(out).rows()

# %%
show(plot_trajectory(rows), "kairanban_trajectory")

# %% [markdown]
# ## Calibration
#
# Does a confidence of 0.8 mean right 80% of the time? Items are binned by the probability of
# their top label; bars show the accuracy in each bin, the hatched part the gap to the bin's
# mean confidence, the diagonal perfect calibration. ECE is the count-weighted mean gap; the
# diagram uses the report's ten bins, so its title shows the ECE printed above. With a handful
# of texts most bins are empty: run more texts for a meaningful picture.

# %%
answered = [row for row in rows if row.details.get("distribution") is not None]
show(
    plot_reliability(
        [row.gold for row in answered],
        [row.details["distribution"] for row in answered],
        list(kairanban.labels),
        n_bins=10,  # the bins of report.metrics["ece"]
    ),
    "kairanban_reliability",
)
