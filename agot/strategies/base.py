"""The Strategy interface: ``await strategy.solve(question, model=...) -> Result``.

A strategy implements :meth:`Strategy.run`, which turns a :class:`~agot.task.Task` into an
:class:`Outcome` using ``ctx.generate``. The base class owns what every strategy shares: input
validation, creating (and closing) a dispatcher when none is passed, the per-run recorder that
collects trace events and enforces the run's budget, turning an exhausted budget into a partial
result, and turning a backend failure into a result that says so (nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import time
from abc import ABC, ABCMeta, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from pydantic import BaseModel, Field

from agot.answers import strip_json_debris
from agot.backends.base import Backend
from agot.budget import Budget
from agot.config import check_count
from agot.dispatcher import Dispatcher, using_dispatcher
from agot.errors import BackendError, BudgetExceeded, ConfigError, RunFailedError, SchemaError
from agot.events import Done, FinalTextDelta, StrategyEvent, event_sink
from agot.prompts.template import PromptTemplate
from agot.result import Result
from agot.routing.privacy import Redactor
from agot.routing.router import RouteLog, Router
from agot.task import Task
from agot.trace import RunRecorder, recording
from agot.types import Generation, GenerationRequest, SamplingParams

if TYPE_CHECKING:
    from typing import TextIO

_Item = TypeVar("_Item")
_Out = TypeVar("_Out")

#: Whether a run in which every model call failed raises :class:`RunFailedError` (the default,
#: for callers of the API) or returns its Result with ``error`` set (an eval runner, which
#: records every item, failures included; see :func:`failures_as_results`).
_RAISE_ON_FAILURE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "agot_raise_on_failure", default=True
)


@contextlib.contextmanager
def failures_as_results() -> Iterator[None]:
    """Inside the block (and tasks it spawns), runs whose every call failed return a Result
    with ``error`` set instead of raising :class:`RunFailedError`."""
    token = _RAISE_ON_FAILURE.set(False)
    try:
        yield
    finally:
        _RAISE_ON_FAILURE.reset(token)


async def gather_bounded(
    items: Iterable[_Item], run: Callable[[_Item], Awaitable[_Out]], limit: int
) -> list[_Out]:
    """``run`` over ``items``, at most ``limit`` at a time, results in input order.

    Runs go under :func:`failures_as_results`: an item whose every call failed comes back with
    its error set instead of ending the batch, so one bad item never loses the others.
    """
    gate = asyncio.Semaphore(limit)

    async def one(item: _Item) -> _Out:
        async with gate:
            with failures_as_results():
                return await run(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


class Outcome(BaseModel):
    """What :meth:`Strategy.run` produces; the base class wraps it into a Result."""

    answer: str | None = None
    #: A validated instance of a user's answer schema, when the strategy supports one.
    parsed: Any = None
    details: dict[str, Any] = Field(default_factory=dict)
    graph: dict[str, Any] | None = None
    errors: list[str] = Field(default_factory=list)
    stopped: str | None = None


@dataclass
class RunContext:
    """What a strategy may use during one run."""

    dispatcher: Dispatcher
    recorder: RunRecorder
    model: str
    prompts: dict[str, str]
    #: Model routing (per-role models, cascade, privacy); None: every call to the default.
    router: Router | None = None
    redactor: Redactor | None = None
    routing: RouteLog | None = None

    async def generate(self, request: GenerationRequest) -> Generation:
        if self.router is not None:
            return await self.router.generate(
                self.dispatcher, request, redactor=self.redactor, log=self.routing
            )
        return await self.dispatcher.generate(request)

    def use_prompt(self, template: PromptTemplate) -> PromptTemplate:
        """Note that ``template`` was used (it goes into the trace) and return it."""
        self.prompts[template.name] = template.version
        return template


@functools.cache
def accepted_options(cls: type) -> frozenset[str]:
    """The keyword options ``cls(...)`` takes: the named parameters of its ``__init__`` and,
    while an ``__init__`` passes ``**options`` on, those of the classes it passes them to."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        }
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return frozenset(names)


class _StrategyType(ABCMeta):
    """Checks a strategy's keyword options before ``__init__`` runs: an option the strategy does
    not take (``CoT(final_schema=...)``, an AGoT option) is a ConfigError naming the options
    it does take, not a TypeError from deep inside the constructor chain."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        accepted = accepted_options(cls)
        unknown = sorted(k for k in kwargs if k not in accepted)
        if unknown:
            takes = ", ".join(sorted(n for n in accepted if not n.startswith("_")))
            raise ConfigError(
                f"{cls.__name__} does not take {', '.join(map(repr, unknown))}: it takes {takes}"
            )
        return super().__call__(*args, **kwargs)


class Strategy(ABC, metaclass=_StrategyType):
    """Base of every reasoning strategy."""

    name: ClassVar[str]

    def __init__(
        self,
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
        budget: Budget | None = None,
        models: Mapping[str, Any] | str | None = None,
        router: Router | None = None,
    ) -> None:
        self.params = SamplingParams(temperature=temperature, max_tokens=max_tokens)
        self.budget = budget
        if models is not None and router is not None:
            raise ConfigError("pass either models= or router=, not both")
        #: Per-role models (``models={"assess": "local", ...}``) or a full routing policy.
        self.router = Router(models) if models is not None else router

    @abstractmethod
    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        """Solve ``task``; raise BudgetExceeded/BackendError freely, the base handles them."""

    async def solve(
        self,
        question: str | Task,
        *,
        model: str | Backend | None = None,
        dispatcher: Dispatcher | None = None,
        budget: Budget | None = None,
        **dispatcher_options: Any,
    ) -> Result:
        """Solve one question. Pass ``dispatcher`` to share limits and caches across runs."""
        task = Task.coerce(question)
        recorder = RunRecorder(budget or self.budget)
        async with using_dispatcher(dispatcher, model, dispatcher_options) as used:
            started = time.perf_counter()
            router = self.router or (used.router if isinstance(used.router, Router) else None)
            ctx = RunContext(used, recorder, used.default_model, {})
            if router is not None:
                ctx.router, ctx.routing = router, RouteLog()
                ctx.redactor = router.redactor(task.context, [task.question, *(task.choices or [])])
            with recording(recorder):
                try:
                    outcome = await self.run(task, ctx)
                    error = None
                except BudgetExceeded as exc:
                    outcome, error = Outcome(stopped=exc.reason), None
                except (BackendError, SchemaError) as exc:
                    outcome, error = Outcome(), f"{type(exc).__name__}: {exc}"
        result = Result(
            question=task.question,
            strategy=self.name,
            model=ctx.model,
            answer=strip_json_debris(outcome.answer) if outcome.answer is not None else None,
            parsed=outcome.parsed,
            usage=recorder.usage,
            events=recorder.events,
            schemas=recorder.schemas,
            graph=outcome.graph,
            prompts=ctx.prompts,
            details=outcome.details
            if ctx.router is None or ctx.routing is None
            else {**outcome.details, "routing": ctx.routing.summary(ctx.router)},
            errors=outcome.errors + ([error] if error else []),
            stopped=outcome.stopped or recorder.tracker.exceeded,
            error=error,
            wall_s=time.perf_counter() - started,
        )
        events = recorder.events
        failed_outright = (
            result.answer is None and not result.stopped and events and all(e.error for e in events)
        )
        if failed_outright and _RAISE_ON_FAILURE.get():
            message = f"every model call of this run failed ({len(events)}); the first: " + str(
                events[0].error
            )
            failed = result.model_copy(update={"error": result.error or message})
            raise RunFailedError(message, result=failed)
        return result

    async def stream(self, question: str | Task, **options: Any) -> AsyncIterator[StrategyEvent]:
        """Solve like :meth:`solve` (same options), giving typed events as the run goes.

        ``async for event in strategy.stream(q)`` yields the events of :mod:`agot.events`:
        those a strategy emits (AGoT: thoughts proposed, assessed, answered, nested graphs
        opened), :class:`~agot.events.FinalTextDelta` s of the answer call's text as it is
        written (the whole answer in one piece when nothing streamed), and
        :class:`~agot.events.Done` with the Result last. Leaving the loop early cancels the run.
        """
        from agot.answer_echo import AnswerEcho
        from agot.streaming import delta_sink

        queue: asyncio.Queue[Any] = asyncio.Queue()
        echo = AnswerEcho(cast("TextIO", _EventOut(queue.put_nowait)))
        tokens = (event_sink.set(queue.put_nowait), delta_sink.set(echo))
        try:
            task = asyncio.ensure_future(self.solve(question, **options))
        finally:
            delta_sink.reset(tokens[1])
            event_sink.reset(tokens[0])
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            result = task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not echo.written and result.answer:
            yield FinalTextDelta(result.answer)
        yield Done(result)

    async def solve_many(
        self,
        questions: Iterable[str | Task],
        *,
        model: str | Backend | None = None,
        dispatcher: Dispatcher | None = None,
        budget: Budget | None = None,
        concurrency: int | None = None,
        items_in_flight: int | None = None,
        **dispatcher_options: Any,
    ) -> list[Result]:
        """Solve many questions over one dispatcher (shared limits, cache and usage), results in
        the order of ``questions``.

        ``concurrency`` is what it means everywhere in agot: model calls in flight (it sets the
        dispatcher's limit when this method creates the dispatcher). ``items_in_flight`` bounds
        how many questions run at once (default: ``concurrency``, else 8). ``budget`` applies
        to each question. A question whose every call failed comes back as a Result with
        ``error`` set, so one bad item never loses the others.
        """
        from agot.limits import Limits

        if isinstance(questions, str | Task):  # a str iterates as its characters
            raise ConfigError(
                "solve_many takes a list of questions; for one question call solve(question)"
            )
        tasks = [Task.coerce(q) for q in questions]
        for name, value in (("concurrency", concurrency), ("items_in_flight", items_in_flight)):
            if value is not None:
                check_count(value, name)
        if concurrency is not None and dispatcher is None:
            limits = dispatcher_options.pop("limits", None) or Limits()
            dispatcher_options["limits"] = limits.model_copy(
                update={"max_concurrency": concurrency}
            )
        elif concurrency is not None:
            raise ConfigError(
                "concurrency sets the limit of a dispatcher solve_many creates; pass "
                "limits=Limits(max_concurrency=...) to the Dispatcher you give instead"
            )
        async with using_dispatcher(dispatcher, model, dispatcher_options) as shared:
            return await gather_bounded(
                tasks,
                lambda task: self.solve(task, dispatcher=shared, budget=budget),
                items_in_flight or concurrency or 8,
            )


class _EventOut:
    """What :class:`~agot.answer_echo.AnswerEcho` writes to, turned into final deltas."""

    def __init__(self, put: Callable[[StrategyEvent], None]) -> None:
        self._put = put

    def write(self, text: str) -> int:
        self._put(FinalTextDelta(text))
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""
