"""Atom of Thoughts (Teng et al. 2025): decompose, solve the independent parts, contract, repeat.

Each iteration turns the current question into a DAG of subquestions (one *decompose* call,
each subquestion naming the earlier ones it needs), answers the independent ones concurrently
(one *solve* call each), and *contracts*: a new, self-contained question states those answers
as given facts and asks only for what is still open (a Markov step: the next iteration sees
this question alone, not the history). It stops when a decomposition has at most one
subquestion (the question is atomic), when no subquestion depended on another (the contracted
question only needs answering), or at the iteration cap: ``max_iterations`` (3), lowered, as
in the authors' code, to the depth of the first DAG. The last question is then answered with
the task's own format.

The answer is selected as the method does: a direct answer to the original question runs
beside the chain (``ensemble=True``); when it and the chain's answer agree that answer stands,
otherwise an *ensemble* call reads both solutions, and the candidate whose answer is closest
to the ensemble's (token F1; the direct answer on ties) is kept, so the ensemble is a judge,
never a third answer. The winner is recorded (``details["method"]``: ``agree``,
``contract``, ``direct``, or ``atomic`` when the original question needed no
decomposition).

Every iteration's DAG, each contracted question and the direct answer are nodes of one
:class:`~agot.graph.ThoughtGraph` (layer 2i: iteration i's subquestions; 2i+1: its
contraction), so traces, ``agot show`` and ``agot view`` draw it.

Intended differences from the published code (``qixucen/atom``, ``experiment/module.py``'s
``atom`` as ``main.py --mode atom`` runs it on HotpotQA), seen by running that code (its own
OpenAI client, against a stub OpenAI-compatible server on 127.0.0.1) and this strategy on the
same scripted replies (``benchmarks/bench_aot_hotpotqa_replay.py``; checked by
``tests/test_tot_replays.py``):

* Steps per item. The code makes one round: direct answer, decompose (one call that answers
  every subquestion and the question), label dependencies, contract, answer the contracted
  question, ensemble; 6 calls, one contraction, whatever the DAG's depth (it computes the
  depth but does not recurse). Here the round is decompose (subquestions and dependencies in
  one schema-checked call), one *solve* call per independent subquestion, contract, and the
  loop goes on while the contracted question still decomposes, up to the cap (on the two-hop
  replay: one more decompose call finds it atomic). ``max_iterations=1`` makes the code's one
  round: the same steps in the same order, with decompose + solve in place of its decompose +
  label.
* Selection follows the code's rule (token F1 against the ensemble's answer, the direct
  answer on ties), with two shortcuts that give the same answer: the ensemble call is
  skipped when the direct and chain answers agree, and the code's decompose-step answer (its
  decompose call also answers the question; here decompose only decomposes) is not a
  candidate.
* Malformed replies: the code asks a call again up to 5 times when its JSON or tags do not
  read (a ``<context>`` spanning lines never does: its pattern has no DOTALL); here the
  dispatcher re-asks a schema-checked call, and a decomposition that still fails ends the
  chain (the question is treated as atomic) instead of retrying the whole step.
* Prompts are written for agot.

Budgets: a budget stop ends the chain; the answer is the chain's if it got that far, else the
direct answer (which starts first).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from pydantic import BaseModel, Field, create_model

from agot.answers import extract_answer, normalize_answer, token_f1
from agot.config import check_count
from agot.errors import BackendError, BudgetExceeded, SchemaError
from agot.graph import ThoughtGraph, ThoughtNode
from agot.prompts import aot, baselines
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.strategies.search_graph import finish, note_call
from agot.task import Task
from agot.types import Generation

#: Beyond these a value is a typo, not an experiment.
MAX_ITERATIONS = 16
MAX_SUBQUESTIONS = 16

#: The defaults: the authors' code's depth cap (3), and room for a multi-hop question's hops.
DEFAULT_ITERATIONS = 3
DEFAULT_SUBQUESTIONS = 6


class Subquestion(BaseModel):
    question: str = Field(description="one short question that asks one thing")
    depends_on: list[int] = Field(
        default_factory=list,
        description="numbers of the earlier subquestions whose answers it needs (1 = first)",
        json_schema_extra={"maxItems": MAX_SUBQUESTIONS},
    )


class Decomposition(BaseModel):
    """Step 'decompose': the question's subquestions, in answering order."""

    subquestions: list[Subquestion] = Field(json_schema_extra={"maxItems": MAX_SUBQUESTIONS})


#: JSON characters of one subquestion that are not its text (keys, quotes, a short list).
_ITEM_SYNTAX_CHARS = 40
_MIN_QUESTION_CHARS = 24


@functools.cache
def decomposition_schema(max_subquestions: int, max_tokens: int) -> type[Decomposition]:
    """:class:`Decomposition` capped so the reply fits ``max_tokens`` (counted as one character
    each, which JSON's short tokens keep safe): at most as many subquestions as fit, each
    question's length capped. The caps are in the JSON schema only: a backend decoding under a
    grammar keeps to them (a small model otherwise writes until the token limit and never
    closes its JSON), validation does not re-ask a reply that is a little longer."""
    fit = max_tokens // (_MIN_QUESTION_CHARS + _ITEM_SYNTAX_CHARS)
    max_subquestions = max(1, min(max_subquestions, fit))
    chars = max(_MIN_QUESTION_CHARS, max_tokens // max_subquestions - _ITEM_SYNTAX_CHARS)
    item = create_model(
        f"SubquestionMax{chars}",
        __base__=Subquestion,
        question=(
            str,
            Field(
                description=Subquestion.model_fields["question"].description,
                json_schema_extra={"maxLength": chars},
            ),
        ),
        depends_on=(
            list[int],
            Field(
                default_factory=list,
                description=Subquestion.model_fields["depends_on"].description,
                json_schema_extra={"maxItems": max_subquestions},
            ),
        ),
    )
    return create_model(
        f"Decomposition{max_subquestions}x{chars}",
        __base__=Decomposition,
        subquestions=(
            list[item],
            Field(json_schema_extra={"maxItems": max_subquestions}),
        ),
    )


def clean_dependencies(subquestions: list[Subquestion]) -> list[list[int]]:
    """Each subquestion's dependencies as 0-based indices of *earlier* subquestions (a
    reference forward, to itself or out of range is dropped, so the result is always a DAG)."""
    return [
        sorted({d - 1 for d in sub.depends_on if 1 <= d <= index})
        for index, sub in enumerate(subquestions)
    ]


def dag_depth(dependencies: list[list[int]]) -> int:
    """Subquestions on the longest dependency chain (0 for none)."""
    depth: list[int] = []
    for deps in dependencies:
        depth.append(1 + max((depth[d] for d in deps), default=0))
    return max(depth, default=0)


class AoT(Strategy):
    """Atom of Thoughts: iterated decomposition and contraction into atomic questions."""

    name = "aot"

    def __init__(
        self,
        *,
        max_iterations: int = DEFAULT_ITERATIONS,
        max_subquestions: int = DEFAULT_SUBQUESTIONS,
        ensemble: bool = True,
        temperature: float = 0.0,
        max_tokens: int = 512,
        **options: Any,
    ) -> None:
        """``options``: what every strategy takes (``budget``, ``models``, ``router``)."""
        check_count(max_iterations, "AoT max_iterations", maximum=MAX_ITERATIONS)
        check_count(max_subquestions, "AoT max_subquestions", maximum=MAX_SUBQUESTIONS)
        super().__init__(temperature=temperature, max_tokens=max_tokens, **options)
        self.max_iterations = max_iterations
        self.max_subquestions = max_subquestions
        self.ensemble = bool(ensemble)

    def describe(self) -> str:
        return (
            f"AoT(max_iterations={self.max_iterations}, max_subquestions="
            f"{self.max_subquestions}, ensemble={self.ensemble})"
        )

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        return await _AtomRun(self, task, ctx).run()


class _AtomRun:
    def __init__(self, strategy: AoT, task: Task, ctx: RunContext) -> None:
        self.strategy, self.task, self.ctx = strategy, task, ctx
        self.params = strategy.params
        self.graph = ThoughtGraph(task.question)
        self.errors: list[str] = []
        self.iterations: list[dict[str, Any]] = []
        self.ensemble_node: ThoughtNode | None = None
        self.decompose_prompt = ctx.use_prompt(aot.DECOMPOSE)
        self.solve_prompt = ctx.use_prompt(aot.SOLVE)
        self.contract_prompt = ctx.use_prompt(aot.CONTRACT)
        self.answer_prompt = ctx.use_prompt(baselines.COT)

    def render(self, question: str) -> str:
        """``question`` shown like the task: its passages, options and answer format."""
        return self.task.model_copy(update={"question": question}).render()

    async def call(
        self,
        prompt: Any,
        node: ThoughtNode,
        *,
        role: str,
        depends_on: tuple[str, ...],
        output_schema: Any = None,
        **fields: Any,
    ) -> Generation:
        """``prompt`` filled with ``fields``, sent as ``node``'s call (named by its id, recorded
        on it) after the calls ``depends_on`` names: every AoT call is one of these."""
        request_kwargs: dict[str, Any] = {
            "role": role,
            "node_id": node.id,
            "params": self.params,
            "depends_on": depends_on,
        }
        if output_schema is not None:
            request_kwargs["output_schema"] = output_schema
        request = prompt.request(**fields, request_kwargs=request_kwargs)
        generation = await self.ctx.generate(request)
        note_call(node, generation)
        return generation

    async def answer(self, question: str, node: ThoughtNode, depends: tuple[str, ...]) -> str:
        node.status = "running"
        generation = await self.call(
            self.answer_prompt,
            node,
            role="answer",
            depends_on=depends,
            problem=self.render(question),
        )
        return _answered(node, generation)

    async def run(self) -> Outcome:
        direct_node = None
        direct: asyncio.Future[str] | None = None
        if self.strategy.ensemble:
            direct_node = self.graph.add_node(
                layer=0, title="Direct answer", question=self.task.question
            )
            direct = asyncio.ensure_future(self.answer(self.task.question, direct_node, ()))
        stopped: str | None = None
        chain_text: str | None = None
        chain_node: ThoughtNode | None = None
        try:
            chain_text, chain_node = await self.chain(direct, direct_node)
        except BudgetExceeded as exc:
            stopped = exc.reason
        except (BackendError, SchemaError) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        except BaseException:
            if direct is not None:
                direct.cancel()
            raise
        direct_text: str | None = None
        if chain_node is not None and chain_node is direct_node:
            direct_text = chain_text  # the question was atomic: the direct answer is the chain's
        elif direct is not None:
            try:
                direct_text = await direct
            except BudgetExceeded as exc:
                stopped = stopped or exc.reason
            except (BackendError, SchemaError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        if chain_text is None and direct_text is None:
            if stopped:
                raise BudgetExceeded(stopped)
            raise BackendError(self.errors[0] if self.errors else "AoT produced no answer")
        if chain_node is not None and chain_node is direct_node:
            method, raw = "atomic", chain_text or ""
        else:
            waited = tuple(
                n.answer_call for n in (chain_node, direct_node) if n is not None and n.answer_call
            )
            method, raw, stopped = await self.select(chain_text, direct_text, stopped, waited)
        sources = {"contract": chain_node, "direct": direct_node}
        chosen = self.ensemble_node if self.ensemble_node is not None else sources.get(method)
        parents = (
            [chosen.id]
            if chosen is not None and chosen.status == "answered"
            else list(dict.fromkeys(n.id for n in (chain_node, direct_node) if n is not None))
        )
        answer = extract_answer(raw)
        return finish(
            self.graph,
            layer=1 + max((n.layer for n in self.graph.nodes()), default=0),
            question=self.task.question,
            answer=answer,
            parents=parents,
            raw=raw,
            details={
                "method": method,
                "iterations": self.iterations,
                "chain_answer": extract_answer(chain_text) if chain_text else None,
                "direct_answer": extract_answer(direct_text) if direct_text else None,
            },
            errors=self.errors,
            stopped=stopped,
        )

    async def select(
        self, chain: str | None, direct: str | None, stopped: str | None, waited: tuple[str, ...]
    ) -> tuple[str, str, str | None]:
        """(method, raw text of the answer, budget stop) as the method selects the answer."""
        if chain is None:
            return "direct", direct or "", stopped
        if direct is None:
            return "contract", chain, stopped
        if normalize_answer(extract_answer(chain)) == normalize_answer(extract_answer(direct)):
            return "agree", chain, stopped
        prompt = self.ctx.use_prompt(aot.ENSEMBLE)
        by_call = {n.answer_call: n.id for n in self.graph.nodes() if n.answer_call}
        node = self.graph.add_node(
            layer=max(n.layer for n in self.graph.nodes()) + 1,
            title="Ensemble",
            question=self.task.question,
            parents=[by_call[c] for c in waited if c in by_call],
        )
        self.ensemble_node = node
        try:
            text = await self.answer_with(prompt, node, chain, direct, waited)
        except BudgetExceeded as exc:
            return "contract", chain, stopped or exc.reason
        except (BackendError, SchemaError) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return "contract", chain, stopped
        # The published rule: each candidate scored by token F1 against the ensemble's answer,
        # the best kept, the direct answer on ties (so a third answer keeps the direct one).
        verdict = extract_answer(text)
        f1_direct = token_f1(extract_answer(direct), verdict)
        if token_f1(extract_answer(chain), verdict) > f1_direct:
            return "contract", chain, stopped
        return "direct", direct, stopped

    async def answer_with(
        self, prompt: Any, node: ThoughtNode, chain: str, direct: str, waited: tuple[str, ...]
    ) -> str:
        generation = await self.call(
            prompt,
            node,
            role="ensemble",
            depends_on=waited,
            problem=self.task.render(),
            first=chain,
            second=direct,
        )
        node.reasoning, node.answer = generation.text, extract_answer(generation.text)
        node.status = "answered"
        return generation.text

    async def chain(
        self, direct: asyncio.Future[str] | None, direct_node: ThoughtNode | None
    ) -> tuple[str, ThoughtNode]:
        """Decompose and contract until atomic or the cap; then answer the last question (an
        original question found atomic is the direct answer's, already under way)."""
        question = self.task.question
        anchor = self.graph.add_node(layer=0, title="Question", question=question)
        anchor.status = "answered"
        previous: ThoughtNode | None = None
        depends: tuple[str, ...] = ()
        cap = self.strategy.max_iterations
        iteration, layer = 0, 1
        while iteration < cap:
            source = previous or anchor
            try:
                generation = await self.call(
                    self.decompose_prompt,
                    source,
                    role="decompose",
                    depends_on=depends,
                    output_schema=decomposition_schema(
                        self.strategy.max_subquestions, self.params.max_tokens
                    ),
                    problem=self.render(question),
                    max_subquestions=self.strategy.max_subquestions,
                )
            except SchemaError as exc:
                self.errors.append(f"decomposition unreadable, answered as atomic: {exc}")
                break
            parsed = generation.parsed
            subs = list(parsed.subquestions) if isinstance(parsed, Decomposition) else []
            subs = [s for s in subs if s.question.strip()][: self.strategy.max_subquestions]
            deps = clean_dependencies(subs)
            depth = dag_depth(deps)
            if iteration == 0:
                cap = min(cap, max(depth, 1))
            record: dict[str, Any] = {
                "question": question,
                "subquestions": [s.question for s in subs],
                "depends_on": deps,
            }
            self.iterations.append(record)
            if len(subs) <= 1:
                record["atomic"] = True
                break
            nodes: list[ThoughtNode] = []
            for sub, needs in zip(subs, deps, strict=True):
                parents = [nodes[d].id for d in needs] or [source.id]
                nodes.append(
                    self.graph.add_node(
                        layer=layer, title=sub.question, question=sub.question, parents=parents
                    )
                )
            independent = [i for i, needs in enumerate(deps) if not needs]
            dependent = [i for i, needs in enumerate(deps) if needs]
            texts = await asyncio.gather(
                *(
                    self.solve_sub(subs[i].question, nodes[i], generation.call_id)
                    for i in independent
                )
            )
            answers = {i: extract_answer(t) for i, t in zip(independent, texts, strict=True)}
            for i in dependent:
                nodes[i].status = "skipped"
                nodes[i].justification = "needs unanswered subquestions: left to the contraction"
            facts = "\n".join(f"- {subs[i].question} {answers[i]}" for i in independent)
            still_open = "\n".join(f"- {subs[i].question}" for i in dependent) or "- (nothing)"
            contracted = self.graph.add_node(
                layer=layer + 1,
                title=f"Contracted question {iteration + 1}",
                question=question,
                parents=[n.id for n in nodes],
            )
            contraction = await self.call(
                self.contract_prompt,
                contracted,
                role="contract",
                depends_on=tuple(nodes[i].answer_call or "" for i in independent),
                question=question,
                facts=facts,
                open=still_open,
            )
            new_question = contraction.text.strip()
            record["answers"] = [answers[i] for i in independent]
            record["contracted"] = new_question
            iteration, layer = iteration + 1, layer + 2
            if not new_question:
                self.errors.append("the contraction was empty: the last question is kept")
                contracted.status = "failed"
                break
            contracted.question = contracted.reasoning = new_question
            contracted.status = "answered"
            question, previous, depends = new_question, contracted, (contraction.call_id,)
            if not dependent:
                break
        if previous is None and direct is not None and direct_node is not None:
            return await direct, direct_node
        final = self.graph.add_node(
            layer=layer,
            title="Atomic question",
            question=question,
            parents=[(previous or anchor).id],
        )
        text = await self.answer(question, final, depends)
        return text, final

    async def solve_sub(self, question: str, node: ThoughtNode, depends: str) -> str:
        node.status = "running"
        context = f"Context:\n{self.task.context.strip()}\n\n" if self.task.context else ""
        generation = await self.call(
            self.solve_prompt,
            node,
            role="solve",
            depends_on=(depends,),
            context=context,
            question=question,
        )
        return _answered(node, generation)


def _answered(node: ThoughtNode, generation: Generation) -> str:
    """Mark ``node`` answered by ``generation`` (its reply is the node's reasoning, the answer
    read from it the node's answer): a subquestion and the atomic question end alike."""
    node.reasoning, node.answer_call = generation.text, generation.call_id
    node.answer, node.status = extract_answer(generation.text), "answered"
    return generation.text


__all__ = ["AoT", "Decomposition", "Subquestion", "clean_dependencies", "dag_depth"]
