"""Quickstart: solve one question with AGoT and look at the graph it built.

Run as a script (``python examples/quickstart.py``; pictures go to ./example-output) or open
``quickstart.ipynb``, built from this file by ``examples/build_notebooks.py``.
"""

# %% [markdown]
# # agot quickstart
#
# Solve one question with **AGoT** (Adaptive Graph of Thoughts) and look at what it did: the
# graph of sub-problems, the answer, the tokens it used and the timeline of its model calls.
#
# The model comes from the `AGOT_MODEL` environment variable; the default `local` is the
# small embedded model (SmolLM2-135M through llama.cpp, CPU only, no API key). Its answers are
# weak, but every picture below is real. The test suite runs this notebook with
# `AGOT_MODEL=scripted`, a stand-in with canned replies.

# %%
from _demo import demo_model, model_string, output_dir, show

import agot
from agot.render import graph_to_mermaid, graph_to_text, plot_timeline

model = demo_model()
print("model:", model_string())

# %% [markdown]
# Small settings keep the run short on a CPU: one level of nesting (`max_depth=1`), two
# layers per graph, two new thoughts per layer, short answers. The paper's setting is
# `max_depth=1, max_layers=3, max_nodes=3`.

# %%
strategy = agot.AGoT(max_depth=1, max_layers=2, max_nodes=2, max_tokens=64)
result = agot.run_sync(strategy.solve("Why is the sky blue?", model=model))
show(result)

# %% [markdown]
# ## The graph
#
# Each column is a layer of thoughts; arrows are dependencies (a thought's prompt includes the
# answers of its parents). A thought judged *complex* (thick border) was solved by a nested
# graph, drawn as a dashed box whose final answer feeds it. Green: answered; red: failed; grey
# dashed: skipped because a budget ran out. Hover a node for its full question and answer.

# %%
graph = result.thought_graph()
show(graph, "quickstart_graph")

# %% [markdown]
# The same graph as a text outline (what `agot show TRACE` prints) and as Mermaid source (for
# Markdown pages that render Mermaid, such as GitHub).

# %%
print(graph_to_text(graph))
print()
print("\n".join(graph_to_mermaid(graph).splitlines()[:8]), "\n...")

# %% [markdown]
# ## The timeline
#
# One bar per model call, from its start to its end, coloured by role (propose a layer,
# assess complexity, solve a thought, check for a final answer, synthesise). Calls that ran at
# the same time sit in different lanes; black outlines mark the critical path, the chain of
# calls that had to wait for each other. The title compares wall time with the critical path.

# %%
show(plot_timeline(result), "quickstart_timeline")

# %% [markdown]
# ## Saving the run
#
# A trace holds the question, answer, usage, graph and every call. `agot show` renders it
# again later: `agot show quickstart_trace.json --format svg --out graph.svg` (formats `text`,
# `mermaid`, `dot`, `svg`).

# %%
trace = result.save_trace(output_dir() / "quickstart_trace.json")
print("trace written to", trace)
print(f"{len(result.events)} calls, {result.usage.total_tokens} tokens, wall {result.wall_s:.2f}s")
