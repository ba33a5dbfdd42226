"""Kairanban-style CoT (KCS) with an optional Idobata conversation (IBC).

Ueno & Inoshita, "A Multi-Agent Probabilistic Inference Framework Inspired by Kairanban-Style
CoT System with IdoBata Conversation for Debiasing", arXiv 2506.21565 (2025).

Information flow, exactly (``N`` agents, ``m = idobata_at``):

1. The board starts empty: ``D_0`` has no analysis, no reasoning and a probability of 0 on
   every label (the paper's placeholder; it is shown to agent 1 as such).
2. Agent ``i = 1..N`` sees the text and ``D_{i-1}``, the document the previous agent left on
   the board (only that one, not the whole history), and writes ``D_i = (R_i, S_i, P_i)``.
   A failed agent (no valid document after the dispatcher's re-asks) leaves the board as it
   was: agent ``i+1`` then sees the last valid document.
3. With ``m`` set: right after agent ``m`` has written, the chain pauses. Agents ``1..N`` each
   make one short casual comment, in order; comment ``j`` sees the text, the board ``D_m`` and
   comments ``1..j-1``. Then agents ``m+1..N`` see the whole dialogue as well as the board.
   (So ``m = N`` holds the conversation after the last document: it is reported, but changes
   no distribution.)
4. The prediction is the last agent's ``P_N`` (``aggregate="last"``); the label-wise mean of
   all ``P_i`` (``"mean"``) and majority vote (``"vote"``) are offered too, and reported always.

``independent=True`` gives the no-sharing baseline: every agent starts from the empty board,
all run concurrently, and the aggregate (``mean`` or ``vote``) combines them.

Every call's ``depends_on`` names the calls whose outputs its prompt contains, so the trace
shows the chain (and the dialogue) as a DAG.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from agot.backends.base import Backend
from agot.budget import Budget
from agot.config import check_count
from agot.dispatcher import Dispatcher, using_dispatcher
from agot.errors import BackendError, BudgetExceeded, ConfigError, SchemaError
from agot.kairanban.options import (
    AGGREGATES,
    DEFAULT_AGENTS,
    MAX_AGENTS,
    MAX_COMMENT_CHARS,
    fitted_note_chars,
    per_agent,
)
from agot.kairanban.report import build_report, read_report
from agot.kairanban.schemas import (
    DEFAULT_LABELS,
    DEFAULT_NOTE_CHARS,
    DEFAULT_SUM_TOLERANCE,
    AgentDocument,
    Comment,
    KairanbanResult,
    check_labels,
    document_model,
    normalise,
)
from agot.prompts import kairanban as prompts
from agot.result import Result
from agot.strategies.base import Outcome, RunContext, Strategy, gather_bounded
from agot.task import Task
from agot.types import GenerationRequest, SamplingParams, require_text


class Kairanban(Strategy):
    """Multi-agent probabilistic classification: a kairanban chain, optionally with idobata.

    ``labels``: the label set (default negative/neutral/positive). ``agents``: chain length N.
    ``idobata_at``: agent m after which the idobata round is held (``None``: plain KCS).
    ``models``: model strings, one for all agents or one per agent (each request carries it,
    the dispatcher routes it); ``None`` uses the dispatcher's model. ``personas``: optional
    persona prompts, one for all or one per agent (``None`` entries for none).
    ``aggregate``: ``last`` (the paper), ``mean`` or ``vote``. ``readings``: the aggregates an
    eval reports this run under, one results row each (default ``aggregate`` alone; the
    ``independent`` variant reads one run as ``vote`` and ``mean``, see :meth:`read`).
    ``independent``: no sharing at all (baseline). ``note_chars``: the JSON-schema ``maxLength``
    of the analysis and reasoning, lowered to fit ``max_tokens`` (see :func:`fitted_note_chars`).
    ``sum_tolerance``: how far from 1 a distribution's sum may be and still be renormalised
    (further off is re-asked). ``seed``: agent ``i`` samples with seed ``seed + i``.
    """

    name = "kairanban"

    def __init__(
        self,
        labels: Sequence[str] | str = DEFAULT_LABELS,
        *,
        agents: int = DEFAULT_AGENTS,
        idobata_at: int | None = None,
        models: Sequence[str] | str | None = None,
        personas: Sequence[str | None] | str | None = None,
        aggregate: str = "last",
        readings: Sequence[str] | None = None,
        independent: bool = False,
        temperature: float = 0.7,
        max_tokens: int = 512,
        comment_max_tokens: int = 96,
        note_chars: int = DEFAULT_NOTE_CHARS,
        sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
        seed: int | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.labels = check_labels(labels)
        self.agents = check_count(agents, "agents", maximum=MAX_AGENTS)
        if idobata_at is not None:
            if isinstance(idobata_at, bool) or not isinstance(idobata_at, int):
                raise ConfigError(f"idobata_at must be an integer or None, got {idobata_at!r}")
            if not 1 <= idobata_at <= self.agents:
                raise ConfigError(
                    f"idobata_at must be between 1 and agents ({self.agents}), got {idobata_at}"
                )
            if independent:
                raise ConfigError(
                    "independent agents share nothing, so they cannot hold an idobata round: "
                    "drop idobata_at or independent"
                )
        self.idobata_at = idobata_at
        self.models = per_agent(models, self.agents, "models")
        if self.models is not None:
            for m in self.models:
                if not isinstance(m, str) or not m.strip():
                    raise ConfigError(f"every model must be a non-empty model string, got {m!r}")
        self.personas = per_agent(personas, self.agents, "personas")
        if self.personas is not None:
            for p in self.personas:
                if p is not None and not isinstance(p, str):
                    raise ConfigError(f"a persona must be text or None, got {p!r}")
        if aggregate not in AGGREGATES:
            raise ConfigError(
                f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}"
            )
        self.aggregate = aggregate
        self.readings = tuple(readings) if readings is not None else (aggregate,)
        if not self.readings or any(r not in AGGREGATES for r in self.readings):
            raise ConfigError(
                f"readings must be aggregates among {', '.join(AGGREGATES)}, got {readings!r}"
            )
        self.independent = bool(independent)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            raise ConfigError(f"temperature must be between 0 and 2, got {temperature!r}")
        check_count(max_tokens, "max_tokens")
        self.comment_max_tokens = check_count(comment_max_tokens, "comment_max_tokens")
        self.note_chars = fitted_note_chars(
            check_count(note_chars, "note_chars"), max_tokens, len(self.labels)
        )
        if not isinstance(sum_tolerance, int | float) or not 0 <= sum_tolerance < 1:
            raise ConfigError(f"sum_tolerance must be in [0, 1), got {sum_tolerance!r}")
        self.sum_tolerance = float(sum_tolerance)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an integer or None, got {seed!r}")
        self.seed = seed
        super().__init__(temperature=temperature, max_tokens=max_tokens, budget=budget)
        self.schema = document_model(self.labels, self.note_chars, self.sum_tolerance)

    # -- public API ---------------------------------------------------------------------------
    def describe(self) -> str:
        """A one-line account of the configuration (an eval's run.json records it)."""
        parts = [f"mode={self.mode}", f"agents={self.agents}"]
        if self.idobata_at is not None:
            parts.append(f"idobata_at={self.idobata_at}")
        parts += [
            f"aggregate={','.join(self.readings)}",
            f"labels={','.join(self.labels)}",
            f"temperature={self.params.temperature}",
            f"max_tokens={self.params.max_tokens}",
            f"seed={self.seed}",
        ]
        return f"Kairanban({', '.join(parts)})"

    def read(self, result: Result, reading: str) -> Result:
        """``result`` (of :meth:`solve`) read under aggregate ``reading``: its answer and
        ``details["distribution"]`` from that aggregate (the run reports all three, so a
        reading costs no calls), and ``error`` set when no agent gave a valid distribution
        (a failed item, not merely an unparsed one)."""
        answer, details = read_report(result.details, reading)
        error = result.error or (details.get("kairanban") or {}).get("error")
        return result.model_copy(update={"answer": answer, "details": details, "error": error})

    @property
    def mode(self) -> str:
        if self.independent:
            return "independent"
        if self.agents == 1 and self.idobata_at is None:
            return "single"
        return "kcs+ibc" if self.idobata_at is not None else "kcs"

    async def predict(
        self,
        text: str,
        *,
        model: str | Backend | None = None,
        dispatcher: Dispatcher | None = None,
        budget: Budget | None = None,
        **dispatcher_options: Any,
    ) -> KairanbanResult:
        """Classify one text. Pass ``dispatcher`` to share limits and caches across texts."""
        require_text(text, "text to classify")
        result = await self.solve(
            Task(question=text),
            model=model,
            dispatcher=dispatcher,
            budget=budget,
            **dispatcher_options,
        )
        return self.result_from(result)

    async def predict_many(
        self,
        texts: Iterable[str],
        *,
        model: str | Backend | None = None,
        dispatcher: Dispatcher | None = None,
        concurrency: int = 4,
        budget: Budget | None = None,
        **dispatcher_options: Any,
    ) -> list[KairanbanResult]:
        """Classify many texts over one dispatcher, at most ``concurrency`` texts at a time.

        Results come back in input order. ``budget`` applies to each text; a budget for the
        whole batch belongs on the dispatcher (``Dispatcher(budget=...)``).
        """
        items = [require_text(t, "text to classify") for t in texts]
        check_count(concurrency, "concurrency")
        async with using_dispatcher(dispatcher, model, dispatcher_options) as shared:
            return await gather_bounded(
                items,
                lambda text: self.predict(text, dispatcher=shared, budget=budget),
                concurrency,
            )

    def result_from(self, result: Result) -> KairanbanResult:
        """The typed result of a ``solve()`` run of this strategy."""
        data = dict(result.details.get("kairanban") or {})
        if not data:  # the run ended before the strategy could report (budget spent at once)
            data = build_report(self, result.question, [], [], None)
        data.update(
            usage=result.usage,
            events=result.events,
            prompts=result.prompts,
            wall_s=result.wall_s,
            stopped=data.get("stopped") or result.stopped,
        )
        if result.error and not data.get("error"):
            data["error"] = result.error
        return KairanbanResult.model_validate(data)

    # -- the run ------------------------------------------------------------------------------
    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        text = task.question
        ctx.use_prompt(prompts.AGENT)
        if self.idobata_at is not None:
            ctx.use_prompt(prompts.COMMENT)
        documents: list[AgentDocument] = []
        dialogue: list[Comment] = []
        stopped: str | None = None
        try:
            if self.independent:
                documents = await self._independent(ctx, text)
            else:
                stopped = await self._chain(ctx, text, documents, dialogue)
        except BudgetExceeded as exc:
            stopped = exc.reason
        report = build_report(self, text, documents, dialogue, stopped)
        return Outcome(
            answer=report["label"],
            details={"kairanban": report, "distribution": report["distribution"]},
            errors=report["errors"],
            stopped=stopped,
        )

    async def _chain(
        self,
        ctx: RunContext,
        text: str,
        documents: list[AgentDocument],
        dialogue: list[Comment],
    ) -> str | None:
        board: AgentDocument | None = None  # the last valid document (None: empty board)
        for i in range(1, self.agents + 1):
            shown = dialogue if self.idobata_at is not None and i > self.idobata_at else []
            try:
                doc = await self._agent(ctx, i, text, board, shown)
            except BudgetExceeded as exc:
                return exc.reason
            documents.append(doc)
            if doc.distribution is not None:
                board = doc
            if i == self.idobata_at:
                try:
                    await self._idobata(ctx, text, board, dialogue)
                except BudgetExceeded as exc:
                    return exc.reason
        return None

    async def _independent(self, ctx: RunContext, text: str) -> list[AgentDocument]:
        runs = await asyncio.gather(
            *(self._agent(ctx, i, text, None, []) for i in range(1, self.agents + 1)),
            return_exceptions=True,
        )
        documents: list[AgentDocument] = []
        stopped: BudgetExceeded | None = None
        for i, run in enumerate(runs, start=1):
            if isinstance(run, BudgetExceeded):
                stopped = stopped or run
                documents.append(AgentDocument(agent=i, error=f"BudgetExceeded: {run}"))
            elif isinstance(run, BaseException):
                raise run
            else:
                documents.append(run)
        if stopped is not None and all(d.distribution is None for d in documents):
            raise stopped
        return documents

    def _model(self, i: int) -> str | None:
        return self.models[i - 1] if self.models else None

    def _persona(self, i: int) -> str | None:
        persona = self.personas[i - 1] if self.personas else None
        return persona.strip() if persona and persona.strip() else None

    def _params(self, i: int, max_tokens: int) -> SamplingParams:
        return self.params.model_copy(
            update={
                "max_tokens": max_tokens,
                "seed": None if self.seed is None else self.seed + i,
            }
        )

    def _fields(self, i: int) -> dict[str, Any]:
        persona = self._persona(i)
        return {
            "agent": i,
            "agents": self.agents,
            "persona": f"\nYour persona: {persona}" if persona else "",
        }

    async def _agent(
        self,
        ctx: RunContext,
        i: int,
        text: str,
        board: AgentDocument | None,
        dialogue: Sequence[Comment],
    ) -> AgentDocument:
        """Agent ``i`` writes its document; a backend or schema failure becomes ``error``."""
        fields = self._fields(i)
        user = prompts.AGENT.user.format(
            labels=", ".join(self.labels),
            text=text,
            board=prompts.board_text(board, self.labels),
            dialogue=prompts.dialogue_text(dialogue, self.idobata_at),
            schema_hint=prompts.schema_hint(self.labels),
        )
        depends = [board.call_id] if board is not None and board.call_id else []
        depends += [c.call_id for c in dialogue if c.call_id and not c.error]
        model = self._model(i)
        request = GenerationRequest.chat(
            user,
            system=prompts.AGENT.system.format(**fields),
            output_schema=self.schema,
            params=self._params(i, self.params.max_tokens),
            role="vote",
            node_id=f"agent{i}",
            depends_on=tuple(depends),
            model=model,
            sample_index=i,
        )
        saw = any(not c.error and c.text for c in dialogue)
        base = {
            "agent": i,
            "model": model or ctx.model,
            "persona": self._persona(i),
            "saw_dialogue": saw,
        }
        try:
            generation = await ctx.generate(request)
        except (BackendError, SchemaError) as exc:
            return AgentDocument(**base, error=f"{type(exc).__name__}: {exc}")
        reply = generation.parsed
        distribution, warning = normalise(reply.distribution.as_dict(), self.labels)
        warnings = list(generation.warnings)
        if warning:
            warnings.append(f"agent {i}: {warning}")
        return AgentDocument(
            **base,
            analysis=reply.analysis,
            reasoning=reply.reasoning,
            distribution=distribution,
            call_id=generation.call_id,
            warnings=warnings,
        )

    async def _idobata(
        self,
        ctx: RunContext,
        text: str,
        board: AgentDocument | None,
        dialogue: list[Comment],
    ) -> None:
        """The idobata round: each agent in turn adds one comment, seeing those before it."""
        board_text = prompts.board_text(board, self.labels)
        for j in range(1, self.agents + 1):
            user = prompts.COMMENT.user.format(
                labels=", ".join(self.labels),
                text=text,
                board=board_text,
                dialogue=prompts.dialogue_text(dialogue, self.idobata_at),
            )
            depends = [board.call_id] if board is not None and board.call_id else []
            depends += [c.call_id for c in dialogue if c.call_id and not c.error]
            model = self._model(j)
            request = GenerationRequest.chat(
                user,
                system=prompts.COMMENT.system.format(**self._fields(j)),
                params=self._params(j, self.comment_max_tokens),
                role="chat",
                node_id=f"idobata{j}",
                depends_on=tuple(depends),
                model=model,
                sample_index=j,
            )
            try:
                generation = await ctx.generate(request)
            except BackendError as exc:
                dialogue.append(
                    Comment(agent=j, model=model or ctx.model, error=f"{type(exc).__name__}: {exc}")
                )
                continue
            dialogue.append(
                Comment(
                    agent=j,
                    text=_clean_comment(generation.text),
                    model=model or ctx.model,
                    call_id=generation.call_id,
                )
            )


def _clean_comment(text: str) -> str:
    comment = " ".join(text.strip().split())
    if len(comment) >= 2 and comment[0] == comment[-1] and comment[0] in "\"'":
        comment = comment[1:-1].strip()
    return comment[:MAX_COMMENT_CHARS]
