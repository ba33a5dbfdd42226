"""The AGoT engine: grows a graph layer by layer and recurses into complex thoughts.

Execution follows the data dependencies only. Within a layer every thought runs as its own task:
assessment, then either a direct answer or a whole nested graph, so sibling answers, sibling
assessments and sibling nested graphs are all in flight at once (up to the dispatcher's limits).
The next layer's proposal and the "can we answer yet?" check read every answer of the graph so
far, so they wait for the layer: that is a true dependency, not a barrier added for convenience.
Every request names the calls whose outputs its prompt used (``depends_on``).

Hard bounds hold whatever the model says: thoughts per layer, layers per graph, nesting depth,
total thoughts, and (through the dispatcher) calls, tokens, cost and wall time. When a budget
runs out, unfinished thoughts are marked skipped and the run still ends with an answer built from
what it has.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agot.controller import schemas
from agot.prompts.agot_context import graph_text, heritage_text, known_text
from agot.errors import BackendError, BudgetExceeded, SchemaError
from agot.graph import ThoughtGraph, ThoughtNode
from agot.prompts import agot as prompts
from agot.prompts.template import PromptTemplate
from agot.strategies.base import RunContext
from agot.types import Generation, SamplingParams

RECOVERABLE = (BackendError, SchemaError)


@dataclass(frozen=True)
class Bounds:
    max_depth: int
    max_layers: int
    max_nodes: int
    max_total_nodes: int | None
    layer_depth_reduction: bool
    check_final: bool
    reserve_final_calls: int


@dataclass
class Engine:
    """State of one AGoT run (shared by the top graph and every nested graph)."""

    ctx: RunContext
    bounds: Bounds
    params: dict[str, SamplingParams]
    background: str = ""
    nodes_made: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    # -- budget -------------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        self.stopped = self.stopped or reason

    def can_spend(self) -> bool:
        """False once the run should stop growing and move to its final answer."""
        if self.stopped:
            return False
        tracker = self.ctx.recorder.tracker
        limit = tracker.budget.max_calls
        if limit is not None and tracker.usage.calls >= limit - self.bounds.reserve_final_calls:
            self.stop(f"call budget nearly exhausted ({tracker.usage.calls}/{limit} calls)")
            return False
        return True

    def nodes_left(self) -> int | None:
        cap = self.bounds.max_total_nodes
        return None if cap is None else cap - self.nodes_made

    # -- calls --------------------------------------------------------------------------------
    async def call(
        self,
        template: PromptTemplate,
        schema: type[BaseModel],
        *,
        role: str,
        node_id: str,
        depends_on: list[str],
        **fields: Any,
    ) -> Generation:
        self.ctx.use_prompt(template)
        request = template.request(
            request_kwargs={
                "role": role,
                "node_id": node_id,
                "depends_on": tuple(dict.fromkeys(d for d in depends_on if d)),
                "output_schema": schemas.fitted(schema, self.params[role].max_tokens),
                "params": self.params[role],
            },
            **fields,
        )
        return await self.ctx.generate(request)

    async def graph_step(
        self, what: str, template: PromptTemplate, schema: type[BaseModel], **kw: Any
    ) -> Generation | None:
        """A graph-level call (proposal, check) whose failure ends growth, not the run.

        An exhausted budget stops the run's growth; a backend or schema failure is recorded and
        the graph moves on to its synthesis with what it has. Either way: None.
        """
        try:
            return await self.call(template, schema, **kw)
        except BudgetExceeded as exc:
            self.stop(exc.reason)
        except RECOVERABLE as exc:
            self.errors.append(f"{what}: {exc}")
        return None

    # -- one graph ----------------------------------------------------------------------------
    async def solve_graph(
        self,
        question: str,
        *,
        depth: int,
        heritage: list[str],
        prefix: str,
        known: str = "",
        depends_on: list[str] = (),
        answer_format: str = "",
    ) -> tuple[ThoughtGraph, str | None]:
        """Grow and answer one graph; returns it and the call id that produced its answer."""
        graph = ThoughtGraph(question, depth=depth, heritage=heritage, prefix=prefix)
        reduction = depth if self.bounds.layer_depth_reduction else 0
        layers = max(1, self.bounds.max_layers - reduction)
        problem = f"{known}Question: {question}"
        head = heritage_text(self.background, heritage)
        upstream = list(depends_on)
        for layer in range(layers):
            if not self.can_spend():
                break
            left = self.nodes_left()
            room = self.bounds.max_nodes if left is None else min(self.bounds.max_nodes, left)
            if room <= 0:
                self.stop(f"node budget reached ({self.bounds.max_total_nodes} thoughts)")
                break
            new_nodes, proposal_call = await self._propose(
                graph, layer, room, problem, head, upstream
            )
            if proposal_call is not None:
                upstream = [proposal_call, *upstream]
            if not new_nodes:
                break
            await asyncio.gather(*(self._run_node(graph, n, head) for n in new_nodes))
            answers = [n.answer_call for n in graph.nodes() if n.answer_call]
            upstream = [proposal_call or "", *answers]
            if layer == layers - 1 or not self.bounds.check_final or not self.can_spend():
                continue
            check = await self._check(graph, problem, head, upstream)
            if check is None:
                continue
            upstream = [check[1], *upstream]
            if check[0]:
                break
        final_call = await self._finalize(graph, problem, head, upstream, answer_format)
        return graph, final_call

    async def _propose(
        self,
        graph: ThoughtGraph,
        layer: int,
        room: int,
        problem: str,
        head: str,
        upstream: list[str],
    ) -> tuple[list[ThoughtNode], str | None]:
        template = prompts.PROPOSE_FIRST if layer == 0 else prompts.PROPOSE_NEXT
        fields = {"heritage": head, "problem": problem, "n": room}
        if layer > 0:
            fields["graph"] = graph_text(graph)
        gen = await self.graph_step(
            f"layer {layer} proposal of {graph.prefix or 'top graph'}",
            template,
            schemas.layer_proposal_schema(room),
            role="decompose",
            node_id=f"{graph.prefix}layer{layer}",
            depends_on=upstream,
            **fields,
        )
        if gen is None:
            return [], None
        proposal: schemas.LayerProposal = gen.parsed
        graph.strategies[layer] = proposal.strategy
        made = []
        for thought in proposal.thoughts[:room]:
            if not thought.content.strip() and not thought.title.strip():
                continue
            parents = [
                p.id
                for local in dict.fromkeys(thought.parents)
                if (p := graph.by_local(local)) is not None and p.layer < layer
            ]
            node = graph.add_node(
                layer=layer,
                title=" ".join(thought.title.split()[:12]) or thought.content[:60],
                question=thought.content.strip() or thought.title,
                parents=parents,
                created_by=gen.call_id,
            )
            node.call_ids.append(gen.call_id)
            self.nodes_made += 1
            made.append(node)
        return made, gen.call_id

    async def _run_node(self, graph: ThoughtGraph, node: ThoughtNode, head: str) -> None:
        node.status = "running"
        node.start = time.time()
        ancestors = graph.ancestors(node.id)
        known = known_text(ancestors)
        upstream = [node.created_by or "", *(a.answer_call or "" for a in ancestors)]
        try:
            if not self.can_spend():
                raise BudgetExceeded(self.stopped or "budget exhausted")
            nest = graph.depth < self.bounds.max_depth
            if nest:
                gen = await self.call(
                    prompts.ASSESS,
                    schemas.ComplexityVerdict,
                    role="assess",
                    node_id=node.id,
                    depends_on=upstream,
                    heritage=head,
                    question=graph.question,
                    local=node.local,
                    title=node.title,
                    content=node.question,
                )
                self._charge(node, gen)
                verdict: schemas.ComplexityVerdict = gen.parsed
                node.complex, node.justification = verdict.is_complex, verdict.justification
                upstream = [gen.call_id, *upstream]
            if nest and node.complex and self.can_spend():
                sub, final_call = await self.solve_graph(
                    node.question,
                    depth=graph.depth + 1,
                    heritage=[*graph.heritage, graph.question],
                    prefix=f"{node.id}.",
                    known=known,
                    depends_on=upstream,
                )
                graph.attach(node.id, sub)
                node.answer, node.answer_call = sub.answer, final_call
                node.status = "answered" if sub.answer is not None else "failed"
                if sub.answer is None:
                    node.error = "nested graph produced no answer"
            else:
                gen = await self.call(
                    prompts.SOLVE,
                    schemas.ThoughtAnswer,
                    role="solve",
                    node_id=node.id,
                    depends_on=upstream,
                    heritage=head,
                    question=graph.question,
                    known=known,
                    title=node.title,
                    content=node.question,
                )
                self._charge(node, gen)
                node.answer, node.answer_call = gen.parsed.answer, gen.call_id
                node.status = "answered"
        except BudgetExceeded as exc:
            self.stop(exc.reason)
            node.status, node.error = "skipped", exc.reason
        except RECOVERABLE as exc:
            node.status, node.error = "failed", f"{type(exc).__name__}: {exc}"
            self.errors.append(f"thought {node.id}: {exc}")
        finally:
            node.end = time.time()

    async def _check(
        self, graph: ThoughtGraph, problem: str, head: str, upstream: list[str]
    ) -> tuple[bool, str] | None:
        gen = await self.graph_step(
            f"final check of {graph.prefix or 'top graph'}",
            prompts.CHECK,
            schemas.FinalCheck,
            role="check",
            node_id=f"{graph.prefix}check{graph.layers - 1}",
            depends_on=upstream,
            heritage=head,
            problem=problem,
            graph=graph_text(graph),
        )
        if gen is None:
            return None
        return gen.parsed.can_answer, gen.call_id

    async def _finalize(
        self,
        graph: ThoughtGraph,
        problem: str,
        head: str,
        upstream: list[str],
        answer_format: str,
    ) -> str | None:
        node = graph.add_final(layer=graph.layers, question=graph.question)
        node.start = time.time()
        try:
            gen = await self.call(
                prompts.FINAL,
                schemas.FinalAnswer,
                role="final",
                node_id=node.id,
                depends_on=upstream,
                heritage=head,
                problem=problem,
                graph=graph_text(graph),
                answer_format=f"\n{answer_format}" if answer_format else "",
            )
            self._charge(node, gen)
            final: schemas.FinalAnswer = gen.parsed
            node.answer, node.answer_call, node.status = final.answer, gen.call_id, "answered"
            node.justification = final.reasoning
        except (BudgetExceeded, *RECOVERABLE) as exc:
            if isinstance(exc, BudgetExceeded):
                self.stop(exc.reason)
            node.status = "skipped" if isinstance(exc, BudgetExceeded) else "failed"
            node.error = f"{type(exc).__name__}: {exc}"
            fallback = _best_available(graph)
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


def _best_available(graph: ThoughtGraph) -> ThoughtNode | None:
    """The latest answered thought: the best partial answer when synthesis is impossible."""
    answered = [n for n in graph.nodes() if n.status == "answered" and not n.final]
    return max(answered, key=lambda n: (n.layer, n.local)) if answered else None
