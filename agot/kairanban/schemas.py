"""The agent document (structured output) and the typed results of a Kairanban run.

An agent's reply is a JSON object ``{"analysis": ..., "reasoning": ..., "distribution": {label:
p, ...}}``. The distribution is an object with one number property per label (all required, no
others), so a JSON-schema grammar (llama.cpp) or ``response_format`` (OpenAI-style servers) can
enforce its shape while decoding. What a grammar cannot enforce is checked when the dispatcher
parses the reply, and a failure there makes the dispatcher re-ask (validators raise
``ValueError``, which pydantic wraps into the ``ValidationError`` that
:func:`agot.structured.parse_structured` turns into a re-ask):

* a label missing or an unknown label  -> re-ask (``extra="forbid"``, every label required);
* a probability below 0 or above 1     -> re-ask;
* probabilities summing to 0, or to a value further than ``tolerance`` from 1 -> re-ask;
* a sum within ``tolerance`` of 1 but not 1 -> accepted here and renormalised by
  :func:`normalise`, which returns a warning the run records.

The notes (analysis, reasoning) carry ``maxLength`` in the JSON schema so a grammar keeps them
short (small models otherwise ramble until ``max_tokens`` cuts the JSON); a longer note from a
backend without a grammar is truncated, not re-asked.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from agot.errors import ConfigError
from agot.trace import TraceEvent
from agot.types import Usage

#: The default label set (three-way sentiment).
DEFAULT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: A sum within this distance of 1 is renormalised (with a warning); further off is re-asked.
DEFAULT_SUM_TOLERANCE = 0.05
#: Below this distance from 1 a sum counts as exact: renormalised silently (float noise).
EXACT_SUM_TOLERANCE = 1e-6
#: Default ``maxLength`` of the analysis and reasoning notes, in characters.
DEFAULT_NOTE_CHARS = 400


def check_labels(labels: Sequence[str] | str) -> tuple[str, ...]:
    """Validate a label set: at least two distinct, non-empty strings (order kept).

    A comma-separated string is accepted too (``"negative,neutral,positive"``).
    """
    if isinstance(labels, str):
        labels = labels.split(",")
    try:
        items = list(labels)
    except TypeError:
        raise ConfigError(f"labels must be a list of strings, got {labels!r}") from None
    cleaned: list[str] = []
    for label in items:
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"every label must be a non-empty string, got {label!r}")
        cleaned.append(label.strip())
    if len(set(cleaned)) != len(cleaned):
        dupes = sorted({x for x in cleaned if cleaned.count(x) > 1})
        raise ConfigError(f"labels must be distinct; repeated: {', '.join(dupes)}")
    if len(cleaned) < 2:
        raise ConfigError(f"need at least 2 distinct labels to classify, got {cleaned!r}")
    return tuple(cleaned)


class DistributionBase(BaseModel):
    """Base of the per-label-set distribution models built by :func:`distribution_model`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Labels in order; set on each generated subclass.
    LABELS: ClassVar[tuple[str, ...]] = ()
    #: How far from 1 the sum may be before the reply is re-asked.
    TOLERANCE: ClassVar[float] = DEFAULT_SUM_TOLERANCE

    def as_dict(self) -> dict[str, float]:
        """Label -> probability, in label order, exactly as the model wrote them."""
        return {label: float(getattr(self, f"p{i}")) for i, label in enumerate(self.LABELS)}

    @model_validator(mode="before")
    @classmethod
    def _exact_labels(cls, data: Any) -> Any:
        # One clear message (unknown and missing labels together) reads better in a re-ask
        # than pydantic's first error ("Field required").
        if isinstance(data, dict) and cls.LABELS:
            unknown = [k for k in data if k not in cls.LABELS]
            missing = [label for label in cls.LABELS if label not in data]
            if unknown or missing:
                parts = []
                if unknown:
                    parts.append("unknown label(s) " + ", ".join(repr(k) for k in unknown))
                if missing:
                    parts.append("missing label(s) " + ", ".join(repr(k) for k in missing))
                raise ValueError(
                    "; ".join(parts)
                    + "; use exactly these keys: "
                    + ", ".join(repr(k) for k in cls.LABELS)
                )
        return data

    @model_validator(mode="after")
    def _sums_to_one(self) -> DistributionBase:
        total = math.fsum(self.as_dict().values())
        if total <= 0:
            raise ValueError(
                "every probability is 0: give each label a probability between 0 and 1, "
                "summing to 1"
            )
        if abs(total - 1.0) > self.TOLERANCE:
            raise ValueError(
                f"the probabilities sum to {total:.4g}, not 1: give each label a probability "
                "between 0 and 1 so that they add up to 1"
            )
        return self


def distribution_model(
    labels: Sequence[str], tolerance: float = DEFAULT_SUM_TOLERANCE
) -> type[DistributionBase]:
    """The pydantic model of a distribution over ``labels``: ``{label: number, ...}``.

    Field names are ``p0, p1, ...`` with the label as alias, so any label text (spaces, case,
    punctuation) works; the JSON schema and the accepted JSON use the labels themselves.
    Cached per (labels, tolerance) so the class, and so the schema, is stable across calls.
    """
    checked = check_labels(labels)
    if not 0 <= tolerance < 1:
        raise ConfigError(f"sum tolerance must be in [0, 1), got {tolerance}")
    return _distribution_model(checked, float(tolerance))


@functools.lru_cache(maxsize=64)
def _distribution_model(labels: tuple[str, ...], tolerance: float) -> type[DistributionBase]:
    fields: dict[str, Any] = {
        f"p{i}": (float, Field(alias=label, ge=0.0, le=1.0)) for i, label in enumerate(labels)
    }
    model: type[DistributionBase] = create_model(
        "Distribution", __base__=DistributionBase, **fields
    )
    model.LABELS = labels
    model.TOLERANCE = float(tolerance)
    model.__doc__ = f"A probability for each label ({', '.join(labels)}), summing to 1."
    return model


def _note_type(max_chars: int) -> Any:
    return Annotated[
        str,
        WithJsonSchema({"type": "string", "maxLength": max_chars}),
    ]


def document_model(
    labels: Sequence[str],
    note_chars: int = DEFAULT_NOTE_CHARS,
    tolerance: float = DEFAULT_SUM_TOLERANCE,
) -> type[BaseModel]:
    """The structured output of one agent: analysis R, reasoning S, distribution P.

    Properties come in that order, so a grammar makes the model reason before it commits to
    numbers. ``note_chars`` is the ``maxLength`` of each note (longer notes are truncated).
    """
    if note_chars < 1:
        raise ConfigError(f"note_chars must be >= 1, got {note_chars}")
    checked = check_labels(labels)
    distribution_model(checked, tolerance)  # validates the tolerance
    return _document_model(checked, int(note_chars), float(tolerance))


@functools.lru_cache(maxsize=64)
def _document_model(labels: tuple[str, ...], note_chars: int, tolerance: float) -> type[BaseModel]:
    dist = _distribution_model(labels, tolerance)
    note = _note_type(note_chars)

    def _clip(cls: Any, value: str) -> str:
        return value[:note_chars]

    model = create_model(
        "AgentDocumentReply",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __validators__={
            "clip_notes": field_validator("analysis", "reasoning", mode="after")(_clip)
        },
        analysis=(note, Field(description="what in the text points to which label")),
        reasoning=(
            note,
            Field(description="step-by-step reasoning, taking the board into account"),
        ),
        distribution=(dist, Field(description="one probability per label, summing to 1")),
    )
    model.__doc__ = "An agent's document on the kairanban board."
    return model


def normalise(
    values: dict[str, float], labels: Sequence[str]
) -> tuple[dict[str, float], str | None]:
    """Rescale ``values`` to sum to exactly 1, in label order.

    Returns the distribution and a warning when the sum was off by more than float noise
    (:data:`EXACT_SUM_TOLERANCE`); the schema has already rejected sums further off than the
    tolerance, so this only ever fixes *slightly* wrong replies.
    """
    total = math.fsum(values[label] for label in labels)
    if total <= 0:
        raise ValueError("cannot normalise a distribution whose probabilities sum to 0")
    out = {label: values[label] / total for label in labels}
    warning = None
    if abs(total - 1.0) > EXACT_SUM_TOLERANCE:
        warning = f"probabilities summed to {total:.4g}; renormalised to 1"
    return out, warning


# -- results ---------------------------------------------------------------------------------


class AgentDocument(BaseModel):
    """What agent ``agent`` (1-based) wrote on the board, its distribution normalised.

    ``error`` is set (and the other fields empty) when the agent produced no valid document
    after the dispatcher's re-asks; the chain then passes the previous board on unchanged.
    """

    agent: int
    model: str | None = None
    persona: str | None = None
    analysis: str = ""
    reasoning: str = ""
    distribution: dict[str, float] | None = None
    saw_dialogue: bool = False
    call_id: str | None = None
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None


class Comment(BaseModel):
    """One idobata comment: agent ``agent`` (1-based) said ``text`` (or failed with ``error``)."""

    agent: int
    text: str = ""
    model: str | None = None
    call_id: str | None = None
    error: str | None = None


class Stage(BaseModel):
    """The state after stage ``stage`` (= after agent ``stage`` wrote; 1-based).

    * ``distribution``: the board after this stage, i.e. this agent's normalised P (the
      previous board when this agent failed; ``None`` while no agent has succeeded);
    * ``entropy``: Shannon entropy, in nats, of ``distribution``:
      ``H = -sum_l p(l) ln p(l)`` (``0 ln 0 = 0``); 0 for a one-hot board, ``ln L`` for uniform;
    * ``variance``: disagreement between agents so far: for each label, the population variance
      (ddof = 0) of ``p_i(label)`` over the agents ``i <= stage`` that produced a distribution,
      averaged over labels. 0 at the first stage and whenever all agents agree exactly;
    * ``mean_distribution``: the label-wise mean of those agents' distributions;
    * ``after_idobata``: this agent saw the idobata dialogue.
    """

    stage: int
    agent: int
    distribution: dict[str, float] | None = None
    entropy: float | None = None
    variance: float | None = None
    mean_distribution: dict[str, float] | None = None
    agents_counted: int = 0
    after_idobata: bool = False
    error: str | None = None


class KairanbanResult(BaseModel):
    """Everything one :meth:`Kairanban.predict` produced.

    ``distribution`` is the aggregate chosen by ``aggregate`` (``last``: the last agent's P, the
    paper's prediction; ``mean``: the label-wise mean of all agents' P; ``vote``: each agent's
    top label as one vote, as shares), and ``label`` its most probable label (ties go to the
    label listed first). ``aggregates`` holds all three. ``trajectory`` has one
    :class:`Stage` per agent; ``dialogue`` the idobata comments in speaking order.
    """

    text: str
    labels: list[str]
    mode: str
    aggregate: str
    agents: int
    idobata_at: int | None = None
    distribution: dict[str, float] | None = None
    label: str | None = None
    aggregates: dict[str, dict[str, float]] = Field(default_factory=dict)
    documents: list[AgentDocument] = Field(default_factory=list)
    trajectory: list[Stage] = Field(default_factory=list)
    dialogue: list[Comment] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    events: list[TraceEvent] = Field(default_factory=list)
    prompts: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    stopped: str | None = None
    error: str | None = None
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.distribution is not None and self.error is None

    def summary(self) -> dict[str, Any]:
        """The compact JSON object ``agot classify --json`` prints."""
        return {
            "label": self.label,
            "distribution": self.distribution,
            "aggregate": self.aggregate,
            "mode": self.mode,
            "agents": self.agents,
            "idobata_at": self.idobata_at,
            "trajectory": [
                {
                    "stage": s.stage,
                    "agent": s.agent,
                    "distribution": s.distribution,
                    "entropy": s.entropy,
                    "variance": s.variance,
                    "after_idobata": s.after_idobata,
                    "error": s.error,
                }
                for s in self.trajectory
            ],
            "dialogue": [
                {"agent": c.agent, "comment": c.text} for c in self.dialogue if not c.error
            ],
            "usage": self.usage.model_dump(),
            "warnings": self.warnings,
            "errors": self.errors,
            "stopped": self.stopped,
            "error": self.error,
            "wall_s": round(self.wall_s, 3),
        }
