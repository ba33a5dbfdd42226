"""FanOutQA (Zhu et al., 2024): fan-out questions that need facts from many Wikipedia pages.

Reads the dev set JSON (``fanout-final-dev.json``, a JSON array of ``{id, question, answer,
categories, decomposition: [{id, question, answer, depends_on: [ids], evidence: {pageid,
revid, title, url} | null, decomposition: [...]}]}``); answers are strings, numbers, lists or
``{key: value}`` dicts. With no ``--data``, the copy shipped inside the ``fanoutqa`` pip
package is used when it is installed.

This is the closed-book setting: no passages go into the prompt. The gold decomposition (a DAG
through ``depends_on``) is kept in the metadata, flattened to ``{id, question, answer,
depends_on, evidence_title, parent}`` nodes, so AGoT's graphs can be compared against it.
Scoring is FanOutQA's loose/strict string accuracy over the whole reply
(:mod:`agot.evals.scorers.fanoutqa`).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from agot.errors import DatasetError
from agot.evals.datasets import register_dataset
from agot.evals.datasets.sources import DataSource, Row, file_split_names
from agot.evals.records import EvalRecord

HOW_TO_GET = (
    "download fanout-final-dev.json from github.com/zhudotexe/fanoutqa (fanoutqa/data/), or "
    "pip install fanoutqa"
)
#: Not on the hub; without ``--data`` the dev set inside the ``fanoutqa`` package is read.
SOURCE = DataSource("fanoutqa", HOW_TO_GET)
ANSWER_FORMAT = (
    "Give the complete final answer after 'Answer:'; when it has several parts (a list, or "
    "one value per item), name every part."
)


def flatten_decomposition(
    nodes: list[dict[str, Any]], parent: str | None = None
) -> list[dict[str, Any]]:
    """Sub-questions depth first, each with its ``depends_on`` edges and parent id."""
    flat: list[dict[str, Any]] = []
    for node in nodes or []:
        evidence = node.get("evidence") or {}
        flat.append(
            {
                "id": str(node.get("id")),
                "question": node.get("question"),
                "answer": node.get("answer"),
                "depends_on": [str(d) for d in node.get("depends_on") or []],
                "evidence_title": evidence.get("title") if isinstance(evidence, dict) else None,
                "parent": parent,
            }
        )
        flat.extend(flatten_decomposition(node.get("decomposition") or [], str(node.get("id"))))
    return flat


def row_to_record(row: Row) -> EvalRecord:
    if "answer" not in row:
        raise DatasetError(
            f"{row.where}: missing field 'answer' (the test set is answer-less): use the dev set"
        )
    return EvalRecord(
        id=row.id(),
        dataset=SOURCE.dataset,
        question=row.text("question"),
        gold=row["answer"],
        metadata={
            "categories": row.get("categories") or [],
            "decomposition": flatten_decomposition(row.get("decomposition") or []),
        },
    )


def load(*, data: Path | None, split: str) -> Iterator[EvalRecord]:
    if data is None:
        path = _packaged_dev_set()
    else:
        patterns = [f"fanout-final-{n}.json" for n in file_split_names(split)]
        patterns += [f"*{n}*.json" for n in file_split_names(split)]
        path = SOURCE.find(data, patterns)
    yield from SOURCE.read_file(path).records(row_to_record)


def _packaged_dev_set() -> Path:
    try:
        base = resources.files("fanoutqa")
    except ModuleNotFoundError:
        raise DatasetError(
            f"fanoutqa: no data: {HOW_TO_GET}, and pass it with --data PATH"
        ) from None
    candidate = Path(str(base)) / "data" / "fanout-final-dev.json"
    if not candidate.is_file():
        raise DatasetError(f"fanoutqa: the installed package has no dev set: {HOW_TO_GET}")
    return candidate


SPEC = register_dataset(
    SOURCE,
    load,
    scorers=("fanoutqa",),
    splits=("validation",),
    answer_format=ANSWER_FORMAT,
    description="FanOutQA closed-book fan-out questions with gold decompositions",
)
