"""The same code on a remote model, an OpenAI-compatible server, or a local GPU.

Run as a script (``python examples/remote_or_gpu.py``) or open ``remote_or_gpu.ipynb``, built
from this file by ``examples/build_notebooks.py``. Cells that need a server or a GPU only run
when their environment variable is set, so the file runs anywhere.
"""

# %% [markdown]
# # Remote models, OpenAI-compatible servers and GPUs
#
# Nothing in a strategy names a backend: the **model string** picks it, litellm style.
#
# | model string | backend |
# | --- | --- |
# | `local` | embedded SmolLM2-135M (llama.cpp, CPU), the default |
# | `llamacpp/path/to/model.gguf` | any GGUF file through llama.cpp |
# | `openai/gpt-4o-mini`, `anthropic/...` | a hosted provider via litellm (`OPENAI_API_KEY`...) |
# | `hosted_vllm/<served name>` + `api_base` | vLLM, SGLang or any OpenAI-compatible server |
# | `openai/<name>` + `api_base` | llama-server and other OpenAI-compatible servers |
# | `transformers/<id or path>` | a Hugging Face model in-process on your GPU, batched |
# | `scripted` | canned replies (tests) |
#
# So the notebooks in this folder run unchanged on any of them: set `AGOT_MODEL` (and
# `AGOT_API_BASE` for a server) before starting Jupyter. API keys stay in the environment:
# never paste them into a notebook; agot keeps them out of traces, caches and results.

# %%
import os

from _demo import demo_model, model_string, show

import agot
from agot.render import plot_timeline

# %% [markdown]
# ## Limits and budgets
#
# Every run goes through a dispatcher that enforces **limits** (calls in flight, requests and
# tokens per minute, timeouts, retries with backoff on 429/5xx) and a **budget** (calls,
# tokens, cost, wall time). A run that hits its budget stops cleanly and answers from what it
# has (`result.stopped` says why). This cell runs everywhere, on the default model.

# %%
limits = agot.Limits(max_concurrency=4, requests_per_minute=120, timeout_s=120)
budget = agot.Budget(max_calls=6)
small = agot.AGoT(max_depth=1, max_layers=2, max_nodes=2, max_tokens=64)
capped = agot.run_sync(
    small.solve("Why is the sky blue?", model=demo_model(), limits=limits, budget=budget)
)
print("model:", model_string())
print("answer:", capped.answer)
print("stopped:", capped.stopped)
print("calls:", capped.usage.calls)

# %% [markdown]
# ## A hosted model
#
# Set `AGOT_REMOTE_MODEL` (for example `openai/gpt-4o-mini`, with `OPENAI_API_KEY` in the
# environment) to run this cell. The budget caps the spend of one question.

# %%
remote = os.environ.get("AGOT_REMOTE_MODEL")
if remote:
    result = agot.run_sync(
        agot.AGoT().solve(
            "Which is larger, 2**10 or 10**3, and by how much?",
            model=remote,
            limits=agot.Limits(max_concurrency=8, requests_per_minute=300),
            budget=agot.Budget(max_cost=0.05, max_calls=60),
        )
    )
    show(result)
    show(plot_timeline(result), "remote_timeline")
else:
    print("skipped: set AGOT_REMOTE_MODEL=openai/gpt-4o-mini (and OPENAI_API_KEY) to run")

# %% [markdown]
# ## An OpenAI-compatible server (vLLM, SGLang, llama-server)
#
# Start a server on a GPU machine, for example
#
# ```bash
# vllm serve Qwen/Qwen2.5-7B-Instruct --port 8000          # vLLM
# python -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct --port 8000  # SGLang
# llama-server -m model.gguf --port 8000 -ngl 99            # llama.cpp's server
# ```
#
# then set `AGOT_SERVER_MODEL=hosted_vllm/Qwen/Qwen2.5-7B-Instruct` and
# `AGOT_API_BASE=http://127.0.0.1:8000/v1`. Output schemas go to the server as
# `response_format` (vLLM and llama-server enforce them while decoding). A server batches
# concurrent requests, so let many calls be in flight: AGoT's thoughts of one layer are
# independent. The same flags work for evals:
# `agot eval hotpotqa --model hosted_vllm/... --api-base http://127.0.0.1:8000/v1 ...`.

# %%
server_model = os.environ.get("AGOT_SERVER_MODEL")
api_base = os.environ.get("AGOT_API_BASE")
if server_model and api_base:
    result = agot.run_sync(
        agot.AGoT().solve(
            "Why is the sky blue?",
            model=server_model,
            api_base=api_base,
            limits=agot.Limits(max_concurrency=32),
        )
    )
    show(result)
    show(plot_timeline(result), "server_timeline")
else:
    print("skipped: set AGOT_SERVER_MODEL and AGOT_API_BASE to run against a server")

# %% [markdown]
# ## A model on this machine's GPU (transformers)
#
# `transformers/<id or path>` loads a Hugging Face causal LM in-process and batches
# concurrent requests continuously, sharing the prompt prefix that sibling thoughts have in
# common. Weights come from a local folder or the Hugging Face cache (nothing is downloaded
# unless you pass `extra={"allow_download": True}`). Set `AGOT_TRANSFORMERS_MODEL` (for
# example `HuggingFaceTB/SmolLM2-360M-Instruct`) to run this cell on a CUDA GPU.

# %%
hf_model = os.environ.get("AGOT_TRANSFORMERS_MODEL")
cuda = False
if hf_model:
    import torch

    cuda = torch.cuda.is_available()
if hf_model and cuda:
    result = agot.run_sync(
        agot.AGoT(max_depth=1, max_layers=2, max_nodes=3).solve(
            "Why is the sky blue?",
            model=f"transformers/{hf_model}",
            device="cuda",
            limits=agot.Limits(max_concurrency=16),
        )
    )
    show(result)
    show(plot_timeline(result), "gpu_timeline")
else:
    print("skipped: set AGOT_TRANSFORMERS_MODEL on a machine with a CUDA GPU to run")
