"""The embedded model's speed under each way agot can load llama.cpp on this CPU.

Issue #24: a native llama.cpp build crashes on CPUs that list AMX/AVX-512 without allowing
them; agot now checks the build once in a child process and, where the repacked weight layouts
crash, loads without them (``use_extra_bufts=False``). This measures what each load costs, in
one run, on one prompt, so the figures are ratios to the native load:

* ``native``: ``Llama(**kwargs)`` as agot loaded it before the check;
* ``agot``: the kwargs ``safe_load_kwargs`` returns on this machine (after the check);
* ``no-extra-buffers``: the fallback, repacked layouts off;
* ``ubatch-1``: one token per batch, the other path that avoids the crash (slow prompts).

Prompt evaluation is timed on a ~300-token prompt in one ``eval`` (batched), generation on
``--gen`` greedy tokens after it, one ``eval`` per token; each figure is the best of ``--reps``.

    python benchmarks/bench_cpu_kernels.py [--threads 2] [--reps 3] [--gen 64] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

_PROSE = (
    "The committee reviewed the proposal for the new bridge over the river, weighing its cost, "
    "the time it would take to build, the disruption to traffic, and the benefits to the two "
    "towns on either bank. "
)


def _measure(llm: Any, prompt: list[int], gen: int) -> tuple[float, float]:
    """Prompt tokens/s and generated tokens/s for one pass."""
    import numpy as np

    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt)
    prompt_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(gen):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        llm.eval([token])
    gen_s = time.perf_counter() - start
    return len(prompt) / prompt_s, gen / gen_s


def main(argv: list[str] | None = None) -> int:
    from agot.backends.llamacpp import default_model_path
    from agot.backends.llamacpp_check import construct_llama, safe_load_kwargs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--gen", type=int, default=64)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)

    path = default_model_path()
    base = {
        "model_path": path,
        "n_ctx": 1024,
        "n_threads": args.threads,
        "n_threads_batch": args.threads,
        "n_gpu_layers": 0,
        "verbose": False,
    }
    loads = {
        "native": base,
        "agot": safe_load_kwargs(Path(path), base),
        "no-extra-buffers": {**base, "use_extra_bufts": False},
        "ubatch-1": {**base, "n_ubatch": 1},
    }
    models = {name: construct_llama(kwargs) for name, kwargs in loads.items()}
    prompt = models["native"].tokenize((_PROSE * 8).encode())[:307]
    best: dict[str, list[float]] = {name: [0.0, 0.0] for name in loads}
    for _ in range(args.reps):  # interleaved, so machine noise hits every load alike
        for name, llm in models.items():
            p, g = _measure(llm, prompt, args.gen)
            best[name] = [max(best[name][0], p), max(best[name][1], g)]
    ref_p, ref_g = best["native"]
    print(f"{len(prompt)}-token prompt, {args.gen} generated tokens, {args.threads} threads,")
    print(f"best of {args.reps}; agot's load: {loads['agot'].get('use_extra_bufts', 'default')}")
    print(f"{'load':<18}{'prompt tok/s':>14}{'gen tok/s':>12}{'prompt ×':>10}{'gen ×':>8}")
    for name, (p, g) in best.items():
        print(f"{name:<18}{p:>14.1f}{g:>12.1f}{p / ref_p:>10.3f}{g / ref_g:>8.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"prompt_tokens": len(prompt), "best": best}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
