"""Eval run folders and a saved trace for the viewer's tests and benchmark, by scripted models.

Two runs on a HotpotQA-layout file (the tests' fixture): ``agot-vs-cot`` (AGoT with a nested
graph under thought 2, and CoT) and ``cot-again`` (CoT answering differently), so a comparison
has flipped items.
"""

from __future__ import annotations

from pathlib import Path

import agot
from agot.backends import ScriptedBackend
from agot.backends.scripted import LatencyModel
from agot.evals import run_eval
from agot.testing.agot_scripts import agot_script

#: Answers per question keyword: (first run, second run).
ANSWERS = {
    "river": ("the Amsel River", "the Rhine"),
    "same city": ("no", "no"),
    "founder": ("1875", "1877"),
    "anthem": ("Marta Ellery", "Marta Ellery"),
}


def _answer(prompt: str, which: int) -> str:
    for key, answers in ANSWERS.items():
        if key in prompt:
            return answers[which]
    return "unknown"


def agot_backend() -> ScriptedBackend:
    """AGoT steps (they name a node) from the AGoT script; single calls (CoT) answer directly."""
    base = agot_script(fanout=2, complex_if=lambda n: n == "2", title_words=4)

    def script(request):
        if request.node_id in (None, "answer"):
            text = "\n".join(m.content for m in request.messages)
            return f"Let me think step by step.\nAnswer: {_answer(text, 0)}"
        if request.role == "final" and request.node_id == "final":
            text = "\n".join(m.content for m in request.messages)
            return {"reasoning": "combined the thoughts", "answer": _answer(text, 0)}
        return base(request)

    # A little latency per token, so timelines show overlapping calls and a critical path.
    return ScriptedBackend(script, latency=LatencyModel(fixed_s=0.01, per_token_s=0.0004))


def cot_backend(which: int) -> ScriptedBackend:
    def script(request):
        text = "\n".join(m.content for m in request.messages)
        return f"Let me think step by step.\nAnswer: {_answer(text, which)}"

    return ScriptedBackend(script)


async def build_runs(root: Path, data: Path) -> tuple[Path, Path, Path]:
    """(first run folder, second run folder, saved trace file) under ``root``, both runs over
    the HotpotQA file ``data``."""
    first, second = root / "agot-vs-cot", root / "cot-again"
    common = {"data": str(data), "progress": False}
    await run_eval(
        "hotpotqa", strategies=["agot", "cot"], models=[agot_backend()], out=str(first), **common
    )
    await run_eval(
        "hotpotqa", strategies=["cot"], models=[cot_backend(1)], out=str(second), **common
    )
    result = await agot.AGoT(max_depth=1, max_layers=3, max_nodes=2).solve(
        "Why is the sky blue?", model=agot_backend()
    )
    trace = result.save_trace(root / "traces" / "sky.json")
    return first, second, trace
