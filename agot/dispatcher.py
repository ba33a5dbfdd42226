"""The dispatcher: the one place that knows about limits, retries, caching and budgets.

Strategies hand it :class:`~agot.types.GenerationRequest` objects; it picks the backend (the
request's own model, a routing function, or the default), waits for a concurrency slot and the
rate limiters, calls the backend with a timeout (adaptive for remote backends, see
:mod:`agot.latency`; optionally hedged), retries transient failures with exponential backoff and
jitter (honouring Retry-After), validates structured replies and re-asks when they do not parse,
consults the on-disk cache, charges the run's budget, and records a trace event.

Accounting: ``Usage.calls`` counts calls that got a reply, ``Usage.attempts`` every request
sent to the backend (retries, cut attempts, hedges and failed calls included), and
``Usage.cancelled`` the requests a server received whose reply was abandoned (a speculative call
that lost, a hedge's slower copy, an attempt cut by a timeout), with the prompt tokens they
carried counted locally (:class:`_PromptRate`); see :mod:`agot.budget` for what each budget
limit counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from agot.backends.base import Backend
from agot.backends.delivery import Delivery, delivery_for_attempt
from agot.backends.registry import (
    DEFAULT_MODEL,
    BackendOptions,
    resolve_backend,
)
from agot.budget import Budget, BudgetTracker
from agot.cache import CacheCounts, ResponseCache
from agot.errors import (
    BackendError,
    BudgetExceeded,
    ConfigError,
    SchemaError,
    TransientBackendError,
)
from agot.fleet.wiring import build_fleet, fleet_model, fleet_spec
from agot.latency import LatencyBook, adaptive_timeout, first_token_timeout
from agot.limits import Gate, Limits
from agot.streaming import DeltaSink, GenerationStream, delta_sink
from agot.structured import parse_structured, reask_messages
from agot.trace import RunRecorder, TraceEvent, current_recorder
from agot.types import BackendReply, Generation, GenerationRequest, Usage

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from agot.fleet.endpoint import FleetSpec

#: Longest Retry-After we honour; a server asking for more is treated as this.
MAX_RETRY_AFTER_S = 300.0

#: Characters per prompt token assumed for a model before any reply has said (English ~4).
CHARS_PER_PROMPT_TOKEN = 4.0

Router = Callable[[GenerationRequest], str | None]


@dataclass
class _ModelEntry:
    """What the dispatcher keeps per model string: its backend, gate, retry waits and latencies."""

    backend: Backend
    gate: Gate
    owned: bool
    wait: _Backoff
    latency: LatencyBook
    #: Several replicas of this model (an :class:`agot.fleet.Fleet` of replica entries).
    fleet: Any = None
    #: Prompt tokens per character, learned from this model's replies.
    rate: _PromptRate = dataclasses.field(default_factory=lambda: _PromptRate())
    #: Observed times to the first token of streamed attempts, per role.
    first_token: LatencyBook = dataclasses.field(default_factory=LatencyBook)


class _PromptRate:
    """How many prompt tokens a character of this model's prompts makes, learned from replies.

    A request abandoned in flight gets no reply saying what its prompt cost, but the server
    has it: its tokens are counted locally from its characters at the rate the model's replies
    showed (the chat template and schema hints included), ``1 / CHARS_PER_PROMPT_TOKEN``
    before the first reply.
    """

    __slots__ = ("chars", "tokens")

    def __init__(self) -> None:
        self.chars = 0
        self.tokens = 0

    def learn(self, request: GenerationRequest, reply: BackendReply) -> None:
        if reply.prompt_tokens > 0:
            self.chars += request.prompt_chars()
            self.tokens += reply.prompt_tokens

    def tokens_for(self, request: GenerationRequest) -> int:
        chars = request.prompt_chars()
        per_char = self.tokens / self.chars if self.chars else 1.0 / CHARS_PER_PROMPT_TOKEN
        return max(1, round(chars * per_char))


class _Call:
    """One request on its way through the dispatcher: the run it belongs to, the budgets it is
    charged to, and what its attempts did across retries and re-asks (kept when it fails)."""

    __slots__ = (
        "abandoned",
        "admitted",
        "attempts",
        "cut",
        "endpoint",
        "failed",
        "first_cut",
        "first_token",
        "held",
        "recorder",
        "sink",
        "streaming",
        "trackers",
    )

    def __init__(self, recorder: RunRecorder, trackers: tuple[BudgetTracker, ...]) -> None:
        self.recorder = recorder
        self.trackers = trackers
        #: Requests sent to the backend (each retry, hedge and extra backend request).
        self.attempts = 0
        #: perf_counter when the first attempt got its concurrency slot (None: never admitted).
        self.admitted: float | None = None
        #: The adaptive timeout that cut the last attempt (the next one gets at least twice it).
        self.cut: float | None = None
        #: Tokens this call holds in its budgets (reservation, then the replies' actual tokens).
        self.held = 0
        #: Fleets: the endpoint of the last attempt, and those that failed this request.
        self.endpoint: str | None = None
        self.failed: list[str] = []
        #: Requests abandoned in flight (Usage.cancelled) and what they carried.
        self.abandoned: Usage | None = None
        #: Stream from backends that can; where the text pieces go (Dispatcher.stream).
        self.streaming = True
        self.sink: DeltaSink | None = None
        #: The first-token deadline that cut the last attempt (the next gets at least twice).
        self.first_cut: float | None = None
        #: Unix seconds when a streamed attempt's first piece arrived (the latest such).
        self.first_token: float | None = None

    def abandon(self, entry: _ModelEntry, request: GenerationRequest, delivery: Delivery) -> None:
        """An attempt was cancelled in flight: count it if its request reached the server."""
        if not delivery.reached_server:
            self.attempts -= 1  # it never left: not an attempt the server saw
            return
        tokens = entry.rate.tokens_for(request)
        price = getattr(entry.backend, "prompt_cost", None)
        cost = float(price(tokens)) if callable(price) else 0.0
        lost = Usage(cancelled=1, prompt_tokens=tokens, cost=cost)
        self.abandoned = lost if self.abandoned is None else self.abandoned + lost


def _reserve(trackers: tuple[BudgetTracker, ...]) -> None:
    """Check every budget first, then reserve a call in each (all or none)."""
    for tracker in trackers:
        tracker.check()
    for tracker in trackers:
        tracker.reserve()


def _streams(entry: _ModelEntry, call: _Call) -> bool:
    """Whether this call's attempts are streamed (timed to their first token)."""
    return call.streaming and hasattr(entry.backend, "stream")


def _wall_exceeded(recorder: RunRecorder, reason: str) -> BudgetExceeded:
    """The error for a wall-time stop, noted on the run so its Result says why it stopped."""
    recorder.tracker.exceeded = recorder.tracker.exceeded or reason
    return BudgetExceeded(reason)


def _budget_tokens(request: GenerationRequest) -> int:
    """An upper estimate of a call's tokens (prompt at ~3 chars a token, plus max_tokens)."""
    return request.prompt_chars() // 3 + 1 + request.params.max_tokens


def _usage(reply: BackendReply) -> Usage:
    return Usage(
        calls=1,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        cached_prompt_tokens=reply.cached_prompt_tokens,
        cost=reply.cost or 0.0,
    )


class DispatcherOptions(BaseModel):
    """The keyword options of :class:`Dispatcher`, as one settings model.

    Whatever configures a dispatcher is declared here once: :func:`agot.solve` tells its
    dispatcher options from its strategy options by these fields (and
    :class:`~agot.backends.registry.BackendOptions`', which ``**options`` become), so an option
    the dispatcher gains is accepted there too (a test holds the two signatures together).
    Values are checked by :class:`Dispatcher` itself, as for a direct call.
    """

    # Read for its fields; its validator is built only if something validates with it.
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", defer_build=True)

    limits: Limits | Mapping[str, Any] | None = None
    model_limits: Mapping[str, Limits] | None = None
    budget: Budget | None = None
    cache: Any = None
    cache_sampled: bool = False
    router: Any = None
    backend_options: BackendOptions | None = None
    store_text: bool = True
    endpoints: Any = None
    replica_policy: Any = None
    routing: Any = None
    stream: bool = True

    @classmethod
    def names(cls) -> frozenset[str]:
        """Every keyword a :class:`Dispatcher` takes: these fields and the backend options."""
        return frozenset(cls.model_fields) | frozenset(BackendOptions.model_fields)

    @classmethod
    def take(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Remove the dispatcher's keywords from ``options`` and return them."""
        return {name: options.pop(name) for name in list(options) if name in cls.names()}


class Dispatcher:
    """Routes requests to backends under limits; one per run or shared across an eval.

    ``model`` is the default model string (``"local"`` when omitted) or a Backend object;
    ``model_limits`` overrides ``limits`` per model string; ``router`` may pick a model string
    per request. ``cache`` is a directory (or :class:`ResponseCache`); replies sampled at
    temperature > 0 (AGoT samples at 0.3) are cached only with ``cache_sampled=True`` or a
    fixed ``seed``; the first one passed by warns, and ``cache_counts`` holds hits and misses.
    ``budget`` caps everything this dispatcher does; each run may carry its own budget too.
    ``endpoints`` (URLs, :class:`agot.fleet.Endpoint` s, a fleet file, or ``api_base`` with
    several comma-separated URLs) serve the default model from several replicas, one picked
    per call by ``replica_policy`` (``"predictive"``, the default, ``"least-outstanding"``,
    ``"round-robin"`` or a policy object; ``routing`` is its deprecated old name); see
    :mod:`agot.fleet`.
    """

    def __init__(
        self,
        model: str | Backend | None = None,
        *,
        limits: Limits | None = None,
        model_limits: Mapping[str, Limits] | None = None,
        budget: Budget | None = None,
        cache: ResponseCache | str | os.PathLike[str] | None = None,
        cache_sampled: bool = False,
        router: Router | None = None,
        backend_options: BackendOptions | None = None,
        store_text: bool = True,
        endpoints: Any = None,
        replica_policy: Any = None,
        routing: Any = None,
        stream: bool = True,
        **options: Any,
    ) -> None:
        if limits is not None and not isinstance(limits, Limits):
            limits = Limits(**limits) if isinstance(limits, Mapping) else limits
        if not (limits is None or isinstance(limits, Limits)):
            raise ConfigError(f"limits must be a Limits or a mapping, got {type(limits).__name__}")
        if isinstance(model, str) and not model.strip():
            raise ConfigError("model is empty: give a model string such as 'local'")
        if not (model is None or isinstance(model, str | Backend)):
            raise ConfigError(
                f"model must be a model string or a Backend, got {type(model).__name__}"
            )
        self.limits = limits or Limits()
        #: Stream replies from backends that can (with ``Limits.stream``); False: whole replies.
        self.streaming = bool(stream)
        self.model_limits = dict(model_limits or {})
        self.backend_options = backend_options or BackendOptions(**options)
        self.cache = (
            cache if isinstance(cache, ResponseCache) or cache is None else ResponseCache(cache)
        )
        self.cache_sampled = cache_sampled
        #: Hits, misses and sampled calls passed by (``cache_sampled=False`` warns once).
        self.cache_counts = CacheCounts()
        #: Keep each call's prompt and completion in its trace event (off: counts only).
        self.store_text = store_text
        self.router = router
        self.tracker = BudgetTracker(budget)
        self._own = RunRecorder()
        self._models: dict[str, _ModelEntry] = {}
        self._ids = itertools.count(1)
        fleet = fleet_spec(endpoints, self.backend_options.api_base, replica_policy, routing)
        if fleet is not None:
            self._add_fleet(fleet_model(model, fleet.model), fleet)
            # The endpoints belong to the fleet's model; other models a router names do not
            # inherit a list of URLs as their address.
            self.backend_options = self.backend_options.model_copy(update={"api_base": None})
        elif model is None or isinstance(model, str):
            self.default_model = model or DEFAULT_MODEL
            # Resolve now so a bad model string or a missing key fails before any work starts.
            self._entry(self.default_model)
        else:
            self.default_model = f"{model.name}:{model.model}"
            self._add_model(self.default_model, model, owned=False)
        bind = getattr(router, "bind", None)
        if callable(bind):  # a routing.Router registers the backend objects it names
            bind(self)

    # -- backends ---------------------------------------------------------------------------
    def _add_model(self, key: str, backend: Backend, owned: bool) -> _ModelEntry:
        limits = self.model_limits.get(key, self.limits)
        gate = Gate(limits, backend.capabilities.default_concurrency)
        entry = _ModelEntry(backend, gate, owned, _Backoff(limits), LatencyBook())
        self._models[key] = entry
        return entry

    def _add_fleet(self, key: str, spec: FleetSpec) -> None:
        """One entry per replica (its own backend, limits and gate) behind a routing policy."""

        def add_replica(replica_key: str, limits: Limits, backend: Backend) -> _ModelEntry:
            self.model_limits[replica_key] = limits
            return self._add_model(replica_key, backend, True)

        self.default_model = key
        fleet = build_fleet(
            key,
            spec,
            limits=self.model_limits.get(key, self.limits),
            options=self.backend_options,
            add_replica=add_replica,
        )
        # The model's own entry stands for the fleet: the first replica's backend and limits
        # (backend(), cache keys, retry policy), owning nothing, with the fleet attached.
        first = fleet.replicas[0].target
        self._models[key] = dataclasses.replace(first, owned=False, fleet=fleet)

    def fleet(self, model: str | None = None) -> Any:
        """The :class:`agot.fleet.Fleet` serving ``model`` (default model), or None."""
        entry = self._models.get(model or self.default_model)
        return entry.fleet if entry is not None else None

    def _entry(self, key: str) -> _ModelEntry:
        entry = self._models.get(key)
        if entry is None:
            entry = self._add_model(key, resolve_backend(key, options=self.backend_options), True)
        return entry

    def add_backend(self, key: str, backend: Backend, *, owned: bool = False) -> Backend:
        """Serve model string ``key`` with ``backend`` (unless ``key`` is served already).

        Returns the backend serving ``key``. ``model_limits[key]`` applies to it like to any
        model; ``owned`` backends are closed with the dispatcher.
        """
        entry = self._models.get(key) or self._add_model(key, backend, owned)
        return entry.backend

    def backend(self, model: str | None = None) -> Backend:
        """The backend serving ``model`` (default model when None), created on first use."""
        return self._entry(model or self.default_model).backend

    @property
    def usage(self) -> Usage:
        """Everything this dispatcher has spent, across all runs."""
        return self.tracker.usage

    @property
    def events(self) -> list[TraceEvent]:
        """Events of calls made outside any run (direct dispatcher use)."""
        return self._own.events

    # -- the call path ----------------------------------------------------------------------
    def stream(self, request: GenerationRequest) -> GenerationStream:
        """Run one request like :meth:`generate`, giving its text as it is written.

        ``async for delta in dispatcher.stream(request)`` yields
        :class:`~agot.streaming.TextDelta` s (a delta with ``restart`` set starts the text over:
        the call was retried); afterwards the stream's ``generation`` is what ``generate``
        would have returned. Limits, retries, budgets, cache and the trace event are those of
        ``generate``; a backend that cannot stream (or ``stream=False``) gives one delta.
        """
        return GenerationStream(self.generate, request)

    async def generate(self, request: GenerationRequest) -> Generation:
        """Run one request to completion.

        Returns a Generation or raises BackendError, SchemaError or BudgetExceeded.
        """
        recorder = current_recorder() or self._own
        key = request.model or (self.router(request) if self.router else None) or self.default_model
        entry = self._entry(key)
        backend = entry.backend
        trackers = (
            (recorder.tracker,)
            if recorder.tracker is self.tracker
            else (recorder.tracker, self.tracker)
        )
        _reserve(trackers)
        reserved = 1
        call = _Call(recorder, trackers)
        call.streaming = self.streaming and entry.gate.limits.stream
        call.sink = delta_sink.get()
        try:
            call_id = f"c{next(self._ids)}"
            start, t0 = time.time(), time.perf_counter()
            finish = functools.partial(self._finish, call, request, backend, call_id, start, t0)

            cache_key = None
            if self.cache is not None and not (
                request.params.temperature == 0
                or self.cache_sampled
                or request.params.seed is not None
            ):
                self.cache_counts.skip()
            elif self.cache is not None:
                cache_key = ResponseCache.key(backend.name, backend.model, request)
                hit = self.cache.get(cache_key)
                if hit is not None:
                    parsed = self._parse_or_none(hit.text, request)
                    if request.output_schema is None or parsed is not None:
                        self.cache_counts.hits += 1
                        return finish(hit, Usage(calls=1, cached_calls=1), parsed, cached=True)
                self.cache_counts.misses += 1

            total = Usage()
            messages = request.messages
            limits = entry.gate.limits
            reply: BackendReply | None = None
            parsed = None
            try:
                for ask in range(limits.schema_retries + 1):
                    if ask:
                        # A re-ask is another call: it must fit the budget like any other.
                        _reserve(trackers)
                        reserved += 1
                    asked = (
                        request if ask == 0 else request.model_copy(update={"messages": messages})
                    )
                    reply = await self._call(entry, asked, call)
                    total = total + _usage(reply)
                    if request.output_schema is None:
                        break
                    try:
                        parsed = parse_structured(reply.text, request.output_schema)
                        break
                    except SchemaError as exc:
                        if ask == limits.schema_retries:
                            raise SchemaError(
                                f"{exc} (after {ask + 1} asks to {key})", raw=reply.text
                            ) from None
                        messages = reask_messages(messages, reply.text, exc, request.output_schema)
            except (BackendError, SchemaError, BudgetExceeded) as exc:
                finish(
                    reply or BackendReply(text=""),
                    total,
                    None,
                    error=f"{type(exc).__name__}: {exc}",
                )
                raise
            except asyncio.CancelledError:
                # A cancelled call (a speculative one that lost) stays visible in the trace with
                # its attempts; like any unfinished call it returns its budget reservation.
                finish(
                    reply or BackendReply(text=""), total, None, error="cancelled", discarded=True
                )
                raise
            assert reply is not None
            if cache_key is not None and self.cache is not None:
                self.cache.put(cache_key, reply)
            return finish(reply, total, parsed)
        finally:
            # _finish has already added the usage (no await in between), so nothing is counted
            # twice or dropped; on cancellation the reservation is simply returned.
            for tracker in trackers:
                tracker.release(reserved)
                if call.held:
                    tracker.drop_tokens(call.held)

    async def _call(
        self, entry: _ModelEntry, request: GenerationRequest, call: _Call
    ) -> BackendReply:
        """One ask: the first attempt directly, then retries with backoff (tenacity).

        Nearly every call succeeds at once, and tenacity's per-attempt bookkeeping costs about
        as much as the rest of the call path, so it only takes over after a transient failure.
        """
        limits = entry.gate.limits
        try:
            return await self._gated_attempt(entry, request, call)
        except TransientBackendError as exc:
            if limits.max_retries == 0:
                raise _exhausted(entry, limits, exc) from exc
            await asyncio.sleep(entry.wait.delay(exc, 1))
        # Imported here: tenacity pulls in tornado where it is installed, a cost every start-up
        # would pay for the rare call that needs a second retry.
        from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

        retrying = AsyncRetrying(
            stop=stop_after_attempt(limits.max_retries),
            wait=entry.wait,
            retry=retry_if_exception_type(TransientBackendError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    reply = await self._gated_attempt(entry, request, call)
            return reply
        except TransientBackendError as exc:
            raise _exhausted(entry, limits, exc) from exc

    async def _gated_attempt(
        self, entry: _ModelEntry, request: GenerationRequest, call: _Call
    ) -> BackendReply:
        if entry.fleet is not None:
            # The policy picks a replica per attempt; a failed one is avoided on the retry.
            async def on_replica(replica: _ModelEntry, name: str) -> BackendReply:
                call.endpoint = name
                return await self._gated_attempt(replica, request, call)

            return await entry.fleet.call(
                request, on_replica, failed=call.failed, run_started=call.recorder.started
            )
        # The token reservation is taken before queueing for a slot: a call that held a slot
        # while waiting for tokens could wait on one that needs the slot to finish.
        held = call.held
        await self._hold_tokens(request, call)
        try:
            async with entry.gate.slot(request.prompt_chars() // 4 + request.params.max_tokens):
                # Tokens, cost and time may have run out while this call queued.
                for tracker in call.trackers:
                    tracker.check(holding=1)
                if call.admitted is None:
                    call.admitted = time.perf_counter()
                reply = await self._attempt(entry, request, call)
        except BaseException:
            self._settle_tokens(call, held, 0)
            raise
        self._settle_tokens(call, held, reply.prompt_tokens + reply.completion_tokens)
        call.attempts += max(0, reply.requests - 1)
        return reply

    @staticmethod
    async def _hold_tokens(request: GenerationRequest, call: _Call) -> None:
        """Wait until the call's largest possible size fits every token budget, then hold it."""
        trackers = call.trackers
        if all(t.budget.max_tokens is None for t in trackers):
            return
        # A reply may use more than the estimate (a prompt denser than 3 chars a token): the
        # largest call seen so far is a floor for the reservation.
        size = max(_budget_tokens(request), *(t.largest_call for t in trackers))
        while not all(t.tokens_fit(size, own=call.held) for t in trackers):
            waiting = next(t for t in trackers if not t.tokens_fit(size, own=call.held))
            await waiting.wait_for_tokens()
            for tracker in trackers:
                tracker.check(holding=1)
        for tracker in trackers:
            tracker.hold_tokens(size)
        call.held += size

    @staticmethod
    def _settle_tokens(call: _Call, held_before: int, actual: int) -> None:
        """Replace this attempt's reservation by the tokens its reply actually used."""
        reservation = call.held - held_before
        if reservation <= 0:
            return
        for tracker in call.trackers:
            tracker.largest_call = max(tracker.largest_call, actual)
            if actual < reservation:
                tracker.drop_tokens(reservation - actual)
            else:
                tracker.hold_tokens(actual - reservation)
        call.held += actual - reservation

    def _timeout(self, entry: _ModelEntry, request: GenerationRequest, call: _Call) -> float | None:
        """This attempt's timeout: the limit, or for remote backends the adaptive one."""
        limits = entry.gate.limits
        if not (limits.adaptive_timeout and entry.backend.capabilities.remote):
            return limits.timeout_s
        return adaptive_timeout(
            entry.latency.window(request.role),
            ceiling=limits.timeout_s,
            floor=limits.timeout_floor_s,
            multiple=limits.timeout_multiple,
            previous_cut=call.cut,
            cold=None if _streams(entry, call) else limits.cold_timeout_s,
        )

    async def _attempt(
        self, entry: _ModelEntry, request: GenerationRequest, call: _Call
    ) -> BackendReply:
        backend, recorder = entry.backend, call.recorder
        walls = [
            w
            for w in (recorder.tracker.remaining_wall_s(), self.tracker.remaining_wall_s())
            if w is not None
        ]
        wall = min(walls) if walls else None
        if wall is not None and wall <= 0:
            raise _wall_exceeded(recorder, "wall-time budget exhausted")
        limit = self._timeout(entry, request, call)
        timeout = limit
        if wall is not None and (timeout is None or wall < timeout):
            timeout = wall
        window = entry.latency.window(request.role) if backend.capabilities.remote else None
        call.attempts += 1
        started = time.perf_counter()
        withdraw: Callable[[], None] | None = None
        try:
            async with asyncio.timeout(timeout) as scope:
                if window is not None and limit and window.quantile(0.99) is None:
                    # A cold start: re-timed once the window is trusted (see agot.latency).
                    def retime() -> None:
                        nonlocal timeout
                        adaptive = self._timeout(entry, request, call)
                        if adaptive is None or timeout is None or adaptive >= timeout:
                            return
                        timeout = adaptive
                        loop = asyncio.get_running_loop()
                        when = scope.when()
                        due = loop.time() - (time.perf_counter() - started) + adaptive
                        if when is None or due < when:
                            scope.reschedule(max(due, loop.time()))

                    withdraw = window.when_trusted(retime)
                if entry.gate.limits.hedge and window is not None:
                    reply = await self._hedged(entry, request, call, window.quantile(0.95))
                else:
                    reply = await self._send(entry, request, call)
        except TimeoutError:
            if wall is not None and timeout == wall:
                raise _wall_exceeded(
                    recorder, f"wall-time budget exhausted during a call ({wall:.1f} s left)"
                ) from None
            assert timeout is not None
            if window is not None and timeout != entry.gate.limits.timeout_s:
                # Cut by the adaptive timeout: a longer next try (see agot.latency for why
                # the cut is not a sample).
                call.cut = timeout
            raise TransientBackendError(
                f"no reply within {timeout:.1f} s", backend=backend.name
            ) from None
        finally:
            if withdraw is not None:
                withdraw()
        if window is not None:
            window.add(time.perf_counter() - started)
        return reply

    @staticmethod
    async def _send(
        entry: _ModelEntry, request: GenerationRequest, call: _Call, *, primary: bool = True
    ) -> BackendReply:
        """One request to the backend; abandoned in flight, it is counted as cancelled."""
        with delivery_for_attempt() as delivery:
            try:
                if _streams(entry, call):
                    sink = call.sink if primary else None
                    reply = await _streamed(entry, request, call, delivery, sink)
                else:
                    reply = await entry.backend.generate(request)
            except asyncio.CancelledError:
                call.abandon(entry, request, delivery)
                raise
        entry.rate.learn(request, reply)
        return reply

    async def _hedged(
        self, entry: _ModelEntry, request: GenerationRequest, call: _Call, after: float | None
    ) -> BackendReply:
        """Send ``request``; if no reply came after ``after`` s, send a duplicate, keep the first.

        The duplicate waits for the request-rate limiter (it is one more request) but not for a
        concurrency slot (it replaces a straggler). The loser is cancelled; both count as
        attempts. A failure of one copy waits for the other.
        """
        first = asyncio.ensure_future(self._send(entry, request, call))
        if after is None:
            return await first
        pending: set[asyncio.Future[BackendReply]] = {first}
        try:
            done, pending = await asyncio.wait(pending, timeout=after)
            if done:
                return first.result()
            request_rate = getattr(entry.gate, "request_rate", None)  # shared gates lack it
            if request_rate is not None:
                await request_rate()
            if first.done():
                return first.result()
            call.attempts += 1
            # The duplicate's text is not streamed to the caller (the first copy's is; if the
            # duplicate wins, the caller gets its reply as a restart).
            pending.add(asyncio.ensure_future(self._send(entry, request, call, primary=False)))
            error: BaseException | None = None
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is None:
                        return task.result()
                    error = error or task.exception()
            assert error is not None
            raise error
        finally:
            for task in pending:
                task.cancel()
            if pending:  # let the losers count what they sent before the call is recorded
                await asyncio.wait(pending)

    @staticmethod
    def _parse_or_none(text: str, request: GenerationRequest) -> Any:
        if request.output_schema is None:
            return None
        try:
            return parse_structured(text, request.output_schema)
        except SchemaError:
            return None

    def _finish(
        self,
        call: _Call,
        request: GenerationRequest,
        backend: Backend,
        call_id: str,
        start: float,
        t0: float,
        reply: BackendReply,
        usage: Usage,
        parsed: Any,
        *,
        cached: bool = False,
        error: str | None = None,
        discarded: bool = False,
    ) -> Generation:
        """Record the call's trace event and charge its usage (with the attempts it made)."""
        # The event spans the backend's work: time queued for a concurrency slot or a rate
        # limiter is kept apart (queued_s), so call durations, the critical path and the
        # parallelism figure describe the model calls, not the dispatcher's queue.
        attempts, admitted = call.attempts, call.admitted
        if call.abandoned is not None:
            usage = usage + call.abandoned
        usage = usage.model_copy(update={"attempts": attempts})
        now = time.perf_counter()
        queued = (admitted - t0) if admitted is not None else 0.0
        end = start + (now - t0)
        start = start + queued
        # What the trace event and the caller's Generation both say about the call.
        shared: dict[str, Any] = {
            "call_id": call_id,
            "start": start,
            "end": end,
            "queued_s": queued,
            "backend": backend.name,
            "model": backend.model,
            "cached": cached,
            "attempts": attempts,
            "warnings": list(reply.warnings),
            "endpoint": call.endpoint,
        }
        event = TraceEvent(
            **shared,
            node_id=request.node_id,
            role=request.role,
            depends_on=list(request.depends_on),
            # All asks of a re-asked call (usage), or what the cached reply once cost.
            prompt_tokens=reply.prompt_tokens if cached else usage.prompt_tokens,
            completion_tokens=reply.completion_tokens if cached else usage.completion_tokens,
            cost=usage.cost,
            cancelled=usage.cancelled,
            error=error,
            speculative=request.speculative,
            discarded=discarded,
            messages=list(request.messages) if self.store_text else None,
            completion=reply.text if self.store_text else None,
            failed_endpoints=list(call.failed),
            first_token=call.first_token,
            params=request.params.model_dump(exclude_none=True),
            output_schema=None if request.output_schema is None else request.output_schema.__name__,
            sample_index=request.sample_index,
        )
        call.recorder.record(event, usage, request.output_schema)
        self.tracker.add(usage)
        return Generation(
            **shared,
            text=reply.text,
            parsed=parsed,
            usage=usage,
            latency_s=end - start,
            finish_reason=reply.finish_reason,
            mean_logprob=reply.mean_logprob,
        )

    # -- lifecycle --------------------------------------------------------------------------
    async def aclose(self) -> None:
        for entry in self._models.values():
            if entry.owned:
                await entry.backend.aclose()

    async def __aenter__(self) -> Dispatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def using_dispatcher(
    dispatcher: Dispatcher | None, model: str | Backend | None, options: Mapping[str, Any]
) -> AsyncIterator[Dispatcher]:
    """The caller's ``dispatcher`` as it is (the caller closes it), or one built from ``model``
    and ``options`` for the block and closed after it.

    Passing both is refused rather than guessed at: options meant for a new dispatcher would be
    silently ignored by the one given.
    """
    if dispatcher is not None:
        if model is not None or options:
            raise ConfigError("pass either dispatcher= or model=/dispatcher options, not both")
        yield dispatcher
        return
    own = Dispatcher(model, **options)
    try:
        yield own
    finally:
        await own.aclose()


class _Backoff:
    """Waits between attempts: Retry-After when the server sent one, else exponential + jitter.

    Built once per model entry. As a tenacity ``wait`` it is called for tenacity's attempt
    ``n``, which is overall attempt ``n + 1`` (the first attempt runs before tenacity starts).
    """

    def __init__(self, limits: Limits) -> None:
        self.initial = limits.backoff_initial_s
        self.ceiling = limits.backoff_max_s

    def delay(self, error: BaseException | None, failed_attempt: int) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (1-based) failed with ``error``."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_S)
        # initial * 2^(n-1) plus up to `initial` of jitter, capped at backoff_max_s.
        exponential = self.initial * 2.0 ** (failed_attempt - 1)
        return min(exponential + random.uniform(0.0, self.initial), self.ceiling)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.delay(error, state.attempt_number + 1)


async def _streamed(
    entry: _ModelEntry,
    request: GenerationRequest,
    call: _Call,
    delivery: Delivery,
    sink: DeltaSink | None,
) -> BackendReply:
    """One attempt as a stream: its pieces go to ``sink``, the backend's final reply is
    returned. A remote backend's attempt is cut when its first token does not come within the
    first-token deadline (learned per backend and role, see
    :func:`agot.latency.first_token_timeout`) or when it stalls for ``stall_timeout_s``
    between pieces; either is a transient failure the caller retries, and the request, which
    the server has, is counted as cancelled. The whole-reply timeout still bounds it all."""
    backend, limits = entry.backend, entry.gate.limits
    timed = backend.capabilities.remote
    window = entry.first_token.window(request.role)
    first: float | None = None
    if timed:
        first = first_token_timeout(
            window,
            cold=limits.first_token_timeout_s,
            floor=limits.first_token_floor_s,
            multiple=limits.timeout_multiple,
            ceiling=limits.timeout_s,
            previous_cut=call.first_cut,
        )
    stall = limits.stall_timeout_s if timed else None
    if sink is not None:
        sink(request, None)  # a new attempt: text given before is void
    pieces = backend.stream(request)  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    started = moved = loop.time()
    waiting = True  # for the first piece
    # One timer for the whole stream, moved at most every quarter of the stall deadline (to
    # 1.25 x it ahead): a silence is cut after between 1 and 1.25 x stall_timeout_s, and a
    # long reply does not pay for a timer per token.
    clock = asyncio.timeout_at(None if first is None else started + first)
    try:
        async with clock:
            while True:
                piece = await anext(pieces)
                if waiting:
                    waiting = False
                    call.first_token = time.time()
                    now = loop.time()
                    if timed:
                        window.add(now - started)
                    if stall is not None:
                        clock.reschedule(now + 1.25 * stall)
                        moved = now
                elif stall is not None and (now := loop.time()) - moved > stall / 4:
                    clock.reschedule(now + 1.25 * stall)
                    moved = now
                if isinstance(piece, BackendReply):
                    return piece
                if sink is not None and piece:
                    sink(request, piece)
    except StopAsyncIteration:
        raise TransientBackendError(
            f"{backend.name} ended a stream without its reply", backend=backend.name
        ) from None
    except TimeoutError:
        if not clock.expired():
            raise
        call.abandon(entry, request, delivery)
        if waiting:
            assert first is not None
            window.add(first)  # a censored sample: the deadline follows a shift
            call.first_cut = first
            raise TransientBackendError(
                f"no first token within {first:.1f} s", backend=backend.name
            ) from None
        raise TransientBackendError(
            f"the reply stalled: no token for {stall:.1f} s", backend=backend.name
        ) from None
    finally:
        await pieces.aclose()


def _exhausted(entry: _ModelEntry, limits: Limits, error: TransientBackendError) -> BackendError:
    """Retries ran out: a plain (non-transient) BackendError, so no outer layer retries again."""
    return BackendError(
        f"{entry.backend.name} model {entry.backend.model!r} failed after "
        f"{limits.max_retries + 1} attempts: {error}",
        backend=entry.backend.name,
        status=error.status,
    )
