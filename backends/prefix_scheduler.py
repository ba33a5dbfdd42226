"""A continuous-batching scheduler that lets sibling requests share one prefill of their prefix.

transformers' paged cache already de-duplicates prompt prefixes: once a request's forward pass
has filled a page of KV cache, the page is hashed, and a later request whose prompt starts with
the same pages reuses them instead of recomputing them. But a page is only reusable after the
forward pass that wrote it, and AGoT's sibling calls (same system prompt, question and graph so
far, different node) arrive *together*: the stock FIFO scheduler puts them all in the same
prefill batch, so every sibling computes the shared prefix again and nothing is reused.

This scheduler defers a waiting request whose first page equals that of a request already
prefilling (or admitted ahead of it in the same pass) until that leader's prefill is done; the
follower then matches the leader's cached pages and prefills only its own suffix. The wait is
one leader prefill, which the follower would have spent computing the same prefix anyway.

It also counts the prompt tokens served from the prefix cache (``reused_prompt_tokens``), the
honest measure of what prefix reuse saved.
"""

from __future__ import annotations

from typing import Any

from transformers.generation.continuous_batching.requests import RequestState, RequestStatus
from transformers.generation.continuous_batching.scheduler import SCHEDULER_MAPPING, FIFOScheduler

#: The name under which the scheduler is registered with transformers' continuous batching.
SCHEDULER_NAME = "agot_shared_prefix"


class SharedPrefixScheduler(FIFOScheduler):
    """FIFO (decodes first, then prefills in arrival order) plus prefix-aware admission."""

    def reset(self) -> None:
        super().reset()
        self.reused_prompt_tokens = 0
        self.deferred = 0

    def _page_tokens(self) -> int:
        return min(a.tokens_per_page for a in self.cache.cache_allocators.values())

    def _get_waiting_candidates(self) -> list[RequestState]:
        candidates = super()._get_waiting_candidates()
        if not self.cache.use_prefix_sharing or not candidates:
            return candidates
        page = self._page_tokens()
        leaders: set[tuple[int, ...]] = {
            tuple(state.initial_tokens[:page])
            for state in self.active_requests.values()
            if state.status == RequestStatus.PREFILLING and len(state.initial_tokens) > page
        }
        admitted: list[RequestState] = []
        for state in candidates:
            fresh = state.status == RequestStatus.PENDING and not state.is_cpu_offloaded
            if not fresh or len(state.initial_tokens) <= page:
                admitted.append(state)
                continue
            head = tuple(state.initial_tokens[:page])
            if head in leaders:
                self.deferred += 1
                continue
            leaders.add(head)
            admitted.append(state)
        return admitted

    def _infer_request_tokens(self, state: RequestState, *args: Any) -> list[int]:
        pending = state.status == RequestStatus.PENDING
        before = state.position_offset
        tokens = super()._infer_request_tokens(state, *args)
        if pending:
            self.reused_prompt_tokens += state.position_offset - before
        return tokens


def register() -> str:
    """Make the scheduler selectable by name in ``ContinuousBatchingConfig.scheduler_type``."""
    SCHEDULER_MAPPING.setdefault(SCHEDULER_NAME, SharedPrefixScheduler)
    return SCHEDULER_NAME
