"""MuSiQue (Trivedi et al., 2022): 2-4 hop questions composed from single-hop ones.

Reads the official JSON Lines (``musique_ans_v1.0_dev.jsonl``, ``musique_full_v1.0_dev.jsonl``),
one object per line: ``{id, paragraphs: [{idx, title, paragraph_text, is_supporting}],
question, question_decomposition: [{id, question, answer, paragraph_support_idx}], answer,
answer_aliases, answerable}``; the same files load from the hub mirror ``bdsaglam/musique``.

The 20 paragraphs go into the prompt; the gold is the answer plus its aliases (EM/F1 take the
best match, with MuSiQue's own rules: :mod:`agot.evals.scorers.musique`). The ``full`` subset
pairs every question with an unanswerable twin under the same id: the twin's record id gets
``:unanswerable`` appended and both keep the shared id as ``metadata["group"]``; the prompt
asks for "unanswerable" when the paragraphs do not suffice, and the scorer adds
answerability accuracy and the official paired (group) metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agot.evals.datasets import register_dataset
from agot.evals.datasets.passages import parse_context, render_passages
from agot.evals.datasets.sources import DataSource, Row, file_split_names
from agot.evals.records import EvalRecord
from agot.evals.scorers.musique import ANSWER_FORMAT_FULL

HOW_TO_GET = "download musique_v1.0.zip from github.com/StonyBrookNLP/musique (data/ folder)"
SOURCE = DataSource("musique", HOW_TO_GET, hub_repo="bdsaglam/musique")
ANSWER_FORMAT = "Answer with the shortest phrase that answers the question, not a sentence."
#: The unanswerable twin of a ``full`` question shares its id; its record id gets this suffix.
UNANSWERABLE_SUFFIX = ":unanswerable"


def row_to_record(row: Row, *, subset: str) -> EvalRecord:
    paragraphs = row.get("paragraphs") or []
    aliases = [str(a) for a in row.get("answer_aliases") or []]
    answer = str(row.field("answer"))
    group = row.id()
    # The full subset is defined by answerability: there it is required, elsewhere it is True.
    if subset == "full":
        answerable = bool(row.field("answerable"))
    else:
        answerable = bool(row.field("answerable", default=True))
    return EvalRecord(
        id=group if answerable else f"{group}{UNANSWERABLE_SUFFIX}",
        dataset=SOURCE.dataset,
        question=row.text("question"),
        gold=[answer, *[a for a in aliases if a != answer]] if aliases else answer,
        context=render_passages(parse_context(paragraphs)) or None,
        metadata={
            "subset": subset,
            "group": group,
            "answerable": answerable,
            "decomposition": row.get("question_decomposition") or [],
            "supporting_paragraphs": [p.get("idx") for p in paragraphs if p.get("is_supporting")],
            "hops": len(row.get("question_decomposition") or []) or None,
        },
    )


def load(*, data: Path | None, subset: str, split: str) -> Iterator[EvalRecord]:
    rows = SOURCE.read(
        data,
        [f"musique_{subset}_*{n}*.jsonl" for n in file_split_names(split)],
        split=split,
        data_files=f"musique_{subset}_v1.0_{'dev' if split == 'validation' else split}.jsonl",
    )
    yield from rows.records(lambda row: row_to_record(row, subset=subset))


SPEC = register_dataset(
    SOURCE,
    load,
    scorers=("musique",),
    subset_scorers={"full": ("musique_full",)},
    subset_answer_formats={"full": ANSWER_FORMAT_FULL},
    subsets=("ans", "full"),
    splits=("validation", "train"),
    answer_format=ANSWER_FORMAT,
    description="MuSiQue 2-4 hop composed questions over 20 paragraphs",
)
