"""Per-request decoding rules inside one shared continuous batch.

transformers' continuous batching decodes a whole batch with one setting: greedy or sampling,
one temperature. AGoT mixes greedy calls, sampled calls (self-consistency, Kairanban agents),
schema-constrained calls and calls with stop strings in the same batch. So the engine always
runs the batch greedily and this logits processor, which sees every logits row together with
the request it belongs to, makes each row do what its own request asked for:

* **schema** rows get the grammar mask (:mod:`agot.backends.schema_decoding`);
* **sampled** rows are scaled by their temperature, cut to their ``top_p`` nucleus and given
  Gumbel noise from the request's own seeded generator, so the batch's argmax *is* a sample from
  the request's distribution (the Gumbel-max trick) and a seed reproduces a reply;
* rows whose reply already contains a **stop string**, or whose JSON value is complete, may only
  produce the end-of-sequence token, so the request leaves the batch at the next step.

Greedy rows with no rule are left untouched, so their argmax equals unbatched greedy decoding.

The processor hooks into the continuous-batching processor interface: ``prepare_tensor_args``
receives the requests of the next forward pass in logits-row order (it is called after the
previous step's tokens were appended, as long as async batching is off, which the engine
ensures), and ``__call__`` receives those rows' logits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers.generation.continuous_batching.cb_logits_processors import (
    ContinuousBatchingLogitsProcessor,
)
from transformers.generation.continuous_batching.requests import FutureRequestState, RequestState

from agot.backends.schema_decoding import SchemaCompiler, SchemaMatcher

#: Tokens decoded from the end of a reply when looking for stop strings, beyond the longest one.
STOP_WINDOW_SLACK = 4


@dataclass
class RequestDecoding:
    """What one request asks of decoding beyond greedy argmax."""

    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    matcher: SchemaMatcher | None = None
    #: Set once a stop string appeared in the reply.
    stop_hit: bool = False
    #: Why applying this rule failed (the request is then ended, the batch carries on).
    failed: str | None = None
    _generator: torch.Generator | None = field(default=None, repr=False)

    @property
    def needed(self) -> bool:
        """False for plain greedy requests, which need no per-row work at all."""
        return self.temperature > 0 or self.matcher is not None or bool(self.stop)

    def generator(self, device: torch.device) -> torch.Generator:
        if self._generator is None:
            self._generator = torch.Generator(device=device)
            if self.seed is None:
                self._generator.seed()
            else:
                self._generator.manual_seed(self.seed)
        return self._generator


def generated_tokens(state: RequestState) -> list[int]:
    """All tokens generated for a request, also after a soft reset folded some into its prompt."""
    true_initial = getattr(state, "_true_initial_tokens", 0)
    if true_initial:
        return state.initial_tokens[true_initial:] + state.generated_tokens
    return state.generated_tokens


@dataclass
class _StepPlan:
    forced: list[int]
    masked: list[tuple[int, RequestDecoding]]
    bitmask: torch.Tensor | None
    sampled: list[tuple[int, RequestDecoding]]


class RequestDecodingProcessor(ContinuousBatchingLogitsProcessor):
    """Applies each request's :class:`RequestDecoding` to its logits row (see module docs)."""

    supports_continuous_batching = True

    def __init__(
        self,
        *,
        eos_token_ids: list[int],
        decode: Callable[[list[int]], str],
        schema: SchemaCompiler | None,
    ) -> None:
        self.supported_kwargs: dict[str, type] = {}  # takes no per-request kwargs
        self.ignored_kwargs: tuple[str, ...] = ()
        self.eos_token_ids = eos_token_ids
        self._decode = decode
        self.schema = schema
        self._rules: dict[str, RequestDecoding] = {}
        self._lock = threading.Lock()
        self._plan: _StepPlan | None = None

    # -- registry of rules, called from the event loop -----------------------------------------
    def add(self, request_id: str, rule: RequestDecoding) -> None:
        with self._lock:
            self._rules[request_id] = rule

    def discard(self, request_id: str) -> None:
        with self._lock:
            self._rules.pop(request_id, None)

    # -- continuous-batching hooks, called from the engine thread -------------------------------
    def fill_defaults(self, int32_tensor: torch.Tensor) -> None:
        int32_tensor.fill_(0)

    def prepare_tensor_args(
        self, requests_with_new_token: list[FutureRequestState]
    ) -> torch.Tensor:
        rows = len(requests_with_new_token)
        with self._lock:
            rules = [self._rules.get(f.state.request_id) for f in requests_with_new_token]
        plan = _StepPlan(forced=[], masked=[], bitmask=None, sampled=[])
        for row, (future, rule) in enumerate(zip(requests_with_new_token, rules, strict=True)):
            if rule is None:
                continue
            # An exception here would stop the engine thread and fail every request in flight:
            # a rule that cannot be applied ends its own request instead.
            try:
                self._plan_row(plan, row, rows, generated_tokens(future.state), rule)
            except Exception as exc:
                rule.failed = f"{type(exc).__name__}: {exc}"
                plan.forced.append(row)
        self._plan = plan
        return torch.zeros(rows, dtype=torch.int32)

    def _plan_row(
        self, plan: _StepPlan, row: int, rows: int, generated: list[int], rule: RequestDecoding
    ) -> None:
        if rule.stop and not rule.stop_hit and generated:
            rule.stop_hit = self._has_stop(generated, rule.stop)
        matcher = rule.matcher
        if matcher is not None:
            matcher.advance(generated)
        if rule.failed or rule.stop_hit or (matcher is not None and matcher.finished):
            plan.forced.append(row)
            return
        if matcher is not None and not matcher.broken and self.schema is not None:
            if plan.bitmask is None:
                plan.bitmask = self.schema.allocate_bitmask(rows)
            matcher.fill(plan.bitmask, row)
            plan.masked.append((row, rule))
        if rule.temperature > 0:
            plan.sampled.append((row, rule))

    def __call__(self, scores: torch.Tensor, tensor_arg: torch.Tensor) -> torch.Tensor:
        plan, self._plan = self._plan, None
        if plan is None:
            return scores
        try:
            if plan.bitmask is not None and self.schema is not None:
                masked_rows = [row for row, _ in plan.masked]
                self.schema.apply_bitmask(scores, plan.bitmask, masked_rows)
            for row, rule in plan.sampled:
                scores[row] = self._sample_scores(scores[row], rule)
        except Exception as exc:
            for row, rule in plan.masked + plan.sampled:
                rule.failed = f"{type(exc).__name__}: {exc}"
                plan.forced.append(row)
        if plan.forced:
            self._force_eos(scores, plan.forced)
        return scores

    def _force_eos(self, scores: torch.Tensor, rows: list[int]) -> None:
        index = torch.tensor(sorted(set(rows)), device=scores.device)
        scores[index] = float("-inf")
        scores[index, self.eos_token_ids[0]] = 0.0

    # -- helpers --------------------------------------------------------------------------------
    def _has_stop(self, generated: list[int], stop: tuple[str, ...]) -> bool:
        window = max(len(s) for s in stop) + STOP_WINDOW_SLACK
        tail = self._decode(generated[-window:])
        return any(s in tail for s in stop)

    @staticmethod
    def _sample_scores(row: torch.Tensor, rule: RequestDecoding) -> torch.Tensor:
        """Row scores whose argmax is a sample at the rule's temperature and top_p."""
        logits = row / rule.temperature
        if rule.top_p is not None and rule.top_p < 1.0:
            ordered, order = torch.sort(logits, descending=True)
            cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
            drop = cumulative - ordered.softmax(dim=-1) >= rule.top_p  # keeps the top token
            logits = logits.scatter(0, order[drop], float("-inf"))
        uniform = torch.rand(
            logits.shape, generator=rule.generator(logits.device), device=logits.device
        )
        gumbel = -torch.log(-torch.log(uniform.clamp_min(1e-20)))
        return logits + gumbel
