"""Scripted model behaviours for AGoT tests and benchmarks.

:func:`agot_script` answers every AGoT step deterministically from a few knobs (fan-out, which
thoughts are complex, when a next-layer proposal declares the graph ready), so the
controller's control flow can be tested and timed without a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agot.types import GenerationRequest

_NODE = re.compile(r"^(?:\d+\.)*(\d+)$")


def agot_script(
    *,
    fanout: int = 3,
    complex_if: Callable[[str], bool] = lambda node_id: False,
    answer_at_layer: int | None = None,
    parents_all: bool = True,
    title_words: int = 3,
) -> Callable[[GenerationRequest], object]:
    """A script function for ScriptedBackend.

    ``fanout`` thoughts per proposal, each depending on every thought of the graph so far when
    ``parents_all``; ``complex_if(node_id)`` decides assessments; the next-layer proposal
    declares the graph ready once it has ``answer_at_layer + 1`` layers (never when None).
    """

    def script(request: GenerationRequest) -> object:
        prompt = request.messages[-1].content
        if request.role == "decompose":
            found = re.search(r"layer(\d+)$", request.node_id or "layer0")
            layer = int(found.group(1)) if found else 0
            numbers = sorted({int(m) for m in re.findall(r"^\s+(\d+)\. ", prompt, re.M)})
            parents = numbers if parents_all else numbers[-1:]
            offered = "set ready to true" in prompt  # the controller may forbid early stops
            if offered and answer_at_layer is not None and layer >= answer_at_layer + 1:
                return {"strategy": "the answers settle it", "ready": True, "thoughts": []}
            return {
                "strategy": f"layer {layer} plan",
                "thoughts": [
                    {
                        "title": " ".join(["step"] * title_words) + f" {layer}.{i}",
                        "content": f"subproblem {layer}.{i}",
                        "parents": parents,
                    }
                    for i in range(fanout)
                ],
            }
        if request.role == "assess":
            return {"justification": "scripted", "is_complex": complex_if(request.node_id or "")}
        if request.role == "solve":
            return {"reasoning": "scripted", "answer": f"answer of {request.node_id}"}
        if request.role == "final":
            return {"reasoning": "combined", "answer": f"final of {request.node_id}"}
        raise AssertionError(f"unexpected role {request.role}")

    return script


def varied_agot_script(*, seed: int = 0) -> Callable[[GenerationRequest], object]:
    """AGoT replies whose graph size varies from item to item, as a real model's do.

    Item ``i`` (the first ``item <i>`` in the prompt; 0 without one) gets, drawn with
    ``random.Random((seed, i))``: 1 to 3 thoughts per proposal, a graph declared ready after
    1 to 3 layers, and its first thought complex (a nested graph) one time in three.
    """
    import random

    scripts: dict[int, Callable[[GenerationRequest], object]] = {}

    def script(request: GenerationRequest) -> object:
        found = re.search(r"item (\d+)", "\n".join(m.content for m in request.messages))
        item = int(found.group(1)) if found else 0
        if item not in scripts:
            rng = random.Random(f"{seed}:{item}")
            nested = rng.random() < 1 / 3

            def complex_if(node_id: str, nested: bool = nested) -> bool:
                return nested and node_id == "1"

            scripts[item] = agot_script(
                fanout=rng.randint(1, 3),
                answer_at_layer=rng.randint(0, 2),
                complex_if=complex_if,
            )
        return scripts[item](request)

    return script
