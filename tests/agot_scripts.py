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
            layer = int(re.search(r"layer(\d+)$", request.node_id or "layer0").group(1))
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
