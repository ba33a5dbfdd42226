"""The structural bounds of an AGoT run, validated before anything is built from them.

Every numeric option has an upper bound as well as a lower one: a run grows in proportion to
``max_nodes ** max_depth * max_layers``, so a typo such as ``--max-layers 1000000000`` must be a
clear error, never an hour of paid calls or memory allocated in proportion to the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agot.config import check_count

#: Upper bounds of the options (far above the paper's d=1, L=3, N=3).
LIMITS = {
    "max_depth": 4,
    "max_layers": 16,
    "max_nodes": 32,
    "max_thoughts": 10_000,
    "reserve_final_calls": 8,
}
#: Thoughts across all graphs of a run when the user sets no cap.
DEFAULT_MAX_THOUGHTS = 500

#: Tokens per step for a capable model (room to reason) and for a small model whose context
#: window is 8k tokens or less (the embedded SmolLM2 under a grammar: tight replies close their
#: JSON and keep prompts inside the window).
STEP_TOKENS = {
    "roomy": {"decompose": 1024, "assess": 384, "solve": 1024, "final": 1024},
    "compact": {"decompose": 512, "assess": 128, "solve": 384, "final": 384},
}
COMPACT_CONTEXT = 8192


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as a validated int in ``[minimum, LIMITS[name]]``; ConfigError otherwise."""
    return check_count(value, f"AGoT {name}", minimum=minimum, maximum=LIMITS.get(name))


@dataclass(frozen=True)
class Bounds:
    """d, L, N of the paper plus the run-wide thought cap and the synthesis reservation."""

    max_depth: int = 1
    max_layers: int = 3
    max_nodes: int = 3
    max_thoughts: int = DEFAULT_MAX_THOUGHTS
    layer_depth_reduction: bool = True
    reserve_final_calls: int = 1

    def __post_init__(self) -> None:
        check_int("max_depth", self.max_depth, 0)
        check_int("max_layers", self.max_layers, 1)
        check_int("max_nodes", self.max_nodes, 1)
        check_int("max_thoughts", self.max_thoughts, 1)
        check_int("reserve_final_calls", self.reserve_final_calls, 1)

    def layers_at(self, depth: int) -> int:
        """Layers a graph nested at ``depth`` may grow (the authors' layer depth reduction)."""
        reduction = depth if self.layer_depth_reduction else 0
        return max(1, self.max_layers - reduction)
