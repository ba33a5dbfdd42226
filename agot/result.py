"""The result of solving one question, and the trace file written from it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, computed_field, field_validator

from agot.trace import TraceEvent, usage_by_model, usage_by_role
from agot.types import Usage
from agot.url_secrets import redact_model


class Result(BaseModel):
    """Answer, usage and trace of one run; JSON-serialisable (``model_dump_json``).

    ``stopped`` holds the budget reason when the run was cut short (the answer is then partial);
    ``error`` holds the failure when no answer could be produced. ``details`` carries
    strategy-specific data (raw text, votes, ...); ``graph`` the thought graph as node-link JSON.
    """

    question: str
    strategy: str
    model: str
    answer: str | None = None
    #: The answer as a validated instance of the user's schema (``AGoT(final_schema=...)``);
    #: a plain dict once loaded back from a trace file.
    parsed: Any = None
    usage: Usage = Field(default_factory=Usage)
    events: list[TraceEvent] = Field(default_factory=list)
    #: The JSON schema of each response schema its calls named (``TraceEvent.output_schema``).
    schemas: dict[str, dict[str, Any]] = Field(default_factory=dict)
    graph: dict[str, Any] | None = None
    prompts: dict[str, str] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    stopped: str | None = None
    error: str | None = None
    wall_s: float = 0.0

    @field_validator("model")
    @classmethod
    def _no_secret(cls, value: str) -> str:
        # Written to traces, results and screens: a key in the model's URL never is.
        return redact_model(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usage_by_model(self) -> dict[str, Usage]:
        """Usage per model that served a call (from the events; cached calls cost nothing)."""
        return usage_by_model(self.events)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usage_by_role(self) -> dict[str, Usage]:
        """Usage per step role (decompose, assess, solve, final, judge, ...)."""
        return usage_by_role(self.events)

    @property
    def partial(self) -> bool:
        return self.stopped is not None

    @property
    def ok(self) -> bool:
        return self.answer is not None and self.error is None

    def trace(self) -> dict[str, Any]:
        """The trace object that ``--trace FILE`` writes: question, strategy, model, answer,
        usage, the graph (node-link JSON) and one event per model call."""
        return self.model_dump(mode="json")

    def save_trace(self, path: str | os.PathLike[str]) -> Path:
        """Write the trace to ``path``; ConfigError (naming the path) when it cannot."""
        from agot.errors import ConfigError

        target = Path(path)
        if target.is_dir():
            raise ConfigError(f"cannot write the trace to {str(path)!r}: it is a folder")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(self.trace(), indent=1, ensure_ascii=False))
        except OSError as exc:
            raise ConfigError(
                f"cannot write the trace to {str(path)!r}: {exc.strerror or exc}"
            ) from None
        return target

    @classmethod
    def load_trace(cls, path: str | os.PathLike[str]) -> Result:
        from agot.errors import ConfigError

        try:
            return cls.model_validate_json(Path(path).read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"trace file {str(path)!r} not found") from None
        except IsADirectoryError:
            raise ConfigError(
                f"{str(path)!r} is a folder: give a trace file written by --trace"
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ConfigError(
                f"{str(path)!r} is not an agot trace: {str(exc).splitlines()[0]}"
            ) from None

    def thought_graph(self) -> Any:
        """The run's :class:`~agot.graph.ThoughtGraph` (None for graph-less strategies)."""
        if self.graph is None:
            return None
        from agot.graph import ThoughtGraph

        return ThoughtGraph.from_json(self.graph)

    def _repr_html_(self) -> str:
        """Notebook display: answer, usage, timing and the thought graph."""
        from agot.render.notebook import result_html

        return result_html(self)
