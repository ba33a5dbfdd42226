"""``transformers/<model-id-or-path>``: a Hugging Face causal LM in-process, continuously batched.

For users with a GPU and open weights. AGoT's sibling calls arrive together and share long
prompt prefixes (system prompt, question, graph so far), which is what an in-process engine
can exploit and a one-request-at-a-time loop cannot:

* concurrent requests run in one continuous batch (transformers' own continuous batching and
  paged attention, wrapped by :mod:`agot.backends.batching`): requests join the running batch
  at the next forward pass and leave it when done, so the dispatcher's concurrency limit is the
  batch size (``capabilities.default_concurrency``);
* shared prompt prefixes are computed once and reused from the paged cache
  (:mod:`agot.backends.prefix_scheduler`);
* output schemas are enforced while decoding when xgrammar is installed
  (:mod:`agot.backends.schema_decoding`); otherwise the dispatcher validates and re-asks.

Weights come from a local folder or the Hugging Face cache only; nothing is downloaded unless
``extra={"allow_download": True}``. The model loads on first use (or ``await backend.start()``)
in a worker thread, on ``options.device``, else CUDA when available, else CPU.

``options.extra`` keys (all optional): ``allow_download``, ``revision``, ``dtype``
(``auto|float32|bfloat16|float16``), ``max_batch``, ``page_size``, ``kv_cache_tokens``,
``max_batch_tokens``, ``prefix_sharing``, ``trust_remote_code``.
"""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import os
import threading
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from agot.backends.base import Capabilities
from agot.backends.batching import BatchEngine, EngineConfig, EngineStats
from agot.backends.registry import BackendOptions
from agot.backends.schema_decoding import schema_decoding_available
from agot.backends.stream_bridge import Emit, stream_from
from agot.config import Settings
from agot.errors import BackendError, ConfigError
from agot.types import BackendReply, GenerationRequest, Message

if TYPE_CHECKING:  # these import torch and transformers, loaded only with a backend
    from agot.backends.request_decoding import RequestDecoding
    from agot.backends.schema_decoding import SchemaCompiler

#: Weight files that make a folder a loadable checkpoint.
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")

#: Appended to the last user message when the schema cannot be enforced while decoding.
SCHEMA_HINT = "\n\nReply with only a JSON object that matches this JSON schema:\n{schema}"

#: Default KV-cache ceiling on CPU, in tokens and in bytes.
CPU_KV_TOKENS = 32768
CPU_KV_BYTES = 2 * 2**30

NO_TEMPLATE_WARNING = "the tokenizer has no chat template; used a plain 'role: content' prompt"


class TransformersSettings(Settings):
    """The ``options.extra`` keys this backend reads (others are ignored)."""

    allow_download: bool = False
    revision: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    #: Largest batch (and the dispatcher's default concurrency); default 32 on GPU, 8 on CPU.
    max_batch: int | None = Field(None, ge=1)
    #: Tokens per KV-cache page, also the granularity of prefix reuse; default 64 GPU, 32 CPU.
    page_size: int | None = Field(None, ge=4)
    #: KV-cache size in tokens; default: 80% of free GPU memory; on CPU up to 32768 tokens/2 GiB.
    kv_cache_tokens: int | None = Field(None, ge=64)
    #: Tokens per forward pass (prefill chunk); default: from GPU memory, 512 on CPU.
    max_batch_tokens: int | None = Field(None, ge=16)
    prefix_sharing: bool = True
    trust_remote_code: bool = False

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> TransformersSettings:
        return cls(**{k: v for k, v in extra.items() if k in cls.model_fields})


def require_stack() -> None:
    """Raise ConfigError unless torch and a transformers with continuous batching import."""
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"transformers/<model> needs {' and '.join(missing)}: pip install 'agot[gpu]'"
        )
    import transformers
    from transformers.generation import configuration_utils

    manager = getattr(transformers, "ContinuousBatchingManager", None)
    if manager is None:
        try:
            from transformers.generation.continuous_batching import (
                ContinuousBatchingManager as manager,
            )
        except ImportError:
            manager = None
    if not hasattr(configuration_utils, "ContinuousBatchingConfig") or not hasattr(
        manager, "register_result_handler"
    ):
        raise ConfigError(
            f"transformers {transformers.__version__} lacks the continuous-batching API this "
            "backend uses; upgrade: pip install -U 'transformers>=5.24'"
        )


def pick_device(requested: str | None) -> str:
    """``requested`` if usable, else ``cuda`` when available, else ``cpu``."""
    import torch

    if requested is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"unknown device {requested!r}: use 'cpu', 'cuda' or 'cuda:<index>'"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {requested!r} asked for but CUDA is not available to torch; "
            "install a CUDA build of torch or use device='cpu'"
        )
    return str(device)


def cpu_kv_tokens(text_config: Any, element_bytes: int = 4) -> int:
    """Default KV-cache size on CPU, where transformers would take 60% of RAM: at most
    ``CPU_KV_TOKENS`` tokens and at most ``CPU_KV_BYTES`` of memory (but room for 4096 tokens)."""
    layers = int(getattr(text_config, "num_hidden_layers", 32) or 32)
    heads = int(getattr(text_config, "num_attention_heads", 32) or 32)
    kv_heads = int(getattr(text_config, "num_key_value_heads", None) or heads)
    head_dim = getattr(text_config, "head_dim", None) or (
        int(getattr(text_config, "hidden_size", 4096)) // heads
    )
    per_token = 2 * layers * kv_heads * int(head_dim) * element_bytes
    return max(4096, min(CPU_KV_TOKENS, CPU_KV_BYTES // per_token))


def _has_weights(folder: str) -> bool:
    return any(glob.glob(os.path.join(folder, pattern)) for pattern in WEIGHT_PATTERNS)


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or os.sep + os.sep in spec


def resolve_model_source(spec: str, *, allow_download: bool, revision: str | None) -> str:
    """A local folder holding ``spec``'s config and weights, or the hub id when downloads are on.

    Raises ConfigError naming the fix when the weights are not on this machine.
    """
    path = os.path.expanduser(spec)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise ConfigError(
                f"model folder {spec!r} has no config.json: point transformers/<path> at a "
                "Hugging Face model folder (save_pretrained output)"
            )
        if not _has_weights(path):
            raise ConfigError(
                f"model folder {spec!r} has no weights (*.safetensors or *.bin): "
                "download or save the model there first"
            )
        return path
    if os.path.isfile(path):
        hint = "use llamacpp/<path.gguf> for GGUF files" if path.endswith(".gguf") else ""
        raise ConfigError(
            f"transformers/{spec} is a file; give the model folder (or a hub id). {hint}".strip()
        )
    if _looks_like_path(spec):
        raise ConfigError(f"no model folder at {spec!r}: check the path after 'transformers/'")
    if allow_download:
        return spec
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    fix = (
        f"download it first (`hf download {spec}`) or allow downloads with "
        "extra={'allow_download': True}"
    )
    try:
        folder = snapshot_download(spec, revision=revision, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        raise ConfigError(
            f"model {spec!r} is not a local folder and not in the Hugging Face cache; {fix}"
        ) from None
    if not isinstance(folder, str) or not _has_weights(folder):
        raise ConfigError(f"model {spec!r} is in the Hugging Face cache without weights; {fix}")
    return folder


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: list[int] = []
    for source in (
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
        getattr(model.config, "eos_token_id", None),
        tokenizer.eos_token_id,
    ):
        for value in source if isinstance(source, list | tuple) else [source]:
            if isinstance(value, int) and value >= 0 and value not in ids:
                ids.append(value)
    if not ids:
        raise ConfigError("the model defines no end-of-sequence token; cannot stop replies")
    return ids


class TransformersBackend:
    """A Hugging Face causal LM served in-process with continuous batching (see module docs)."""

    name = "transformers"

    def __init__(self, model_id_or_path: str, *, options: BackendOptions | None = None) -> None:
        if not isinstance(model_id_or_path, str) or not model_id_or_path.strip():
            raise ConfigError("transformers/<id|path> needs a model id or folder")
        options = options or BackendOptions()
        require_stack()
        self.model = model_id_or_path.strip()
        self.settings = TransformersSettings.from_extra(options.extra)
        self.device = pick_device(options.device)
        self._source = resolve_model_source(
            self.model, allow_download=self.settings.allow_download, revision=self.settings.revision
        )
        self._configure(options, self._load_config())
        self._loaded: tuple[Any, Any] | None = None

    @classmethod
    def from_model(
        cls,
        model: Any,
        tokenizer: Any,
        *,
        options: BackendOptions | None = None,
        name: str | None = None,
    ) -> TransformersBackend:
        """Serve a model and tokenizer already in memory (moved to the backend's device).

        For programs that build or fine-tune the model themselves, and for benchmarks on
        randomly initialised models of realistic size, which would be slow to save and reload.
        """
        options = options or BackendOptions()
        require_stack()
        self = cls.__new__(cls)
        self.model = name or str(getattr(model.config, "name_or_path", "") or "in-memory")
        self.settings = TransformersSettings.from_extra(options.extra)
        self.device = pick_device(options.device or str(model.device))
        self._source = self.model
        self._configure(options, model.config)
        self._loaded = (model, tokenizer)
        return self

    def _configure(self, options: BackendOptions, hf_config: Any) -> None:
        on_gpu = self.device.startswith("cuda")
        text_config = hf_config.get_text_config()
        positions = getattr(text_config, "max_position_embeddings", None)
        limits = [n for n in (positions, options.n_ctx) if n]
        self.max_context: int | None = min(limits) if limits else None
        self._n_threads = options.n_threads
        s = self.settings
        self.engine_config = EngineConfig(
            max_batch=s.max_batch or (32 if on_gpu else 8),
            page_size=s.page_size or (64 if on_gpu else 32),
            kv_cache_tokens=s.kv_cache_tokens or (None if on_gpu else cpu_kv_tokens(text_config)),
            max_batch_tokens=s.max_batch_tokens or (None if on_gpu else 512),
            prefix_sharing=s.prefix_sharing,
        )
        self.native_schema = schema_decoding_available()
        self.capabilities = Capabilities(
            native_schema=self.native_schema,
            max_context=self.max_context,
            default_concurrency=self.engine_config.max_batch,
        )
        self._start_lock = threading.Lock()
        self._engine: BatchEngine | None = None
        self._tokenizer: Any = None
        self._schema: SchemaCompiler | None = None
        self._start_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"TransformersBackend(model={self.model!r}, device={self.device!r})"

    def _load_config(self) -> Any:
        from transformers import AutoConfig

        try:
            return AutoConfig.from_pretrained(
                self._source,
                local_files_only=not self.settings.allow_download,
                revision=self.settings.revision,
                trust_remote_code=self.settings.trust_remote_code,
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the config of model {self.model!r}: {exc}") from None

    # -- loading (blocking, in a worker thread) --------------------------------------------------
    def _dtype(self) -> Any:
        import torch

        if self.settings.dtype != "auto":
            return getattr(torch, self.settings.dtype)
        if self.device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32

    def _start_blocking(self) -> BatchEngine:
        with self._start_lock:
            if self._engine is not None:
                return self._engine
            if self._start_error is not None:
                raise self._start_error
            try:
                self._engine = self._load()
            except ConfigError as exc:
                self._start_error = exc  # bad weights or settings: retrying will not help
                raise
            except Exception as exc:  # out of memory, a broken checkpoint, ...
                raise BackendError(
                    f"could not start the transformers engine for {self.model!r}: "
                    f"{type(exc).__name__}: {exc}",
                    backend=self.name,
                ) from exc
            return self._engine

    def _load(self) -> BatchEngine:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from agot.backends.request_decoding import RequestDecodingProcessor
        from agot.backends.schema_decoding import SchemaCompiler

        if self._n_threads and not self.device.startswith("cuda"):
            torch.set_num_threads(self._n_threads)
        if self._loaded is not None:
            model, tokenizer = self._loaded
        else:
            common = {
                "local_files_only": not self.settings.allow_download,
                "revision": self.settings.revision,
                "trust_remote_code": self.settings.trust_remote_code,
            }
            try:
                tokenizer = AutoTokenizer.from_pretrained(self._source, **common)
                model = AutoModelForCausalLM.from_pretrained(
                    self._source, dtype=self._dtype(), **common
                )
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load model {self.model!r}: {exc}") from None
        model.to(self.device).eval()
        eos = _eos_ids(model, tokenizer)
        vocab = int(model.get_output_embeddings().weight.shape[0])
        schema = None
        if self.native_schema:
            schema = SchemaCompiler(tokenizer, vocab_size=vocab, stop_token_ids=eos)
        processor = RequestDecodingProcessor(
            eos_token_ids=eos,
            decode=lambda ids: tokenizer.decode(ids, skip_special_tokens=True),
            schema=schema,
        )
        engine = BatchEngine(
            model, config=self.engine_config, eos_token_ids=eos, processor=processor
        )
        engine.start()
        self._tokenizer, self._schema = tokenizer, schema
        return engine

    async def start(self) -> None:
        """Load the model and start the engine now rather than on the first request."""
        await asyncio.to_thread(self._start_blocking)

    @property
    def engine(self) -> BatchEngine | None:
        """The running engine (None before the first request or ``start``)."""
        return self._engine

    @property
    def stats(self) -> EngineStats:
        """Forward passes, tokens and prefix reuse so far."""
        return self._engine.stats if self._engine is not None else EngineStats()

    # -- prompts ---------------------------------------------------------------------------------
    def encode(self, messages: tuple[Message, ...] | list[Message]) -> tuple[list[int], list[str]]:
        """Prompt token ids for ``messages`` through the model's chat template, and warnings."""
        tokenizer = self._tokenizer
        chat = [{"role": m.role, "content": m.content} for m in messages]
        warnings: list[str] = []
        if getattr(tokenizer, "chat_template", None):
            text = self._render(tokenizer, chat)
        else:
            warnings.append(NO_TEMPLATE_WARNING)
            text = "".join(f"{m['role']}: {m['content']}\n" for m in chat) + "assistant: "
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return list(ids), warnings

    @staticmethod
    def _render(tokenizer: Any, chat: list[dict[str, str]]) -> str:
        try:
            return str(
                tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            )
        except Exception:
            # Some templates reject a system role: fold it into the first user turn.
            if not chat or chat[0]["role"] != "system" or len(chat) < 2:
                raise
            merged = [{"role": "user", "content": chat[0]["content"] + "\n\n" + chat[1]["content"]}]
            return str(
                tokenizer.apply_chat_template(
                    merged + chat[2:], tokenize=False, add_generation_prompt=True
                )
            )

    def _messages(self, request: GenerationRequest) -> tuple[Message, ...]:
        schema = request.output_json_schema()
        if schema is None or self.native_schema:
            return request.messages
        import json

        messages = list(request.messages)
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].role == "user":
                hint = SCHEMA_HINT.format(schema=json.dumps(schema))
                messages[i] = Message(role="user", content=messages[i].content + hint)
                break
        return tuple(messages)

    def _prepare(self, request: GenerationRequest) -> tuple[list[int], RequestDecoding, list[str]]:
        from agot.backends.request_decoding import RequestDecoding

        ids, warnings = self.encode(self._messages(request))
        params = request.params
        matcher = None
        schema = request.output_json_schema()
        if schema is not None and self._schema is not None:
            matcher = self._schema.matcher(schema)
        decoding = RequestDecoding(
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop=tuple(s for s in (params.stop or ()) if s),
            matcher=matcher,
        )
        return ids, decoding, warnings

    def _budget(self, prompt_tokens: int, max_tokens: int, engine: BatchEngine) -> int:
        room = engine.capacity_tokens
        if self.max_context:
            room = min(room, self.max_context)
        room -= prompt_tokens
        if room <= 0:
            raise BackendError(
                f"the prompt has {prompt_tokens} tokens, more than the {self.model} context or "
                "KV cache holds; shorten it or raise n_ctx / extra['kv_cache_tokens']",
                backend=self.name,
            )
        return min(max_tokens, room)

    # -- the Backend protocol --------------------------------------------------------------------
    async def generate(self, request: GenerationRequest) -> BackendReply:
        return await self._run(request)

    def stream(self, request: GenerationRequest) -> AsyncIterator[str | BackendReply]:
        """The reply token by token from the running batch (the manager streams this request's
        tokens after every step), then the whole :class:`BackendReply`; leaving early cancels
        the request in the batch."""
        return stream_from(lambda emit: self._run(request, emit))

    async def _run(self, request: GenerationRequest, emit: Emit | None = None) -> BackendReply:
        engine: BatchEngine = (
            self._engine
            if self._engine is not None
            else await asyncio.to_thread(self._start_blocking)
        )
        ids, decoding, warnings = await asyncio.to_thread(self._prepare, request)
        max_new = self._budget(len(ids), request.params.max_tokens, engine)
        if max_new < request.params.max_tokens:
            warnings.append(f"max_tokens cut to {max_new} to fit the context")
        on_tokens = None if emit is None else _TextPieces(self._tokenizer, decoding.stop, emit)
        out = await engine.generate(
            ids, max_new_tokens=max_new, decoding=decoding, on_tokens=on_tokens
        )
        if decoding.failed:
            raise BackendError(
                f"decoding rules (sampling, schema or stop strings) failed: {decoding.failed}",
                backend=self.name,
            )
        body = out.tokens[:-1] if out.finish_reason == "stop" else out.tokens
        text = self._tokenizer.decode(body, skip_special_tokens=True)
        finish = out.finish_reason
        for stop in decoding.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, finish = text[:cut], "stop"
        if on_tokens is not None:
            on_tokens.finish(text)
        if decoding.matcher is not None and decoding.matcher.broken:
            warnings.append("the reply left the schema grammar; the dispatcher will validate it")
        return BackendReply(
            text=text,
            prompt_tokens=out.prompt_tokens,
            completion_tokens=len(out.tokens),
            finish_reason=finish,
            warnings=warnings,
        )

    async def aclose(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.stop)


class _TextPieces:
    """Turns the growing token list of a streamed request into new text for ``emit``.

    The tokens so far are decoded whole each step (a token can change how the one before it
    decodes), and what is handed on is only ever extended: text ending in an unfinished UTF-8
    character is held back, as are the last characters that could begin a stop string, and
    nothing after a stop string is sent, so the pieces add up to the final reply's text."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], emit: Emit) -> None:
        self._tokenizer = tokenizer
        self._stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._emit = emit
        self._shown = ""
        self._stopped = False

    def __call__(self, tokens: list[int]) -> None:
        if self._stopped:
            return
        text = self._tokenizer.decode(tokens, skip_special_tokens=True).rstrip("\ufffd")
        for stop in self._stops:
            cut = text.find(stop)
            if cut >= 0:
                text, self._stopped = text[:cut], True
        if not self._stopped and self._hold:
            text = text[: len(text) - self._hold]
        self._extend(text)

    def finish(self, text: str) -> None:
        """The reply's final text: what was held back is sent now."""
        self._extend(text)

    def _extend(self, text: str) -> None:
        if len(text) > len(self._shown) and text.startswith(self._shown):
            self._emit(text[len(self._shown) :])
            self._shown = text
