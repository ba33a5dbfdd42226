"""Shared setup of the example notebooks: which model to use, and a canned stand-in for tests.

Every example reads the model string from the ``AGOT_MODEL`` environment variable (default
``local``, the embedded SmolLM2 model), so the same notebook runs on a laptop, against a server
(``AGOT_MODEL=hosted_vllm/<name>`` with ``AGOT_API_BASE``), or in the test suite
(``AGOT_MODEL=scripted``). For ``scripted`` this module returns a backend with canned replies
shaped like a real model's: AGoT proposes two thoughts per layer and finds thought 2 complex;
Direct misses multi-hop questions that CoT and AGoT get right; Kairanban agents start unsure
and converge. The numbers are illustrations of the pictures, not measurements.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from agot.backends import LatencyModel, ScriptedBackend
from agot.types import GenerationRequest

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

#: Answers the scripted model knows (question fragment -> answer, found in the prompt).
_KNOWN = {
    "Halvard Bridge": "Ostrava Minor",
    "Quillon Library": "the Quillon Library",
    "Sable Quartet": "cello",
    "Tovey Cup": "yes",
    "Dunmere": "1820",
    "Grey Lanterns": "Teodor Amsel",
    "sky blue": "Rayleigh scattering of sunlight by air molecules",
}
#: Thoughts the scripted AGoT proposes: (title, content) for layer 0 and for later layers.
_TITLES = (
    [
        ("Find the facts named in the question", "List the facts the question names."),
        ("Link the facts into one chain", "Connect the facts step by step."),
    ],
    [
        ("Check the candidate answer", "Verify the answer against the facts."),
        ("State the answer briefly", "Give the answer as a short phrase."),
    ],
)
#: Questions that need two hops: Direct answering at once gets these wrong.
_MULTI_HOP = {"Halvard Bridge", "Dunmere", "Grey Lanterns", "Sable Quartet"}

_POSITIVE = re.compile(r"\b(great|love|excellent|good|happy|wonderful|delight\w*|best)\b", re.I)
_NEGATIVE = re.compile(r"\b(bad|awful|terrible|slow|hate|worst|broken|rude|disappoint\w*)\b", re.I)


def model_string() -> str:
    """The model string the examples use: ``$AGOT_MODEL``, or ``local``."""
    return os.environ.get("AGOT_MODEL", "").strip() or "local"


def demo_model(model: str | None = None) -> Any:
    """``model`` (default :func:`model_string`) as given, or a canned backend for ``scripted``."""
    name = model or model_string()
    if name != "scripted":
        return name
    return ScriptedBackend(_script, latency=LatencyModel(fixed_s=0.02, per_token_s=0.0004))


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (stands in for sampling noise)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _topic(prompt: str) -> str | None:
    return next((key for key in _KNOWN if key in prompt), None)


def _script(request: GenerationRequest) -> object:
    prompt = request.messages[-1].content
    role = request.role
    topic = _topic(prompt)
    answer = _KNOWN.get(topic or "", "unknown")
    if role == "decompose":
        layer = int(re.search(r"layer(\d+)$", request.node_id or "layer0").group(1))  # type: ignore[union-attr]
        numbers = sorted({int(m) for m in re.findall(r"^\s+(\d+)\. ", prompt, re.M)})
        titles = _TITLES[0] if layer == 0 else _TITLES[1]
        if layer >= 2 and "set ready to true" in prompt:  # two layers link the facts
            return {"strategy": "the facts are linked", "ready": True, "thoughts": []}
        return {
            "strategy": f"layer {layer}: gather the facts, then combine them",
            "thoughts": [
                {"title": title, "content": content, "parents": numbers}
                for title, content in titles
            ],
        }
    if role == "assess":
        node = request.node_id or ""
        return {"justification": "needs two lookups", "is_complex": node == "2"}
    if role == "solve":
        return {"reasoning": "looked it up", "answer": f"{answer} (from the given facts)"}
    if role == "final":
        return {"reasoning": "combined the thoughts", "answer": answer}
    if role == "answer":  # Direct and CoT
        step_by_step = "step by step" in prompt
        if (topic in _MULTI_HOP and not step_by_step) or (topic == "Dunmere" and step_by_step):
            return ("Let me think step by step.\n" if step_by_step else "") + "Answer: unknown"
        return ("Let me think step by step.\n" if step_by_step else "") + f"Answer: {answer}"
    if role == "vote":  # a Kairanban agent document
        return _agent_document(request, prompt)
    if role == "chat":  # an idobata comment
        return f"Agent {request.sample_index}: the wording decides it for me."
    if request.output_schema is not None:
        from agot.backends.scripted import example_for_schema

        return example_for_schema(request.output_schema)
    return f"Answer: {answer}"


def _agent_document(request: GenerationRequest, prompt: str) -> dict[str, Any]:
    schema = request.output_schema
    labels = list(schema.model_fields["distribution"].annotation.LABELS)  # type: ignore[union-attr]
    found = re.search(r"<<<\n(.*?)\n>>>", prompt, re.S)
    text = found.group(1) if found else prompt
    pos, neg = len(_POSITIVE.findall(text)), len(_NEGATIVE.findall(text))
    lean = "positive" if pos > neg else "negative" if neg > pos else "neutral"
    agent = request.sample_index or 1
    # Early agents are unsure; later ones (and those that heard the idobata round) sharpen.
    clarity = 0.2 + 0.8 * _unit(text)  # some texts are clearer than others
    sharp = clarity * (0.35 + 0.12 * agent) + (0.15 if "Idobata conversation" in prompt else 0.0)
    weights = {}
    for label in labels:
        base = 1.0 + 3.0 * sharp * (label == lean) * agent
        weights[label] = base * (0.7 + 0.6 * _unit(text, agent, label))
    total = sum(weights.values())
    return {
        "analysis": f"the text reads {lean}",
        "reasoning": f"agent {agent} weighs the cue words",
        "distribution": {label: w / total for label, w in weights.items()},
    }


# -- showing things: rich output in a notebook, files and text in a plain script -------------
def output_dir() -> Path:
    """Where examples write traces, run folders and (in scripts) pictures:
    ``$AGOT_EXAMPLES_OUT``, or ``./example-output``."""
    out = Path(os.environ.get("AGOT_EXAMPLES_OUT", "").strip() or "example-output")
    out.mkdir(parents=True, exist_ok=True)
    return out


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def show(obj: Any, name: str | None = None) -> None:
    """Display ``obj`` in a notebook; in a script, print it or save it as ``name``.

    Figures are closed after showing so Jupyter does not draw them twice.
    """
    figure = _is_figure(obj)
    if in_notebook():
        from IPython.display import display

        display(obj)
    elif figure:
        path = output_dir() / f"{name or 'figure'}.png"
        obj.savefig(path, dpi=110, bbox_inches="tight")
        print(f"[saved {path}]")
    elif hasattr(obj, "answer") and hasattr(obj, "usage"):  # a Result
        u = obj.usage
        print(f"answer: {obj.answer}")
        print(f"usage: {u.calls} calls, {u.prompt_tokens}+{u.completion_tokens} tokens")
        if getattr(obj, "stopped", None):
            print(f"stopped: {obj.stopped}")
    elif hasattr(obj, "_repr_svg_") and name:
        path = output_dir() / f"{name}.svg"
        path.write_text(obj._repr_svg_(), encoding="utf-8")
        print(f"[saved {path}]")
    elif hasattr(obj, "to_string"):
        print(obj.to_string())
    else:
        print(obj)
    if figure:
        import matplotlib.pyplot as plt

        plt.close(obj)


def _is_figure(obj: Any) -> bool:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    return isinstance(obj, Figure)
