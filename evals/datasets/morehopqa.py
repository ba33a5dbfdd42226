"""MoreHopQA (Schnitzler et al., 2024): multi-hop questions extended by arithmetic, symbolic and
commonsense steps on top of the retrieved answer.

Layout of the release (``morehopqa_final.json``, a JSON array), built on 2WikiMultihopQA and
HotpotQA: ``{_id, question, answer, previous_question, previous_answer,
question_decomposition: [{sub_id, question, answer, paragraph_support_title, details?}],
context: [[title, [sentences]]], answer_type, previous_answer_type, no_of_hops,
reasoning_type, ...}``. The gold decomposition and the "previous" (pre-extension) question
stay in the metadata for analysis; the prompt gets the question and its context. Ids are read
from ``_id`` or ``id`` (copies of the release differ).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agot.evals.datasets import register_dataset
from agot.evals.datasets.passages import parse_context, render_passages
from agot.evals.datasets.sources import DataSource, Row
from agot.evals.records import EvalRecord

HOW_TO_GET = "download morehopqa_final.json from github.com/Alab-NII/morehopqa (datasets/files/)"
SOURCE = DataSource("morehopqa", HOW_TO_GET)  # not on the hub: --data only
ANSWER_FORMAT = "Answer with the final value only (a word, name, number or short phrase)."


def row_to_record(row: Row) -> EvalRecord:
    return EvalRecord(
        id=row.id(),
        dataset=SOURCE.dataset,
        question=row.text("question"),
        gold=str(row.field("answer")),
        context=render_passages(parse_context(row.get("context"))) or None,
        metadata={
            "answer_type": row.get("answer_type"),
            "hops": row.get("no_of_hops"),
            "reasoning_type": row.get("reasoning_type"),
            "previous_question": row.get("previous_question"),
            "previous_answer": row.get("previous_answer"),
            "decomposition": row.get("question_decomposition") or [],
        },
    )


def load(*, data: Path | None) -> Iterator[EvalRecord]:
    rows = SOURCE.read(data, ["morehopqa_final.json", "morehopqa*.json"])
    yield from rows.records(row_to_record)


SPEC = register_dataset(
    SOURCE,
    load,
    answer_format=ANSWER_FORMAT,
    description="MoreHopQA multi-hop questions with extra symbolic/arithmetic hops",
)
