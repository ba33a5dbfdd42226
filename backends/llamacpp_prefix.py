"""KV-state snapshots that let interleaved llama.cpp requests keep their shared prompt prefix.

llama-cpp-python reuses the common prefix with the live context on its own; requests that
interleave (A, B, A) would lose it. :class:`PrefixStore` snapshots the live KV state just before
a request discards a long prefix that earlier requests also used, and restores it when a later
request matches it better than the live context.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agot.backends.llamacpp import LlamaCppStats


def common_prefix(a: Any, b: Any) -> int:
    """Length of the common prefix of two token arrays (numpy, vectorised)."""
    import numpy as np

    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(diff[0]) if diff.size else n


class PrefixStore:
    """KV-state snapshots of prompt prefixes that sibling requests share.

    llama-cpp-python reuses the common prefix with the *live* context on its own; this store
    only matters when requests interleave. Saving a snapshot costs a copy of the KV cells in
    use, so it is taken lazily: just before a request would discard at least ``min_tokens``
    tokens of live context that some earlier request (among the last ``history``) also used.
    A snapshot is restored when it matches the new prompt by ``min_tokens`` more than the live
    context does. Snapshots are kept least-recently-used within ``capacity_bytes``.

    Snapshots drop llama-cpp-python's saved logits (``n_batch x n_vocab`` floats, 100 MB for
    SmolLM2): after a restore llama-cpp-python re-evaluates at least one token before sampling,
    so they are never read.
    """

    def __init__(self, capacity_bytes: int, *, min_tokens: int = 128, history: int = 16) -> None:
        self.capacity_bytes = capacity_bytes
        self.min_tokens = min_tokens
        self._entries: OrderedDict[int, tuple[Any, Any, int]] = OrderedDict()
        self._history: deque[Any] = deque(maxlen=history)
        self._ids = 0
        self._bytes_per_token = 0.0  # learnt from the first snapshot

    @property
    def size_bytes(self) -> int:
        return sum(size for _, _, size in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def prepare(self, llm: Any, prompt: Any, stats: LlamaCppStats) -> None:
        """Before evaluating ``prompt``: snapshot what it would discard, restore what it needs."""
        import numpy as np

        prompt = np.asarray(prompt, dtype=np.intc)
        live = np.array(llm.input_ids[: llm.n_tokens], dtype=np.intc)
        kept = common_prefix(live, prompt)
        if len(live) - kept >= self.min_tokens:
            shared = max((common_prefix(live, h) for h in list(self._history)[:-1]), default=0)
            if shared - kept >= self.min_tokens and self._save(llm, live):
                stats.prefix_saves += 1
        best_id, best = None, kept
        for key, (tokens, _, _) in self._entries.items():
            match = common_prefix(tokens, prompt)
            if match > best:
                best_id, best = key, match
        if best_id is not None and best - kept >= self.min_tokens:
            _, state, _ = self._entries[best_id]
            llm.load_state(state)
            self._entries.move_to_end(best_id)
            stats.prefix_restores += 1
            stats.restored_tokens += best - kept
        self._history.append(prompt)

    def _save(self, llm: Any, live: Any) -> bool:
        import numpy as np
        from llama_cpp.llama import LlamaState

        if self._bytes_per_token * len(live) > self.capacity_bytes:
            return False  # would not fit: skip the copy
        for key, (tokens, _, _) in list(self._entries.items()):
            if common_prefix(tokens, live) == len(tokens):  # superseded by a longer snapshot
                del self._entries[key]
        full = llm.save_state()
        state = LlamaState(
            input_ids=full.input_ids,
            scores=np.zeros((1, full.scores.shape[1]), dtype=np.single),
            n_tokens=full.n_tokens,
            llama_state=full.llama_state,
            llama_state_size=full.llama_state_size,
            seed=full.seed,
        )
        size = int(full.llama_state_size) + full.input_ids.nbytes
        self._bytes_per_token = size / max(1, len(live))
        if size > self.capacity_bytes:
            return False
        self._ids += 1
        self._entries[self._ids] = (live, state, size)
        while self.size_bytes > self.capacity_bytes:
            self._entries.popitem(last=False)
        return True

    def clear(self) -> None:
        self._entries.clear()
        self._history.clear()
