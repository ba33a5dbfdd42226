"""What a Kairanban run reports: the aggregated prediction, trajectory, dialogue and errors.

The chain hands over the agents' documents and the idobata comments; this turns them into the
:class:`~agot.kairanban.schemas.KairanbanResult` fields (as JSON, for ``Result.details``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agot.kairanban import metrics
from agot.kairanban.schemas import AgentDocument, Comment, KairanbanResult

if TYPE_CHECKING:
    from agot.kairanban.chain import Kairanban


def build_report(
    chain: Kairanban,
    text: str,
    documents: Sequence[AgentDocument],
    dialogue: Sequence[Comment],
    stopped: str | None,
) -> dict[str, Any]:
    aggregates = metrics.aggregates(documents, chain.labels)
    distribution = aggregates.get(chain.aggregate)
    label = None
    if distribution is not None:
        valid = [d.distribution for d in documents if d.distribution is not None]
        label = (
            metrics.vote_winner(valid, chain.labels)
            if chain.aggregate == "vote"
            else metrics.top_label(distribution, chain.labels)
        )
    errors = [f"agent {d.agent}: {d.error}" for d in documents if d.error]
    errors += [f"idobata comment of agent {c.agent}: {c.error}" for c in dialogue if c.error]
    error = None
    if distribution is None and not stopped:
        first = next((d.error for d in documents if d.error), "no agent ran")
        error = f"no agent produced a valid distribution ({first})"
    result = KairanbanResult(
        text=text,
        labels=list(chain.labels),
        mode=chain.mode,
        aggregate=chain.aggregate,
        agents=chain.agents,
        idobata_at=chain.idobata_at,
        distribution=distribution,
        label=label,
        aggregates=aggregates,
        documents=list(documents),
        trajectory=metrics.trajectory(documents, chain.labels, chain.idobata_at),
        dialogue=list(dialogue),
        warnings=[w for d in documents for w in d.warnings],
        errors=errors,
        stopped=stopped,
        error=error,
    )
    return result.model_dump(mode="json", exclude={"usage", "events", "prompts", "wall_s"})


def read_report(details: Mapping[str, Any], aggregate: str) -> tuple[str | None, dict[str, Any]]:
    """A run's (answer, details) seen under ``aggregate`` (``last``/``mean``/``vote``).

    ``details["raw"]`` becomes the last valid agent document (the board at the end) as JSON,
    so a results row's ``raw`` is model text rather than the label.
    """
    report = dict(details.get("kairanban") or {})
    if not report:
        return None, dict(details)
    labels = report["labels"]
    dist = (report.get("aggregates") or {}).get(aggregate)
    label = None
    if dist is not None:
        if aggregate == "vote":
            valid = [d["distribution"] for d in report.get("documents", []) if d["distribution"]]
            label = metrics.vote_winner(valid, labels)
        else:
            label = metrics.top_label(dist, labels)
    report.update(aggregate=aggregate, distribution=dist, label=label)
    out = {**details, "kairanban": report, "distribution": dist}
    last = next((d for d in reversed(report.get("documents") or []) if d.get("distribution")), None)
    if last is not None:  # the model's own text: the board at the end, as the agent wrote it
        out["raw"] = json.dumps(
            {k: last.get(k) for k in ("analysis", "reasoning", "distribution")},
            ensure_ascii=False,
        )
    return label, out
