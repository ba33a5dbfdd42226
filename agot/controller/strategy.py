"""``AGoT``: the Adaptive Graph of Thoughts strategy (Pandey et al., arXiv 2502.05078)."""

from __future__ import annotations

from typing import Any

from agot.budget import Budget
from agot.controller.engine import Bounds, Engine
from agot.critical_path import critical_path, parallelism, span
from agot.errors import ConfigError
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.task import Task
from agot.types import SamplingParams

#: Tokens per step when the user sets none; answers and the synthesis get ``max_tokens``.
STEP_TOKENS = {"decompose": 512, "assess": 128, "check": 128}


def _check_int(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"AGoT {name} must be an integer >= {minimum}, got {value!r}")
    return value


class AGoT(Strategy):
    """Adaptive Graph of Thoughts.

    ``max_depth`` (d) bounds nesting, ``max_layers`` (L) the layers per graph, ``max_nodes`` (N)
    the new thoughts per layer; the defaults are the paper's experimental setting (1, 3, 3).
    With ``layer_depth_reduction`` (the authors' default) a graph nested at depth k gets L - k
    layers. ``max_total_nodes`` (or ``budget.max_nodes``) caps thoughts across all graphs.
    ``reserve_final_calls`` keeps calls of a call budget back for the synthesis so a run cut
    short still answers from its graph.
    """

    name = "agot"

    def __init__(
        self,
        max_depth: int = 1,
        max_layers: int = 3,
        max_nodes: int = 3,
        *,
        max_total_nodes: int | None = None,
        temperature: float = 0.0,
        max_tokens: int = 384,
        layer_depth_reduction: bool = True,
        check_final: bool = True,
        reserve_final_calls: int = 1,
        step_tokens: dict[str, int] | None = None,
        budget: Budget | None = None,
    ) -> None:
        super().__init__(temperature=temperature, max_tokens=max_tokens, budget=budget)
        if max_total_nodes is None and budget is not None:
            max_total_nodes = budget.max_nodes
        if budget is not None and budget.max_depth is not None:
            max_depth = min(max_depth, budget.max_depth)
        self.bounds = Bounds(
            max_depth=_check_int("max_depth", max_depth, 0),
            max_layers=_check_int("max_layers", max_layers, 1),
            max_nodes=_check_int("max_nodes", max_nodes, 1),
            max_total_nodes=None
            if max_total_nodes is None
            else _check_int("max_total_nodes", max_total_nodes, 1),
            layer_depth_reduction=layer_depth_reduction,
            check_final=check_final,
            reserve_final_calls=_check_int("reserve_final_calls", reserve_final_calls, 0),
        )
        tokens = {**STEP_TOKENS, "solve": max_tokens, "final": max_tokens, **(step_tokens or {})}
        self.step_params = {
            role: SamplingParams(temperature=temperature, max_tokens=count)
            for role, count in tokens.items()
        }

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        engine = Engine(
            ctx=ctx,
            bounds=self.bounds,
            params=self.step_params,
            background=f"Context:\n{task.context.strip()}\n\n" if task.context else "",
        )
        question = task.model_copy(update={"context": None, "answer_format": None}).render()
        question = question.removeprefix("Question: ")
        graph, _ = await engine.solve_graph(
            question, depth=0, heritage=[], prefix="", answer_format=task.answer_format or ""
        )
        final = graph.node(graph.final_id) if graph.final_id else None
        reasoning = final.justification if final else ""
        raw = f"{reasoning or ''}\nAnswer: {graph.answer}" if graph.answer is not None else ""
        events = ctx.recorder.events
        cp, cp_calls = critical_path(events)
        wall = span(events)
        figures = {
            "nodes": graph.count_nodes(),
            "thoughts": engine.nodes_made,
            "depth_reached": graph.depth_reached(),
            "layers": graph.layers,
            "calls": len(events),
            "critical_path_s": round(cp, 4),
            "critical_path_calls": len(cp_calls),
            "wall_s": round(wall, 4),
            "call_time_s": round(sum(e.duration for e in events), 4),
            "parallelism": round(parallelism(events), 3),
        }
        return Outcome(
            answer=_strip_answer_prefix(graph.answer),
            graph=graph.to_json(),
            details={"raw": raw, "figures": figures, "bounds": self.bounds.__dict__},
            errors=engine.errors,
            stopped=engine.stopped,
        )


def _strip_answer_prefix(answer: str | None) -> str | None:
    if answer is None:
        return None
    text = answer.strip()
    if text.lower().startswith("answer:"):
        text = text[7:].strip()
    return text
