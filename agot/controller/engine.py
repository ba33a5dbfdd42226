"""The AGoT engine: grows a graph layer by layer and recurses into complex thoughts.

Execution follows the data dependencies only. Within a layer every thought runs as its own task:
assessment, then either a direct answer or a whole nested graph, so sibling answers, sibling
assessments and sibling nested graphs are all in flight at once (up to the dispatcher's limits).
The next layer's proposal reads every answer of the graph so far, so it waits for the layer:
that is a true dependency. The same reply either proposes the next thoughts or declares the
graph ready for its synthesis, so deciding to stop costs no call of its own.

With ``speculate`` a thought's answer and the first proposal of its would-be nested graph start
together with its complexity assessment; the verdict keeps one and cancels the other (or
discards its finished reply). Decisions and prompts are those of the plain run: latency is
bought with calls, and the trace marks every speculative call and whether it was wasted.

Every request names the calls it needed (``depends_on``): the calls whose outputs its prompt
used, and the assessment whose verdict decided to make it. Bounds hold whatever the model says:
thoughts per layer, layers per graph, nesting depth, total thoughts (checked when thoughts are
added, never before an await), and the budgets through :class:`~agot.controller.spending.
Spending`, which keeps every open graph's synthesis call in reserve.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agot.answers import model_text
from agot.controller import schemas
from agot.controller.bounds import Bounds
from agot.controller.live import LiveLayer, Tokens, settled
from agot.controller.speculation import discard, held_task
from agot.controller.spending import Spending
from agot.errors import BackendError, BudgetExceeded, SchemaError
from agot.events import (
    NestedGraphOpened,
    ThoughtAnswered,
    ThoughtAssessed,
    ThoughtProposed,
    emit,
)
from agot.graph import ThoughtGraph, ThoughtNode
from agot.prompts import agot as prompts
from agot.prompts.agot_context import (
    ContextBudget,
    graph_text,
    heritage_text,
    known_text,
)
from agot.prompts.template import PromptTemplate
from agot.strategies.base import RunContext
from agot.streaming import GenerationStream
from agot.types import Generation, GenerationRequest, SamplingParams

RECOVERABLE = (BackendError, SchemaError)
#: Queue priority of graph-level steps (thought steps use the default, 0).
GRAPH_STEP_PRIORITY = 1


@dataclass
class Scope:
    """Where a graph sits: the graphs above it and what its question builds on."""

    #: Each enclosing graph with the layer of the thought this graph expands.
    lineage: list[tuple[ThoughtGraph, int]] = field(default_factory=list)
    known: str = ""
    #: The thoughts ``known`` gives the answers of (the heritage lists them without).
    known_ids: frozenset[str] = frozenset()
    depends_on: list[str] = field(default_factory=list)


@dataclass
class Work:
    """One thought being worked on: where it sits and the calls its prompts need."""

    graph: ThoughtGraph
    node: ThoughtNode
    ancestors: list[ThoughtNode]
    scope: Scope
    upstream: list[str]


@dataclass
class Engine:
    """State of one AGoT run (shared by the top graph and every nested graph)."""

    ctx: RunContext
    bounds: Bounds
    params: dict[str, SamplingParams]
    spending: Spending
    task: str = ""
    budget: ContextBudget = field(default_factory=ContextBudget)
    answer_format: str = ""
    native_schema: bool = False
    speculate: bool = False
    early_stop: bool = True
    final_schema: type[BaseModel] | None = None
    thoughts_made: int = 0
    #: Set once the run-wide thought cap is reached: no new thoughts, the made ones still run.
    capped: str | None = None
    errors: list[str] = field(default_factory=list)
    parsed: Any = None
    #: Proposal calls whose thoughts started before they ended (see :mod:`.live`).
    tokens: Tokens = field(default_factory=Tokens)

    # -- calls --------------------------------------------------------------------------------
    async def call(
        self, template: PromptTemplate, schema: type[BaseModel], **options: Any
    ) -> Generation:
        """One step's call: :meth:`request`'s request, sent."""
        return await self.ctx.generate(self.request(template, schema, **options))

    def request(
        self,
        template: PromptTemplate,
        schema: type[BaseModel],
        *,
        role: str,
        node_id: str,
        depends_on: list[str],
        speculative: bool = False,
        thoughts: int = 1,
        **fields: Any,
    ) -> GenerationRequest:
        """The request of one step. Graph-level steps (proposals, syntheses) gate everything
        after them in their graph, so they get queue priority over thoughts; speculative ones
        do not."""
        self.ctx.use_prompt(template)
        params = self.params[role]
        if self.native_schema:
            schema = schemas.fitted(schema, params.max_tokens, thoughts)
        return template.request(
            request_kwargs={
                "role": role,
                "node_id": node_id,
                "depends_on": tuple(dict.fromkeys(d for d in depends_on if d)),
                "output_schema": schema,
                "params": params,
                "speculative": speculative,
                "priority": GRAPH_STEP_PRIORITY
                if role in ("decompose", "final") and not speculative
                else None,
            },
            task=self.task,
            **fields,
        )

    def _problem(self, graph: ThoughtGraph, known: str) -> str:
        """What this graph answers: the task itself, or a sub-problem with what it builds on."""
        if graph.depth == 0:
            return "Problem: the task above."
        return f"{known}Current sub-problem: {graph.question}"

    # -- one graph ----------------------------------------------------------------------------
    async def solve_graph(
        self,
        graph: ThoughtGraph,
        scope: Scope,
        *,
        hold: int,
        first: asyncio.Task[Generation | None] | None = None,
    ) -> str | None:
        """Grow and answer ``graph``; returns the call id that produced its answer.

        ``hold`` calls were reserved for this graph's synthesis by the caller; ``first`` is a
        speculative first proposal already in flight.
        """
        heritage = heritage_text(scope.lineage, self.budget, scope.known_ids)
        problem = self._problem(graph, scope.known)
        inputs = list(scope.depends_on)
        for layer in range(self.bounds.layers_at(graph.depth)):
            if first is not None:
                gen, first = await first, None
            elif self.thoughts_made >= self.bounds.max_thoughts:
                self._cap()
                break
            elif self.spending.may_grow() and self.ctx.dispatcher.streaming:
                request = self._proposal(graph, layer, heritage, problem, inputs)
                gen, nodes = await self._propose_live(graph, layer, request, scope)
                if gen is None:
                    break
                inputs.append(gen.call_id)
                if not nodes:
                    break
                inputs += [n.answer_call for n in nodes if n.answer_call]
                continue
            elif self.spending.may_grow():
                request = self._proposal(graph, layer, heritage, problem, inputs)
                gen = await self._propose(graph, layer, request)
            else:
                break
            if gen is None:
                break
            inputs.append(gen.call_id)
            nodes, ready = self._add_thoughts(graph, layer, gen)
            if ready or not nodes:
                break
            await asyncio.gather(*(self._run_node(graph, n, scope) for n in nodes))
            inputs += [n.answer_call for n in nodes if n.answer_call]
        return await self._finalize(graph, heritage, problem, inputs, hold)

    def _proposal(
        self,
        graph: ThoughtGraph,
        layer: int,
        heritage: str,
        problem: str,
        depends_on: list[str],
        *,
        speculative: bool = False,
    ) -> GenerationRequest:
        """The decompose request of ``layer``."""
        room = max(1, min(self.bounds.max_nodes, self.bounds.max_thoughts - self.thoughts_made))
        fields: dict[str, Any] = {"heritage": heritage, "problem": problem, "n": room}
        if layer > 0:
            fields["graph"] = graph_text(graph, self.budget)
            fields["stop_rule"] = prompts.STOP_RULE if self.early_stop else ""
        return self.request(
            prompts.PROPOSE_FIRST if layer == 0 else prompts.PROPOSE_NEXT,
            schemas.proposal_schema(
                layer == 0 or not self.early_stop, room, len(graph.nodes()) if layer else 0
            ),
            role="decompose",
            node_id=f"{graph.prefix}layer{layer}",
            depends_on=depends_on,
            speculative=speculative,
            thoughts=room,
            **fields,
        )

    async def _propose(
        self, graph: ThoughtGraph, layer: int, request: GenerationRequest
    ) -> Generation | None:
        """A decompose call (``request`` from :meth:`_proposal`); None when it failed
        (recorded) or budget ran out."""
        try:
            return await self.ctx.generate(request)
        except (BudgetExceeded, *RECOVERABLE) as exc:
            self._proposal_failed(graph, layer, exc)
        return None

    def _proposal_failed(self, graph: ThoughtGraph, layer: int, exc: Exception) -> None:
        if isinstance(exc, BudgetExceeded):
            self.spending.stop(exc.reason)
        else:
            self.errors.append(f"layer {layer} proposal of {graph.prefix or 'top graph'}: {exc}")

    async def _propose_live(
        self, graph: ThoughtGraph, layer: int, request: GenerationRequest, scope: Scope
    ) -> tuple[Generation | None, list[ThoughtNode]]:
        """The decompose call of ``layer`` as a stream: each thought starts as soon as it is
        written (see :mod:`agot.controller.live`); returns the call and the layer's thoughts,
        run to the end."""
        room: list[int] = []

        def wanted(
            thoughts: list[schemas.ProposedThought],
        ) -> list[tuple[int, str, str, list[str]]]:
            if not room:  # the bounds as they stand when the first thought is read
                room.append(
                    min(self.bounds.max_nodes, self.bounds.max_thoughts - self.thoughts_made)
                )
            return self._wanted(graph, layer, thoughts, room[0])

        def count(made: int) -> None:
            self.thoughts_made += made
            if self.thoughts_made >= self.bounds.max_thoughts:
                self._cap()

        live = LiveLayer(
            graph,
            layer,
            wanted=wanted,
            count=count,
            run=lambda node: self._run_node(graph, node, scope),
            tokens=self.tokens,
        )
        stream = GenerationStream(self.ctx.generate, request)
        try:
            async with stream:
                async for delta in stream:
                    if delta.restart:
                        live.restarted()
                    await live.update(settled(stream.partial(), done=False), done=False)
            assert stream.generation is not None
            gen = stream.generation
            await live.update(settled(gen.parsed.model_dump(), done=True), done=True)
        except (BudgetExceeded, *RECOVERABLE) as exc:
            await live.update(settled(None, done=True), done=True)
            self._proposal_failed(graph, layer, exc)
            return None, []
        except BaseException:
            for started in live.started:
                started.task.cancel()
            raise
        nodes = live.finish(gen.call_id, self.ctx.recorder.events)
        await asyncio.gather(*(s.task for s in live.started))
        return gen, nodes

    def _wanted(
        self, graph: ThoughtGraph, layer: int, thoughts: list[Any], room: int
    ) -> list[tuple[int, str, str, list[str]]]:
        """The thoughts to add, as (index in the proposal, title, question, parent ids): empty
        ones dropped, parents resolved to earlier layers, at most ``room``."""
        made: list[tuple[int, str, str, list[str]]] = []
        for index, thought in enumerate(thoughts):
            if len(made) >= room:
                break
            title, content = model_text(thought.title), model_text(thought.content)
            if not title and not content:
                continue
            parents = [
                p.id
                for local in dict.fromkeys(thought.parents)
                if (p := graph.by_local(local)) is not None and p.layer < layer
            ]
            made.append(
                (index, " ".join(title.split()[:12]) or content[:60], content or title, parents)
            )
        return made

    def _add_thoughts(
        self, graph: ThoughtGraph, layer: int, gen: Generation
    ) -> tuple[list[ThoughtNode], bool]:
        """Add the proposal's thoughts, cut to the bounds as they stand *now*."""
        proposal = gen.parsed
        graph.strategies[layer] = proposal.strategy
        ready = bool(getattr(proposal, "ready", False))
        if ready:
            return [], True
        room = min(self.bounds.max_nodes, self.bounds.max_thoughts - self.thoughts_made)
        made: list[ThoughtNode] = []
        for _, title, question, parents in self._wanted(graph, layer, proposal.thoughts, room):
            node = graph.add_node(
                layer=layer, title=title, question=question, parents=parents, created_by=gen.call_id
            )
            emit(ThoughtProposed(node.id, layer, node.title, node.question, tuple(parents)))
            node.call_ids.append(gen.call_id)
            made.append(node)
        self.thoughts_made += len(made)
        if self.thoughts_made >= self.bounds.max_thoughts:
            self._cap()
        return made, False

    def _cap(self) -> None:
        self.capped = f"thought budget reached ({self.bounds.max_thoughts} thoughts)"

    def _may_nest(self, calls: int) -> bool:
        """A nested graph needs room for thoughts and ``calls`` more calls of budget."""
        return self.thoughts_made < self.bounds.max_thoughts and self.spending.may_grow(calls)

    # -- one thought --------------------------------------------------------------------------
    async def _run_node(self, graph: ThoughtGraph, node: ThoughtNode, scope: Scope) -> None:
        node.status, node.start = "running", time.time()
        ancestors = graph.ancestors(node.id)
        upstream = [node.created_by or "", *(a.answer_call or "" for a in ancestors)]
        work = Work(graph, node, ancestors, scope, upstream)
        try:
            leaf = graph.depth >= self.bounds.max_depth
            if not self.spending.may_grow(calls=1 if leaf else 2):
                raise BudgetExceeded(self.spending.reason or "budget exhausted")
            if leaf:
                self._apply_answer(node, await self._answer_call(work))
            elif self.speculate and self._may_nest(calls=4):
                await self._speculative(work)
            else:
                # Held through the assessment: the thought's answer, or its nested synthesis.
                self.spending.hold(1)
                try:
                    verdict = await self._assess(work)
                except BaseException:  # cancelled: a streamed proposal dropped this thought
                    self.spending.release(1)
                    raise
                if verdict is not None:
                    work.upstream = [verdict, *upstream]
                if node.complex and self._may_nest(calls=1):
                    await self._expand(work, self._nested(work))
                else:
                    self.spending.release(1)
                    self._apply_answer(node, await self._answer_call(work))
        except BudgetExceeded as exc:
            self.spending.stop(exc.reason)
            node.status, node.error = "skipped", exc.reason
        except RECOVERABLE as exc:
            node.status, node.error = "failed", f"{type(exc).__name__}: {exc}"
            self.errors.append(f"thought {node.id}: {exc}")
        finally:
            node.end = time.time()

    async def _speculative(self, work: Work) -> None:
        """Assessment, answer and nested first proposal at once; the verdict keeps one."""
        # Held: the would-be nested graph's synthesis, plus the two speculative calls until the
        # dispatcher has reserved them (tasks start later; siblings must not take their budget).
        self.spending.hold(3)
        sub, sub_scope = nested = self._nested(work)
        solve = held_task(self.spending, self._answer_call(work, speculative=True))

        async def first_proposal() -> Generation | None:
            # Built when the task starts: its size reads the thought count as it is then.
            heritage = heritage_text(sub_scope.lineage, self.budget, sub_scope.known_ids)
            problem = self._problem(sub, sub_scope.known)
            request = self._proposal(sub, 0, heritage, problem, work.upstream, speculative=True)
            return await self._propose(sub, 0, request)

        first = held_task(self.spending, first_proposal())
        try:
            verdict = await self._assess(work)
        except BaseException:
            solve.cancel()  # now, before either task takes its first step
            first.cancel()
            await asyncio.gather(
                discard(self.ctx.recorder, solve), discard(self.ctx.recorder, first)
            )
            self.spending.release(1)
            raise
        if work.node.complex:
            await discard(self.ctx.recorder, solve)
            if verdict is not None:
                sub_scope.depends_on.append(verdict)
            await self._expand(work, nested, first)
            return
        await discard(self.ctx.recorder, first)
        self.spending.release(1)
        self._apply_answer(work.node, await solve)

    def _thought_fields(self, work: Work) -> dict[str, Any]:
        """What the assessment and the answer of a thought see (the same context for both)."""
        return {
            "depends_on": work.upstream,
            "heritage": heritage_text(work.scope.lineage, self.budget, work.scope.known_ids),
            "problem": self._problem(work.graph, work.scope.known),
            "known": known_text(work.ancestors, self.budget),
            "local": work.node.local,
            "title": work.node.title,
            "content": work.node.question,
        }

    async def _assess(self, work: Work) -> str | None:
        """Sets ``node.complex``; returns the call id. A failed assessment means 'answer it'."""
        node = work.node
        try:
            gen = await self.call(
                prompts.ASSESS,
                schemas.ComplexityVerdict,
                role="assess",
                node_id=node.id,
                # The ancestors' answers are in the prompt's "known" block already.
                graph=graph_text(
                    work.graph,
                    self.budget,
                    layer=node.layer,
                    given={a.id for a in work.ancestors},
                    upto=node.local,
                ),
                **self._thought_fields(work),
            )
        except RECOVERABLE as exc:
            node.complex = False
            node.justification = f"(assessment failed, answered directly: {exc})"
            self.errors.append(f"assessment of thought {node.id}: {exc}")
            return None
        self._charge(node, gen)
        verdict: schemas.ComplexityVerdict = gen.parsed
        node.complex, node.justification = verdict.is_complex, verdict.justification
        emit(ThoughtAssessed(node.id, node.complex, node.justification))
        return gen.call_id

    async def _answer_call(self, work: Work, *, speculative: bool = False) -> Generation:
        return await self.call(
            prompts.SOLVE,
            schemas.ThoughtAnswer,
            role="solve",
            node_id=work.node.id,
            speculative=speculative,
            **self._thought_fields(work),
        )

    def _apply_answer(self, node: ThoughtNode, gen: Generation) -> None:
        self._charge(node, gen)
        answer: schemas.ThoughtAnswer = gen.parsed
        node.answer = model_text(answer.answer)
        node.answer_call, node.status = gen.call_id, "answered"
        node.reasoning = answer.reasoning or None
        emit(ThoughtAnswered(node.id, node.answer))

    def _nested(self, work: Work) -> tuple[ThoughtGraph, Scope]:
        """The graph that would answer a complex thought, and where it sits."""
        graph, node = work.graph, work.node
        sub = ThoughtGraph(
            node.question,
            depth=graph.depth + 1,
            heritage=[*graph.heritage, graph.question],
            prefix=f"{node.id}.",
        )
        sub_scope = Scope(
            lineage=[*work.scope.lineage, (graph, node.layer)],
            known=known_text(work.ancestors, self.budget),
            known_ids=frozenset(a.id for a in work.ancestors),
            depends_on=list(work.upstream),
        )
        return sub, sub_scope

    async def _expand(
        self,
        work: Work,
        nested: tuple[ThoughtGraph, Scope],
        first: asyncio.Task[Generation | None] | None = None,
    ) -> None:
        """Answer a thought with a nested graph (one synthesis call is already held for it)."""
        (sub, sub_scope), node = nested, work.node
        work.graph.attach(node.id, sub)
        emit(NestedGraphOpened(node.id, sub.prefix, sub.question))
        final_call = await self.solve_graph(sub, sub_scope, hold=1, first=first)
        node.answer, node.answer_call = sub.answer, final_call
        node.status = "answered" if sub.answer is not None else "failed"
        if sub.answer is not None:
            emit(ThoughtAnswered(node.id, sub.answer))
        if sub.answer is None:
            node.error = "nested graph produced no answer"

    # -- synthesis ----------------------------------------------------------------------------
    async def _finalize(
        self,
        graph: ThoughtGraph,
        heritage: str,
        problem: str,
        depends_on: list[str],
        hold: int,
    ) -> str | None:
        node = graph.add_final(layer=graph.layers, question=graph.question)
        node.start = time.time()
        top = graph.depth == 0
        user_schema = self.final_schema if top else None
        rules = (
            f"\nThe answer must follow the task's rules: {self.answer_format}"
            if (top and self.answer_format)
            else ""
        )
        self.spending.release(hold)
        try:
            gen = await self.call(
                prompts.FINAL,
                schemas.final_schema_for(user_schema),
                role="final",
                node_id=node.id,
                depends_on=depends_on,
                heritage=heritage,
                problem=problem,
                graph=graph_text(graph, self.budget),
                answer_format=rules,
            )
            self._charge(node, gen)
            final = gen.parsed
            if user_schema is not None:
                self.parsed = final.answer
                node.answer = final.answer.model_dump_json()
            else:
                node.answer = model_text(final.answer)
            node.answer_call, node.status = gen.call_id, "answered"
            node.reasoning = final.reasoning or None
        except (BudgetExceeded, *RECOVERABLE) as exc:
            if isinstance(exc, BudgetExceeded):
                self.spending.stop(exc.reason)
            else:
                self.errors.append(f"synthesis of {graph.prefix or 'top graph'}: {exc}")
            node.status = "skipped" if isinstance(exc, BudgetExceeded) else "failed"
            node.error = f"{type(exc).__name__}: {exc}"
            fallback = best_answered(graph)
            if fallback is not None:
                node.answer, node.answer_call = fallback.answer, fallback.answer_call
                node.justification = f"(no synthesis: answer of thought {fallback.local})"
        finally:
            node.end = time.time()
        graph.answer = node.answer
        return node.answer_call

    @staticmethod
    def _charge(node: ThoughtNode, gen: Generation) -> None:
        node.usage = node.usage + gen.usage
        node.call_ids.append(gen.call_id)


def best_answered(graph: ThoughtGraph) -> ThoughtNode | None:
    """The latest answered thought: the best partial answer when synthesis is impossible."""
    answered = [n for n in graph.nodes() if n.status == "answered" and not n.final]
    return max(answered, key=lambda n: (n.layer, n.local)) if answered else None
