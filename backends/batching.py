"""The batching engine: transformers' continuous batching behind an async ``generate``.

transformers (>= 5) ships continuous batching with a paged KV cache: a background thread runs
one forward pass after another, each over every running request, and requests join the running
batch at the next step and leave it as soon as they finish. The same paged cache hashes full
pages of prompt KV, so a later request with the same prompt prefix reuses them instead of
recomputing (see :mod:`agot.backends.prefix_scheduler` for siblings that arrive together).

This module adapts that manager to asyncio and to agot's needs:

* ``await generate(prompt_ids, ...)`` submits one request and awaits its result, delivered
  onto the caller's event loop by the manager's result handler, so the event loop never blocks
  on torch; starting and stopping (seconds) run in a worker thread.
* Per-request sampling, schema masks and stop strings go through
  :class:`~agot.backends.request_decoding.RequestDecodingProcessor`, installed into the
  manager's logits-processor list. It is plain Python that depends on the previous step's
  tokens, so CUDA graphs and async double-buffering are switched off.
* A forward pre-hook counts forward passes and query tokens, so tests and benchmarks can see
  batching and prefix reuse from the outside.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agot.errors import BackendError

if TYPE_CHECKING:  # torch and transformers load only when an engine starts
    from agot.backends.request_decoding import RequestDecoding, RequestDecodingProcessor

#: Seconds ``stop`` waits for the engine thread to exit.
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class EngineConfig:
    """Sizes of the continuous batch and its paged cache (None: transformers decides)."""

    max_batch: int
    page_size: int
    kv_cache_tokens: int | None
    max_batch_tokens: int | None
    prefix_sharing: bool = True
    #: Prefix-aware admission of siblings (only matters with ``prefix_sharing``).
    shared_prefix_scheduler: bool = True


class EngineStats(BaseModel):
    """Counters since the engine started."""

    forward_passes: int = Field(0, description="batched forward passes of the model")
    query_tokens: int = Field(
        0,
        description="tokens fed through the model (prefill chunks plus one per decoding request "
        "and step)",
    )
    requests: int = Field(0, description="generation requests admitted")
    reused_prompt_tokens: int = Field(
        0, description="prompt tokens served from the prefix cache instead of being recomputed"
    )
    deferred_admissions: int = Field(
        0, description="times a sibling waited for its leader's prefill (shared-prefix scheduler)"
    )


@dataclass(frozen=True)
class EngineOutput:
    """One finished request."""

    #: Generated token ids, including the final end-of-sequence token when there is one.
    tokens: list[int]
    prompt_tokens: int
    #: ``"stop"`` (end-of-sequence token) or ``"length"`` (``max_new_tokens`` reached).
    finish_reason: str
    #: Seconds from submission to the first generated token, when known.
    ttft_s: float | None
    latency_s: float


class BatchEngine:
    """One model, one continuous batch, many concurrent ``generate`` calls."""

    def __init__(
        self,
        model: Any,
        *,
        config: EngineConfig,
        eos_token_ids: list[int],
        processor: RequestDecodingProcessor,
    ) -> None:
        self.model = model
        self.config = config
        self.eos_token_ids = list(eos_token_ids)
        self.processor = processor
        self._manager: Any = None
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._forward_passes = 0
        self._query_tokens = 0
        self._requests = 0
        self._hook: Any = None
        #: Most tokens (prompt + reply) one request may hold in the paged cache.
        self.capacity_tokens = 0

    # -- lifecycle (blocking; call from a worker thread) ----------------------------------------
    def start(self) -> None:
        """Create the paged cache and start the batching thread; idempotent."""
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        from agot.backends import prefix_scheduler

        with self._lock:
            if self._manager is not None:
                return
            cfg = self.config
            num_blocks = None
            if cfg.kv_cache_tokens is not None:
                num_blocks = max(2, -(-cfg.kv_cache_tokens // cfg.page_size))
            scheduler = "fifo"
            if cfg.prefix_sharing and cfg.shared_prefix_scheduler:
                scheduler = prefix_scheduler.register()
            cb_config = ContinuousBatchingConfig(
                page_size=cfg.page_size,
                num_blocks=num_blocks,
                max_batch_tokens=cfg.max_batch_tokens,
                max_requests_per_batch=cfg.max_batch,
                allow_block_sharing=cfg.prefix_sharing,
                # The per-request processor is Python run between steps: no graphs, no overlap.
                use_async_batching=False,
                use_cuda_graph=False,
                max_memory_percent=0.8 if self.model.device.type == "cuda" else None,
                scheduler_type=scheduler,
            )
            generation_config = GenerationConfig(
                do_sample=False,
                max_new_tokens=256,
                eos_token_id=self.eos_token_ids,
                pad_token_id=self.eos_token_ids[0],
            )
            manager = self.model.init_continuous_batching(
                generation_config=generation_config, continuous_batching_config=cb_config
            )
            processors = manager.logit_processor
            processors.logits_processor.append(self.processor)
            processors.tensors_required += 1
            processors.do_processing = True
            manager.warmup()  # builds the paged cache now, so its size is known before requests
            cache = manager.batch_processor.cache
            self.capacity_tokens = max(0, (cache.num_blocks - 1) * cfg.page_size)
            self._hook = self.model.register_forward_pre_hook(self._count, with_kwargs=True)
            manager.start()
            self._manager = manager

    def stop(self) -> None:
        """Stop the batching thread (requests still running fail) and free the cache."""
        with self._lock:
            manager, self._manager = self._manager, None
            if manager is None:
                return
            if manager.is_running():
                manager.stop(block=True, timeout=STOP_TIMEOUT_S, hard_stop=True)
            manager.destroy()
            if self._hook is not None:
                self._hook.remove()
                self._hook = None

    @property
    def running(self) -> bool:
        return self._manager is not None and self._manager.is_running()

    def _count(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._forward_passes += 1
        input_ids = kwargs.get("input_ids")
        if input_ids is None and args:
            input_ids = args[0]
        shape = getattr(input_ids, "shape", None)
        if shape:
            self._query_tokens += int(shape[-1])

    @property
    def stats(self) -> EngineStats:
        reused = deferred = 0
        batch_processor = getattr(self._manager, "batch_processor", None)
        scheduler = getattr(batch_processor, "scheduler", None)
        if scheduler is not None:
            reused = getattr(scheduler, "reused_prompt_tokens", 0)
            deferred = getattr(scheduler, "deferred", 0)
        return EngineStats(
            forward_passes=self._forward_passes,
            query_tokens=self._query_tokens,
            requests=self._requests,
            reused_prompt_tokens=reused,
            deferred_admissions=deferred,
        )

    # -- the async call path --------------------------------------------------------------------
    async def generate(
        self,
        prompt_ids: list[int],
        *,
        max_new_tokens: int,
        decoding: RequestDecoding | None = None,
        on_tokens: Callable[[list[int]], None] | None = None,
    ) -> EngineOutput:
        """Run one request in the shared batch and return its tokens. ``on_tokens``: called on
        the event loop with the tokens generated so far after each step of the batch (the
        manager's per-token streaming), for a reply streamed as it is written."""
        manager = self._manager
        if manager is None or not manager.is_running():
            raise BackendError(self._dead_message(manager), backend="transformers")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        request_id = f"agot-{next(self._ids)}"

        def deliver(output: Any) -> None:
            if done.done():
                return
            if output.is_finished():
                done.set_result(output)
            elif on_tokens is not None:
                on_tokens(list(output.generated_tokens))

        if decoding is not None and decoding.needed:
            self.processor.add(request_id, decoding)
        submitted = time.perf_counter()
        try:
            manager.register_result_handler(request_id, deliver)
            accepted = manager.add_request(
                list(prompt_ids),
                request_id=request_id,
                max_new_tokens=max_new_tokens,
                eos_token_id=self.eos_token_ids,
                record_timestamps=True,
                streaming=on_tokens is not None,
            )
            if accepted is None:
                raise BackendError(self._dead_message(manager), backend="transformers")
            self._requests += 1
            output = await done
        except BaseException:
            manager.cancel_request(request_id)
            router = getattr(manager, "output_router", None)
            if router is not None:
                with router._lock:
                    router.result_handlers.pop(request_id, None)
            raise
        finally:
            self.processor.discard(request_id)
        if output.error is not None:
            raise BackendError(
                f"the transformers engine failed on a request: {output.error}",
                backend="transformers",
            )
        tokens = list(output.generated_tokens)
        finish = "stop" if tokens and tokens[-1] in self.eos_token_ids else "length"
        stamps = output.timestamps or []
        ttft = stamps[0] - output.created_time if stamps else None
        return EngineOutput(
            tokens=tokens,
            prompt_tokens=len(prompt_ids),
            finish_reason=finish,
            ttft_s=ttft,
            latency_s=time.perf_counter() - submitted,
        )

    @staticmethod
    def _dead_message(manager: Any) -> str:
        if manager is None:
            return "the transformers engine is closed; create a new backend"
        status = getattr(manager, "background_thread_status", None)
        error = getattr(status, "fatal_error", None)
        if error is not None:
            return f"the transformers engine stopped after an error ({error}); create a new backend"
        return "the transformers engine is not running; create a new backend"
