"""GPQA (Rein et al., 2023): graduate-level multiple choice, subsets main / diamond / extended.

Sources: the gated Hugging Face set ``Idavidrein/gpqa`` (configs ``gpqa_main``,
``gpqa_diamond``, ``gpqa_extended``; one split, ``train``), or the authors' release: the
password-protected ``dataset.zip`` or the CSV files inside it (``gpqa_diamond.csv``, ...),
passed with ``--data``. Rows keep the CSV columns: ``Question``, ``Correct Answer``,
``Incorrect Answer 1..3``, ``Record ID``, ``High-level domain``, ``Subdomain``, ...

The four options are shuffled per record with an RNG seeded by ``(seed, Record ID)``, so an
item's option order depends only on the seed and the item (not on which items were loaded or
in which order), and the seed is recorded with every result. The gold is the letter the correct
option landed on.

The authors ask that GPQA questions never appear in plain text online: the spec is marked
``private``, so the runner redacts every item's question and option texts from results,
traces and summaries (:mod:`agot.evals.redaction`), and nothing here logs them. Commit no
GPQA rows anywhere, fixtures included.

Scoring: simple-evals' extraction (``accuracy``, the headline) and agot's lenient reader
(``accuracy_lenient``) side by side; see :mod:`agot.evals.scorers.choice`.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agot.errors import DatasetError
from agot.evals.datasets import register_dataset
from agot.evals.datasets.sources import (
    DataSource,
    LoadedRows,
    Row,
    find_file,
    local_path,
    read_csv_text,
    read_zip_member,
)
from agot.evals.records import EvalRecord

SUBSETS = ("main", "diamond", "extended")
LETTERS = "ABCD"
DEFAULT_SEED = 0
HOW_TO_GET = (
    "request access to the gated set Idavidrein/gpqa on Hugging Face (then `hf auth login`), "
    "or download the authors' dataset.zip from github.com/idavidrein/gpqa (its password, from "
    "the authors' README, goes in AGOT_DATASET_PASSWORD)"
)
SOURCE = DataSource("gpqa", HOW_TO_GET, hub_repo="Idavidrein/gpqa")
ANSWER_FORMAT = (
    "Choose exactly one option. End your reply with a line of the form 'Answer: X', where X "
    "is one of A, B, C, D."
)


def shuffle_choices(
    correct: str, incorrect: list[str], *, seed: int, record_id: str
) -> tuple[list[str], str, list[int]]:
    """(options in shown order, gold letter, permutation of [correct, *incorrect])."""
    options = [correct, *incorrect]
    order = list(range(len(options)))
    random.Random(f"gpqa:{seed}:{record_id}").shuffle(order)
    shown = [options[i] for i in order]
    return shown, LETTERS[order.index(0)], order


COLUMNS: tuple[str, ...] = (
    "Question",
    "Correct Answer",
    "Incorrect Answer 1",
    "Incorrect Answer 2",
)
COLUMNS += ("Incorrect Answer 3",)


def row_to_record(row: Row, *, subset: str, seed: int) -> EvalRecord:
    for column in COLUMNS:
        if not _text(row.get(column)):
            raise DatasetError(f"{row.where}: missing field {column!r} (is this the GPQA CSV?)")
    question = _text(row.get("Question"))
    correct = _text(row.get("Correct Answer"))
    incorrect = [_text(row.get(f"Incorrect Answer {i}")) for i in (1, 2, 3)]
    record_id = _text(row.get("Record ID")) or _stable_id(question)
    choices, gold, order = shuffle_choices(correct, incorrect, seed=seed, record_id=record_id)
    metadata = {
        "subset": subset,
        "shuffle_seed": seed,
        "permutation": order,
        "domain": _text(row.get("High-level domain")) or None,
        "subdomain": _text(row.get("Subdomain")) or None,
        "difficulty": _text(row.get("Writer's Difficulty Estimate")) or None,
    }
    return EvalRecord(
        id=record_id,
        dataset=SOURCE.dataset,
        question=question,
        gold=gold,
        choices=choices,
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


def load(
    *, data: Path | None, subset: str, split: str, seed: int = DEFAULT_SEED
) -> Iterator[EvalRecord]:
    rows = _rows(data, subset, split)
    yield from rows.records(lambda row: row_to_record(row, subset=subset, seed=seed))


def _rows(data: Path | None, subset: str, split: str) -> LoadedRows:
    """The hub's config ``gpqa_<subset>``, or the subset's CSV: a file, in a folder, or inside
    the authors' zip (which the folder may hold instead of the CSV files)."""
    name = f"gpqa_{subset}.csv"
    if data is None:
        return SOURCE.hub(split=split, config=f"gpqa_{subset}")
    path = local_path(data, dataset="gpqa")
    if path.is_dir():
        zips = sorted(path.glob("*.zip"))
        csvs = list(path.rglob(name))
        if not csvs and zips:
            path = zips[0]
        else:
            path = find_file(path, [name], dataset="gpqa", what=f"{subset} CSV")
    if path.suffix.lower() == ".zip":
        password = os.environ.get("AGOT_DATASET_PASSWORD") or None
        text = read_zip_member(path, name, dataset="gpqa", password=password)
        rows = read_csv_text(text, where=f"gpqa: {path}:{name}")
        return LoadedRows("gpqa", rows, f"{path}:{name}", path)
    return SOURCE.read_file(path)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas
        return ""
    return str(value).strip()


def _stable_id(question: str) -> str:
    return "gpqa-" + hashlib.sha256(question.encode("utf-8")).hexdigest()[:12]


SPEC = register_dataset(
    SOURCE,
    load,
    scorers=("mc", "mc_lenient"),
    subsets=SUBSETS,
    default_subset="diamond",
    splits=("train",),
    answer_format=ANSWER_FORMAT,
    private=True,
    description="GPQA graduate-level science multiple choice (main / diamond / extended)",
)
