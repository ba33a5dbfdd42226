"""2WikiMultihopQA (Ho et al., 2020): comparison, inference, compositional and bridge questions.

Official layout (``dev.json``): a list of ``{_id, type, question, context: [[title,
[sentences]]], supporting_facts: [[title, sent_id]], evidences: [[subject, relation, object]],
answer}``. The hub conversion (``ohjoonhee/2WikiMultihopQA``) stores context as ``{title,
content}`` and evidences as ``{fact, relation, entity}``; both are read. When the release's
``id_aliases.json`` lies next to the data and a row carries ``answer_id``, the aliases join the
gold (EM/F1 take the best match), as the official evaluation does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agot.evals.datasets import register_dataset
from agot.evals.datasets.passages import parse_context, parse_supporting_facts, render_passages
from agot.evals.datasets.sources import DataSource, Row, file_split_names
from agot.evals.records import EvalRecord

HOW_TO_GET = "download data_ids_april7.zip from github.com/Alab-NII/2wikimultihop (dev.json)"
SOURCE = DataSource("2wikimultihopqa", HOW_TO_GET, hub_repo="ohjoonhee/2WikiMultihopQA")
ANSWER_FORMAT = (
    "Answer with the shortest phrase that answers the question (a name, date, or yes/no), "
    "not a sentence."
)


def _evidences(value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        keys = ("fact", "relation", "entity")
        return [list(t) for t in zip(*(value.get(k) or [] for k in keys), strict=False)]
    return [list(map(str, e)) for e in value or []]


def row_to_record(row: Row, aliases: dict[str, list[str]] | None = None) -> EvalRecord:
    passages = parse_context(row.get("context"))
    answer = str(row.field("answer"))
    extra = (aliases or {}).get(str(row.get("answer_id", "")), [])
    golds = [answer, *[a for a in extra if a != answer]]
    return EvalRecord(
        id=row.id(),
        dataset=SOURCE.dataset,
        question=row.text("question"),
        gold=golds if len(golds) > 1 else answer,
        context=render_passages(passages) or None,
        metadata={
            "type": row.get("type"),
            "supporting_facts": parse_supporting_facts(row.get("supporting_facts")),
            "evidences": _evidences(row.get("evidences")),
        },
    )


def load(*, data: Path | None, split: str) -> Iterator[EvalRecord]:
    patterns = [f"{n}.json" for n in file_split_names(split)]
    patterns += [f"*{n}*.json*" for n in file_split_names(split)]
    rows = SOURCE.read(data, patterns, split=split)
    alias_file = rows.path.parent / "id_aliases.json" if rows.path is not None else None
    aliases = _read_aliases(alias_file) if alias_file and alias_file.is_file() else {}
    yield from rows.records(lambda row: row_to_record(row, aliases))


def _read_aliases(path: Path) -> dict[str, list[str]]:
    """``id_aliases.json``: one JSON object per line, ``{Q_id, aliases, demonyms}``."""
    table: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            table[str(item.get("Q_id"))] = [*item.get("aliases", []), *item.get("demonyms", [])]
    return table


SPEC = register_dataset(
    SOURCE,
    load,
    splits=("validation", "train"),
    answer_format=ANSWER_FORMAT,
    description="2WikiMultihopQA multi-hop QA with Wikidata evidence triples",
)
