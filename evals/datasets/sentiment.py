"""Sentiment datasets of the Kairanban paper: SST-5, TweetEval sentiment, Financial PhraseBank.

Each set is a :class:`~agot.evals.datasets.sources.DataSource`: the Hugging Face hub, or with
``--data`` a file or folder in the set's own layouts. A record's ``question`` is the text and its
``gold`` the label *string* (``metadata["labels"]`` holds the label set in order,
``metadata["label_id"]`` the dataset's integer label).

Layouts read from ``data``:

* **SST-5** (``very negative, negative, neutral, positive, very positive`` = 0..4): the SetFit
  files ``train.jsonl`` / ``dev.jsonl`` / ``test.jsonl`` (``{"text", "label", "label_text"}``),
  the same columns as ``.csv`` / ``.parquet``, or the original Stanford PTB trees
  (``trees/test.txt``: one ``(3 (2 It) ...)`` tree per line; the root's number is the label,
  the leaves are the text).
* **TweetEval sentiment** (``negative, neutral, positive`` = 0, 1, 2): the cardiffnlp/tweeteval
  folder ``datasets/sentiment/`` with ``{train,val,test}_text.txt`` and ``{split}_labels.txt``
  (one tweet / one integer per line) and optional ``mapping.txt`` (``0<TAB>negative``); or a
  table with ``text, label``.
* **Financial PhraseBank** (``negative, neutral, positive``; the hub's integers 0, 1, 2): the
  authors' ``Sentences_{AllAgree,75Agree,66Agree,50Agree}.txt``, one ``sentence@label`` per line
  in ISO-8859-1; or a table with ``sentence, label``. It has no official split: all is ``train``.

Ids: these sets carry none, so an item's id is its position: ``<split>-<row>`` (0-based, file
order; ``val-<row>`` etc. in TweetEval's own files), or ``<subset>-<row>`` for Financial
PhraseBank.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agot.errors import DatasetError
from agot.evals.classification import ClassificationScorer
from agot.evals.datasets import DatasetSpec, register_dataset
from agot.evals.datasets.sources import DataSource, LoadedRows, Row, file_split_names, read_text
from agot.evals.records import EvalRecord

SST5_LABELS = ("very negative", "negative", "neutral", "positive", "very positive")
SENTIMENT3_LABELS = ("negative", "neutral", "positive")
FPB_SUBSETS = {
    "sentences_allagree": "Sentences_AllAgree.txt",
    "sentences_75agree": "Sentences_75Agree.txt",
    "sentences_66agree": "Sentences_66Agree.txt",
    "sentences_50agree": "Sentences_50Agree.txt",
}
#: The column names of a table's text and label, in the order they are tried.
TEXT_FIELDS = ("text", "sentence", "tweet")
LABEL_FIELDS = ("label", "label_text")
_TABLES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")

SST5_SOURCE = DataSource(
    "sst5",
    "download train/dev/test.jsonl from https://huggingface.co/datasets/SetFit/sst5",
    hub_repo="SetFit/sst5",
)
TWEET_EVAL_SOURCE = DataSource(
    "tweet_eval",
    "download datasets/sentiment/ from https://github.com/cardiffnlp/tweeteval",
    hub_repo="cardiffnlp/tweet_eval",
)
FPB_SOURCE = DataSource(
    "financial_phrasebank",
    "download FinancialPhraseBank-v1.0.zip (Sentences_*.txt) from "
    "https://huggingface.co/datasets/takala/financial_phrasebank",
    hub_repo="takala/financial_phrasebank",
)


def answer_format(labels: tuple[str, ...]) -> str:
    """The answer instruction for text strategies (cot, direct, ...) on a label set."""
    return (
        f"Classify the sentiment of the text as one of: {', '.join(labels)}. "
        "End with 'Answer: <label>'."
    )


# -- rows to records ---------------------------------------------------------------------------


def _label_from(
    value: Any, labels: tuple[str, ...], where: object, mapping: dict[int, str] | None = None
) -> tuple[str, int]:
    """(label string, label id) from an integer id (through ``mapping`` if given) or a name."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        names = mapping or dict(enumerate(labels))
        if value not in names:
            raise DatasetError(f"{where}: label id {value} is not one of {sorted(names)}")
        name = names[value]
        return name, labels.index(name) if name in labels else value
    if isinstance(value, str):
        name = " ".join(value.strip().lower().replace("_", " ").split())
        if name in labels:
            return name, labels.index(name)
    raise DatasetError(f"{where}: unknown label {value!r}; expected one of {list(labels)}")


def _records(
    rows: LoadedRows,
    labels: tuple[str, ...],
    *,
    split: str,
    prefix: str,
    mapping: dict[int, str] | None = None,
) -> Iterator[EvalRecord]:
    """Rows with a text and a label column -> records ``<prefix>-<row>``."""

    def convert(row: Row) -> EvalRecord:
        label, label_id = _label_from(row.field(*LABEL_FIELDS), labels, row.where, mapping)
        return EvalRecord(
            id=f"{prefix}-{row.where.index}",
            dataset=rows.dataset,
            question=row.text(*TEXT_FIELDS).strip(),
            gold=label,
            metadata={
                "labels": list(labels),
                "label_id": label_id,
                "split": split,
                "source": rows.source,
            },
        )

    return rows.records(convert)


def _read(
    source: DataSource,
    data: Path | None,
    patterns: list[str],
    *,
    split: str,
    what: str,
    config: str | None = None,
    read_txt: Callable[[Path], list[dict[str, Any]]] | None = None,
) -> LoadedRows:
    """The hub's rows, or the ``--data`` file (a ``.txt`` in the set's own layout through
    ``read_txt``, else a table) or the first file of the folder matching ``patterns``."""
    if data is None:
        return source.hub(split=split, config=config)
    path = source.find(data, patterns, what=what)
    if read_txt is not None and path.suffix.lower() == ".txt":
        return LoadedRows(source.dataset, read_txt(path), str(path), path)
    return source.read_file(path)


def _tables(split: str) -> list[str]:
    return [f"{name}{suffix}" for name in file_split_names(split) for suffix in _TABLES]


def _no_subset(source: DataSource, subset: str | None) -> None:
    if subset is not None:
        raise DatasetError(
            f"{source.dataset} has no subsets (--subset applies to financial_phrasebank)"
        )


# -- SST-5 ----------------------------------------------------------------------------------

_LEAF = re.compile(r"\(\d+ ([^()\s][^()]*)\)")
_ROOT = re.compile(r"^\s*\((\d)\s")


def _ptb_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        root = _ROOT.match(line)
        leaves = _LEAF.findall(line)
        if root is None or not leaves:
            raise DatasetError(f"{path}:{n}: not a PTB sentiment tree like '(3 (2 It) ...)'")
        text = " ".join(leaf.strip() for leaf in leaves)
        text = text.replace("-LRB-", "(").replace("-RRB-", ")")
        rows.append({"text": text, "label": int(root.group(1))})
    return rows


def _load_sst5(*, data: Path | None, subset: str | None, split: str) -> Iterator[EvalRecord]:
    _no_subset(SST5_SOURCE, subset)
    txt = [f"{name}.txt" for name in file_split_names(split)]  # the PTB trees, trees/ or not
    rows = _read(
        SST5_SOURCE, data, _tables(split) + txt, split=split, what=f"{split} file",
        read_txt=_ptb_rows,
    )  # fmt: skip
    return _records(rows, SST5_LABELS, split=split, prefix=split)


# -- TweetEval sentiment --------------------------------------------------------------------


def _tweeteval_mapping(folder: Path) -> dict[int, str] | None:
    mapping_file = folder / "mapping.txt"
    if not mapping_file.is_file():
        return None
    mapping = {}
    for n, line in enumerate(read_text(mapping_file).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t") if "\t" in line else line.split(None, 1)
        if len(parts) != 2 or not parts[0].strip().isdigit():
            raise DatasetError(f"{mapping_file}:{n}: expected '<id><TAB><label>'")
        mapping[int(parts[0])] = parts[1].strip().lower()
    return mapping


def _tweeteval_lines(folder: Path, stem: str) -> LoadedRows:
    """cardiffnlp's line-aligned ``<stem>_text.txt`` and ``<stem>_labels.txt`` as rows."""
    text_file, label_file = folder / f"{stem}_text.txt", folder / f"{stem}_labels.txt"
    texts, labels = read_text(text_file).split("\n"), read_text(label_file).split("\n")
    # A final newline leaves one empty string at the end; anything else must line up.
    for lines in (texts, labels):
        if lines and lines[-1] == "":
            lines.pop()
    if len(texts) != len(labels):
        raise DatasetError(
            f"tweet_eval: {text_file.name} has {len(texts)} lines but {label_file.name} has "
            f"{len(labels)}"
        )
    rows = [{"text": t, "label": x.strip()} for t, x in zip(texts, labels, strict=True)]
    return LoadedRows(TWEET_EVAL_SOURCE.dataset, rows, str(label_file), label_file)


def _load_tweet_eval(*, data: Path | None, subset: str | None, split: str) -> Iterator[EvalRecord]:
    _no_subset(TWEET_EVAL_SOURCE, subset)
    stem = {"train": "train", "validation": "val", "test": "test"}[split]
    if data is not None and data.is_dir():
        for candidate in (data, data / "sentiment", data / "datasets" / "sentiment"):
            if all((candidate / f"{stem}_{kind}.txt").is_file() for kind in ("text", "labels")):
                rows = _tweeteval_lines(candidate, stem)
                mapping = _tweeteval_mapping(candidate)
                return _records(rows, SENTIMENT3_LABELS, split=split, prefix=stem, mapping=mapping)
    what = f"{stem}_text.txt/{stem}_labels.txt pair, nor any {split} table"
    rows = _read(
        TWEET_EVAL_SOURCE, data, _tables(split), split=split, what=what, config="sentiment"
    )
    return _records(rows, SENTIMENT3_LABELS, split=split, prefix=split)


# -- Financial PhraseBank -------------------------------------------------------------------


def _fpb_subset(subset: str) -> str:
    key = str(subset).strip().lower().replace("-", "_")
    if not key.startswith("sentences_") and f"sentences_{key}agree" in FPB_SUBSETS:
        key = f"sentences_{key}agree"
    if not key.startswith("sentences_") and f"sentences_{key}" in FPB_SUBSETS:
        key = f"sentences_{key}"
    if key not in FPB_SUBSETS:
        raise DatasetError(
            f"Financial PhraseBank has no subset {subset!r}: choose from {', '.join(FPB_SUBSETS)}"
        )
    return key


def _fpb_lines(path: Path) -> list[dict[str, Any]]:
    rows = []
    # split("\n"), not splitlines(): Latin-1 byte 0x85 decodes to U+0085, which splitlines()
    # would treat as a line break inside a sentence.
    for n, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        sentence, sep, label = line.rstrip().rpartition("@")
        if not sep or not sentence.strip():
            raise DatasetError(f"{path}:{n}: expected 'sentence@label'")
        rows.append({"sentence": sentence, "label": label.strip()})
    return rows


def _load_fpb(*, data: Path | None, subset: str, split: str) -> Iterator[EvalRecord]:
    wanted = FPB_SUBSETS[subset]
    rows = _read(
        FPB_SOURCE, data, [wanted, wanted.lower()], split=split, config=subset,
        what=f"{wanted} (FinancialPhraseBank-v1.0)", read_txt=_fpb_lines,
    )  # fmt: skip
    return _records(rows, SENTIMENT3_LABELS, split=split, prefix=subset)


# -- the registry ---------------------------------------------------------------------------


def _classification(labels: tuple[str, ...], what: str) -> dict[str, Any]:
    return {
        "scorers": (ClassificationScorer(labels),),
        "answer_format": answer_format(labels),
        "labels": labels,
        "description": f"{what}; classification metrics",
    }


_SPLITS = ("test", "train", "validation")
SST5: DatasetSpec = register_dataset(
    SST5_SOURCE, _load_sst5, splits=_SPLITS,
    **_classification(SST5_LABELS, "SST-5 sentiment, 5 labels (very negative .. very positive)"),
)  # fmt: skip
TWEET_EVAL: DatasetSpec = register_dataset(
    TWEET_EVAL_SOURCE, _load_tweet_eval, splits=_SPLITS,
    **_classification(SENTIMENT3_LABELS, "TweetEval sentiment (negative, neutral, positive)"),
)  # fmt: skip
FINANCIAL_PHRASEBANK: DatasetSpec = register_dataset(
    FPB_SOURCE, _load_fpb, splits=("train",), subsets=tuple(FPB_SUBSETS), subset_of=_fpb_subset,
    **_classification(
        SENTIMENT3_LABELS, "Financial PhraseBank (negative, neutral, positive)"
    ),
)  # fmt: skip


def _loader(spec: DatasetSpec) -> Callable[..., list[EvalRecord]]:
    """``load_sst5(data, split=..., subset=..., limit=...)``: the registry's load of one set."""

    def load(
        data: str | Path | None = None,
        *,
        split: str | None = None,
        subset: str | None = None,
        limit: int | None = None,
    ) -> list[EvalRecord]:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise DatasetError(f"--limit must be a positive integer, got {limit!r}")
        return spec.load(data=data, split=split, subset=subset, limit=limit)

    return load


load_sst5 = _loader(SST5)
load_tweet_eval = _loader(TWEET_EVAL)
load_financial_phrasebank = _loader(FINANCIAL_PHRASEBANK)
