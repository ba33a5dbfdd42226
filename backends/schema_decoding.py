"""JSON-schema constrained decoding for the in-process engine, through xgrammar.

The dispatcher validates every structured reply and re-asks when it does not parse; a re-ask
costs a whole extra call. Enforcing the schema while decoding makes the first reply parse, so
the in-process engine masks, at every step, the tokens the schema's grammar forbids. xgrammar
(the library vLLM and SGLang use) compiles a JSON schema into a grammar once per schema and
tokenizer, and its matcher yields a packed token bitmask per step in microseconds, on CPU, so
the mask costs little next to a forward pass.

xgrammar is optional (``pip install xgrammar``): without it :func:`schema_decoding_available`
is False, the backend reports ``native_schema=False`` and the dispatcher's validate-and-re-ask
path does the work instead.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: Whitespace the grammar allows between JSON tokens. Compact JSON (no free whitespace) keeps
#: small models from padding a reply with blank lines until they run out of tokens.
ANY_WHITESPACE = False


def schema_decoding_available() -> bool:
    """True when xgrammar can be imported (checked without importing it)."""
    return importlib.util.find_spec("xgrammar") is not None


class SchemaCompiler:
    """Compiles JSON schemas into grammars for one tokenizer; thread-safe, cached per schema.

    ``vocab_size`` is the model's logits width, which may exceed the tokenizer's vocabulary
    (padded embeddings); ``stop_token_ids`` end a reply once the JSON value is complete.
    """

    def __init__(self, tokenizer: Any, *, vocab_size: int, stop_token_ids: list[int]) -> None:
        import xgrammar

        self._xgr = xgrammar
        self.vocab_size = vocab_size
        self._info = xgrammar.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids
        )
        self._compiler = xgrammar.GrammarCompiler(self._info, max_threads=2)
        self._lock = threading.Lock()
        self._compiled: dict[str, Any] = {}

    def matcher(self, schema: dict[str, Any]) -> SchemaMatcher:
        """A fresh matcher for one reply that must satisfy ``schema`` (a JSON schema dict)."""
        key = json.dumps(schema, sort_keys=True)
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                compiled = self._compiler.compile_json_schema(key, any_whitespace=ANY_WHITESPACE)
                self._compiled[key] = compiled
        return SchemaMatcher(self._xgr, compiled, self.vocab_size)

    def allocate_bitmask(self, rows: int) -> torch.Tensor:
        """A packed bitmask (int32, 32 tokens a word) for ``rows`` logits rows."""
        return self._xgr.allocate_token_bitmask(rows, self.vocab_size)

    def apply_bitmask(self, scores: torch.Tensor, bitmask: torch.Tensor, rows: list[int]) -> None:
        """Set the forbidden tokens of ``rows`` of ``scores`` to ``-inf`` in place."""
        self._xgr.apply_token_bitmask_inplace(
            scores, bitmask.to(scores.device, non_blocking=True), indices=rows
        )


class SchemaMatcher:
    """The grammar state of one reply: fed the tokens generated so far, it gives the next mask.

    The engine feeds it from the request's generated tokens before each step (``advance``), so
    the matcher never runs ahead of what the model actually produced.
    """

    def __init__(self, xgr: Any, compiled: Any, vocab_size: int) -> None:
        self._matcher = xgr.GrammarMatcher(compiled)
        self.vocab_size = vocab_size
        self._fed = 0
        #: True once a generated token was rejected (should not happen under the mask).
        self.broken = False

    def advance(self, generated: list[int]) -> None:
        """Accept the tokens of ``generated`` not yet seen."""
        while self._fed < len(generated):
            token = generated[self._fed]
            self._fed += 1
            if self.broken or self._matcher.is_terminated():
                continue
            if not self._matcher.accept_token(token):
                self.broken = True

    @property
    def finished(self) -> bool:
        """The JSON value is complete (only a stop token may follow)."""
        return self._matcher.is_terminated()

    def fill(self, bitmask: torch.Tensor, row: int) -> None:
        """Write the allowed-next-token mask into ``bitmask[row]``."""
        self._matcher.fill_next_token_bitmask(bitmask, row)
