"""HotpotQA (Yang et al., 2018): two-hop Wikipedia questions, distractor and fullwiki settings.

Two layouts are read:

* the official JSON (``hotpot_dev_distractor_v1.json``, ``hotpot_dev_fullwiki_v1.json``): a
  list of ``{_id, question, answer, supporting_facts: [[title, sent_id]], context: [[title,
  [sentences]]], type, level}``;
* the Hugging Face columns (``hotpotqa/hotpot_qa``, configs ``distractor`` / ``fullwiki``):
  ``{id, question, answer, type, level, supporting_facts: {title, sent_id}, context: {title,
  sentences}}``, from the hub or a local .jsonl/.parquet export.

Ids are read from ``_id`` or ``id`` (the two layouts differ). The context paragraphs (gold +
distractors, or the fullwiki retrieval) go into the prompt in the order the file gives them.
Scoring is the official EM/F1 (:mod:`agot.evals.scorers.hotpotqa`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agot.evals.datasets import register_dataset
from agot.evals.datasets.passages import parse_context, parse_supporting_facts, render_passages
from agot.evals.datasets.sources import DataSource, Row, file_split_names
from agot.evals.records import EvalRecord

HOW_TO_GET = (
    "download hotpot_dev_distractor_v1.json or hotpot_dev_fullwiki_v1.json from hotpotqa.github.io"
)
SOURCE = DataSource("hotpotqa", HOW_TO_GET, hub_repo="hotpotqa/hotpot_qa")
ANSWER_FORMAT = (
    "Answer with the shortest phrase that answers the question (a name, date, number, or "
    "yes/no), not a sentence."
)


def row_to_record(row: Row, *, subset: str) -> EvalRecord:
    passages = parse_context(row.get("context"))
    return EvalRecord(
        id=row.id(),
        dataset=SOURCE.dataset,
        question=row.text("question"),
        gold=str(row.field("answer")),
        context=render_passages(passages) or None,
        metadata={
            "subset": subset,
            "type": row.get("type"),
            "level": row.get("level"),
            "supporting_facts": parse_supporting_facts(row.get("supporting_facts")),
            "titles": [p.title for p in passages],
        },
    )


def load(*, data: Path | None, subset: str, split: str) -> Iterator[EvalRecord]:
    names = file_split_names(split)
    patterns = [f"hotpot_{n}_{subset}*.json" for n in names]
    if split == "train":
        patterns.append("hotpot_train*.json")
    patterns += [f"*{subset}*{n}*" for n in names] + [f"*{n}*{subset}*" for n in names]
    rows = SOURCE.read(data, patterns, split=split, config=subset)
    yield from rows.records(lambda row: row_to_record(row, subset=subset))


SPEC = register_dataset(
    SOURCE,
    load,
    subsets=("distractor", "fullwiki"),
    splits=("validation", "train"),
    answer_format=ANSWER_FORMAT,
    description="HotpotQA multi-hop QA over Wikipedia paragraphs (distractor / fullwiki)",
)
