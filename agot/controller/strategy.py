"""``AGoT``: the Adaptive Graph of Thoughts strategy (Pandey et al., arXiv 2502.05078)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agot.budget import Budget
from agot.controller.bounds import COMPACT_CONTEXT, DEFAULT_MAX_THOUGHTS, STEP_TOKENS, Bounds
from agot.controller.engine import Engine, Scope
from agot.controller.live import resolve
from agot.controller.spending import Spending
from agot.critical_path import critical_path, parallelism, span
from agot.errors import ConfigError
from agot.graph import ThoughtGraph
from agot.prompts.agot_context import ContextBudget, task_block
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.task import Task
from agot.types import SamplingParams

#: The paper's sampling temperature (gpt-4o-mini at 0.3).
PAPER_TEMPERATURE = 0.3


class AGoT(Strategy):
    """Adaptive Graph of Thoughts.

    ``max_depth`` (d) bounds nesting, ``max_layers`` (L) the layers per graph, ``max_nodes`` (N)
    the new thoughts per layer; the defaults are the paper's experimental setting (1, 3, 3) at
    temperature 0.3. With ``layer_depth_reduction`` (the authors' default) a graph nested at
    depth k gets L - k layers. ``max_thoughts`` (or ``budget.max_nodes``) caps thoughts across
    all graphs, exactly, whatever the latency. ``reserve_final_calls`` calls of a call budget
    are kept for the top-level synthesis, so a run cut short still answers from its graph.

    ``early_stop`` lets a next-layer proposal declare the graph ready (the authors' behaviour;
    ``False`` grows every layer). ``speculate`` starts a thought's answer and its would-be
    nested graph's first proposal together with its assessment (same decisions, shorter
    critical path, more calls).
    ``final_schema`` (a pydantic model) makes the synthesis return a validated instance of it,
    found in ``Result.parsed``. ``max_tokens`` (answers and synthesis) and ``step_tokens``
    (per role) default to a profile chosen from the backend: roomy for capable models, compact
    for a model whose window is 8k tokens or less. ``models`` (``{"assess": "local", "final":
    "openai/gpt-4o"}`` or ``"assess=local,..."``) or ``router`` (an
    :class:`agot.routing.Router`) choose the model of each step.
    """

    name = "agot"

    def __init__(
        self,
        max_depth: int = 1,
        max_layers: int = 3,
        max_nodes: int = 3,
        *,
        max_thoughts: int | None = None,
        temperature: float = PAPER_TEMPERATURE,
        max_tokens: int | None = None,
        layer_depth_reduction: bool = True,
        reserve_final_calls: int = 1,
        step_tokens: dict[str, int] | None = None,
        speculate: bool = False,
        early_stop: bool = True,
        final_schema: type[BaseModel] | None = None,
        budget: Budget | None = None,
        models: dict[str, Any] | str | None = None,
        router: Any = None,
    ) -> None:
        super().__init__(
            temperature=temperature,
            max_tokens=max_tokens or 1024,
            budget=budget,
            models=models,
            router=router,
        )
        if max_thoughts is None and budget is not None:
            max_thoughts = budget.max_nodes
        if budget is not None and budget.max_depth is not None:
            max_depth = min(max_depth, budget.max_depth)
        if final_schema is not None and not (
            isinstance(final_schema, type) and issubclass(final_schema, BaseModel)
        ):
            raise ConfigError(
                f"AGoT final_schema must be a pydantic model class, got {final_schema!r}"
            )
        unknown = set(step_tokens or {}) - set(STEP_TOKENS["roomy"])
        if unknown:
            raise ConfigError(
                f"AGoT step_tokens has unknown roles {sorted(unknown)}: use "
                f"{', '.join(STEP_TOKENS['roomy'])}"
            )
        self.bounds = Bounds(
            max_depth=max_depth,
            max_layers=max_layers,
            max_nodes=max_nodes,
            max_thoughts=DEFAULT_MAX_THOUGHTS if max_thoughts is None else max_thoughts,
            layer_depth_reduction=layer_depth_reduction,
            reserve_final_calls=reserve_final_calls,
        )
        self.max_tokens = max_tokens
        self.step_tokens = dict(step_tokens or {})
        self.speculate = bool(speculate)
        self.early_stop = bool(early_stop)
        self.final_schema = final_schema

    def tokens_for(self, max_context: int | None) -> dict[str, int]:
        """Tokens per step for a backend with this context window (see the class docstring)."""
        compact = max_context is not None and max_context <= COMPACT_CONTEXT
        tokens = dict(STEP_TOKENS["compact" if compact else "roomy"])
        if self.max_tokens is not None:
            tokens.update(solve=self.max_tokens, final=self.max_tokens)
        return {**tokens, **self.step_tokens}

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        capabilities = ctx.dispatcher.backend().capabilities
        tokens = self.tokens_for(capabilities.max_context)
        question = task.model_copy(update={"context": None, "answer_format": None}).render()
        question = question.removeprefix("Question: ")
        recorder = ctx.recorder
        engine = Engine(
            ctx=ctx,
            bounds=self.bounds,
            params={
                role: SamplingParams(temperature=self.params.temperature, max_tokens=count)
                for role, count in tokens.items()
            },
            spending=Spending(recorder, (recorder.tracker, ctx.dispatcher.tracker)),
            budget=ContextBudget.for_window(capabilities.max_context, max(tokens.values())),
            answer_format=task.answer_format or "",
            # Caps only help a small model decoding under a grammar (see schemas.fitted).
            native_schema=capabilities.native_schema
            and capabilities.max_context is not None
            and capabilities.max_context <= COMPACT_CONTEXT,
            speculate=self.speculate,
            early_stop=self.early_stop,
            final_schema=self.final_schema,
        )
        engine.task = task_block(question, engine.answer_format, task.context or "", engine.budget)
        graph = ThoughtGraph(task.question.strip(), depth=0)
        engine.spending.hold(self.bounds.reserve_final_calls)
        await engine.solve_graph(graph, Scope(), hold=self.bounds.reserve_final_calls)
        resolve(recorder.events, engine.tokens)
        final = graph.node(graph.final_id) if graph.final_id else None
        reasoning = final.reasoning if final else ""
        raw = f"{reasoning or ''}\nAnswer: {graph.answer}" if graph.answer is not None else ""
        return Outcome(
            answer=_strip_answer_prefix(graph.answer),
            parsed=engine.parsed,
            graph=graph.to_json(),
            details={
                "raw": raw,
                "figures": figures(graph, engine, ctx),
                "bounds": self.bounds.__dict__,
                "step_tokens": tokens,
            },
            errors=engine.errors,
            stopped=engine.spending.reason or engine.capped,
        )


def figures(graph: ThoughtGraph, engine: Engine, ctx: RunContext) -> dict[str, Any]:
    """The run's shape and timing, computed from the graph and the trace events."""
    events = ctx.recorder.events
    cp, cp_calls = critical_path(events)
    wall = span(events)
    speculative = [e for e in events if e.speculative]
    return {
        "nodes": graph.count_nodes(),
        "thoughts": engine.thoughts_made,
        "depth_reached": graph.depth_reached(),
        "layers": graph.layers,
        "calls": len(events),
        "critical_path_s": round(cp, 4),
        "critical_path_calls": len(cp_calls),
        "wall_s": round(wall, 4),
        "call_time_s": round(sum(e.duration for e in events), 4),
        "parallelism": round(parallelism(events), 3),
        "speculative_calls": len(speculative),
        "wasted_calls": sum(1 for e in speculative if e.discarded),
    }


def _strip_answer_prefix(answer: str | None) -> str | None:
    if answer is None:
        return None
    text = answer.strip()
    if text.lower().startswith("answer:"):
        text = text[7:].strip()
    return text
