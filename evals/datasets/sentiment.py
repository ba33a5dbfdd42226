"""Sentiment datasets of the Kairanban paper: SST-5, TweetEval sentiment, Financial PhraseBank.

Each loader reads either the Hugging Face hub (through ``datasets``; nothing is fetched when
``data`` is given) or local files in the dataset's own layouts, and returns
:class:`~agot.evals.records.EvalRecord` objects with ``question`` = the text and ``gold`` = the
label *string* (``metadata["labels"]`` holds the label set in order, ``metadata["label_id"]``
the dataset's integer label).

Layouts read from ``data`` (a file or a folder):

* **SST-5** (labels ``very negative, negative, neutral, positive, very positive`` = 0..4):
  the SetFit files ``train.jsonl`` / ``dev.jsonl`` / ``test.jsonl`` (``{"text", "label",
  "label_text"}``), the same columns as ``.csv`` / ``.parquet``, or the original Stanford PTB
  trees (``trees/train.txt``, ``dev.txt``, ``test.txt``: one ``(3 (2 It) ...)`` tree per line;
  the root's number is the sentence label, the leaves are the text).
* **TweetEval sentiment** (``negative, neutral, positive`` = 0, 1, 2): the cardiffnlp/tweeteval
  folder ``datasets/sentiment/`` with ``{train,val,test}_text.txt`` and
  ``{split}_labels.txt`` (one tweet / one integer per line) and optional ``mapping.txt``
  (``0<TAB>negative``); or ``.jsonl`` / ``.csv`` / ``.parquet`` with ``text, label``.
* **Financial PhraseBank** (``negative, neutral, positive``; the hub's integers 0, 1, 2): the
  authors' ``FinancialPhraseBank-v1.0/Sentences_{AllAgree,75Agree,66Agree,50Agree}.txt``, one
  ``sentence@label`` per line in ISO-8859-1; or ``.jsonl`` / ``.csv`` / ``.parquet`` with
  ``sentence, label``. The data set has no official split: everything is ``train``.

Ids: these data sets carry none, so an item's id is its position: ``<split>-<row>`` (0-based,
file order), or ``<subset>-<row>`` for Financial PhraseBank.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agot.errors import DatasetError
from agot.evals.datasets.sources import load_hub, local_path, read_table, read_text
from agot.evals.records import EvalRecord

SST5_LABELS = ("very negative", "negative", "neutral", "positive", "very positive")
SENTIMENT3_LABELS = ("negative", "neutral", "positive")

_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "dev": "validation",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
}

FPB_SUBSETS = {
    "sentences_allagree": "Sentences_AllAgree.txt",
    "sentences_75agree": "Sentences_75Agree.txt",
    "sentences_66agree": "Sentences_66Agree.txt",
    "sentences_50agree": "Sentences_50Agree.txt",
}


@dataclass(frozen=True, kw_only=True)
class SentimentDataset:
    """One sentiment data set: what the registry shows, and how to read it.

    :meth:`load` is the one loading path of all three; they differ only in their columns, the
    layouts of their own files (``read_local``) and whether they have subsets.
    """

    name: str
    title: str
    labels: tuple[str, ...]
    hub_id: str
    #: The hub configuration of the rows; a set with subsets reads its subset's instead.
    hub_config: str | None = None
    #: The first split listed is the default, as in the registry's specs.
    splits: tuple[str, ...]
    where: str  # where to get the files (for error messages)
    #: Column names of the text and the label in table files, in the order they are tried.
    text_fields: tuple[str, ...]
    label_fields: tuple[str, ...]
    #: Reads a ``--data`` file or folder in the data set's own layouts.
    read_local: Callable[[Path, _Request], Iterator[EvalRecord]]
    #: A subset name or alias -> the canonical subset; None for a set without subsets.
    subset_of: Callable[[str | None], str] | None = None
    default_subset: str | None = None

    @property
    def default_split(self) -> str:
        return self.splits[0]

    def load(
        self,
        data: str | os.PathLike[str] | None = None,
        *,
        split: str | None = None,
        subset: str | None = None,
        limit: int | None = None,
    ) -> Iterator[EvalRecord]:
        """Check the subset, split and limit, then read the hub's rows (no ``data``) or the
        data set's own files in ``data``.

        Records are built before this returns, so a bad file fails at the call, not mid-run.
        """
        key = self._subset(subset)
        split = _split(split or self.default_split, self.splits, self.title)
        request = _Request(self, split, _limit(limit), key)
        if data is not None:
            return self.read_local(local_path(data, dataset=self.title), request)
        rows = load_hub(
            self.hub_id,
            dataset=self.title,
            config=key or self.hub_config,
            split=split,
            how_to_get=f"download the files from {self.where}",
        )
        return request.records(rows, f"hub:{self.hub_id}" + (f"/{key}" if key else ""))

    def _subset(self, subset: str | None) -> str | None:
        """The canonical subset (the default one for None); None for a set without subsets."""
        if self.subset_of is None:
            if subset is not None:
                raise DatasetError(
                    f"{self.title} has no subsets (--subset applies to financial_phrasebank)"
                )
            return None
        return self.subset_of(self.default_subset if subset is None else subset)


@dataclass(frozen=True)
class _Request:
    """One checked load request: the data set, its split, how many items, and the subset."""

    spec: SentimentDataset
    split: str
    limit: int | None
    #: Financial PhraseBank's agreement level: it names the hub config, the ids and the source.
    subset: str | None = None

    def records(self, rows: list[dict[str, Any]], source: str) -> Iterator[EvalRecord]:
        """Table rows (the data set's text and label columns) -> records ``<prefix>-<row>``."""
        return _rows_to_records(
            rows,
            dataset=self.spec.name,
            labels=self.spec.labels,
            text_fields=self.spec.text_fields,
            label_fields=self.spec.label_fields,
            split=self.split,
            id_prefix=self.subset or self.split,
            source=source,
            limit=self.limit,
        )

    def read_file(
        self, path: Path, read_txt: Callable[[Path], list[dict[str, Any]]]
    ) -> Iterator[EvalRecord]:
        """A ``.txt`` file in the data set's own layout (read by ``read_txt``), else a table."""
        if path.suffix.lower() == ".txt":
            rows = read_txt(path)
        else:
            rows = read_table(path, dataset=self.spec.title)
        return self.records(rows, str(path))


# -- shared helpers -------------------------------------------------------------------------


def _split(split: str, allowed: tuple[str, ...], title: str) -> str:
    canon = _SPLIT_ALIASES.get(str(split).strip().lower())
    if canon is None or canon not in allowed:
        raise DatasetError(f"{title} has no split {split!r}: choose from {', '.join(allowed)}")
    return canon


def _limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise DatasetError(f"--limit must be a positive integer, got {limit!r}")
    return limit


def _label_from(
    value: Any, labels: tuple[str, ...], where: str, mapping: dict[int, str] | None = None
) -> tuple[str, int]:
    """(label string, label id) from an integer id or a label name."""
    if isinstance(value, bool):
        value = int(value)
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


def _record(
    dataset: str,
    rid: str,
    text: Any,
    label: str,
    label_id: int,
    labels: tuple[str, ...],
    split: str,
    source: str,
) -> EvalRecord:
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{dataset} item {rid} ({source}) has no text")
    return EvalRecord(
        id=rid,
        dataset=dataset,
        question=text.strip(),
        gold=label,
        metadata={"labels": list(labels), "label_id": label_id, "split": split, "source": source},
    )


def _rows_to_records(
    rows: list[dict[str, Any]],
    *,
    dataset: str,
    labels: tuple[str, ...],
    text_fields: tuple[str, ...],
    label_fields: tuple[str, ...],
    split: str,
    id_prefix: str,
    source: str,
    limit: int | None,
) -> Iterator[EvalRecord]:
    out: list[EvalRecord] = []
    for n, row in enumerate(rows):
        if limit is not None and len(out) >= limit:
            break
        where = f"{source} row {n}"
        text = next((row[f] for f in text_fields if f in row), None)
        raw_label = next(
            (row[f] for f in label_fields if f in row and row[f] not in (None, "")), None
        )
        if text is None or raw_label is None:
            raise DatasetError(
                f"{where}: expected a text column ({' or '.join(text_fields)}) and a label "
                f"column ({' or '.join(label_fields)}), found {sorted(row)}"
            )
        label, label_id = _label_from(raw_label, labels, where)
        out.append(
            _record(dataset, f"{id_prefix}-{n}", text, label, label_id, labels, split, source)
        )
    return iter(out)


def _find_split_file(
    folder: Path, names: tuple[str, ...], suffixes: tuple[str, ...]
) -> Path | None:
    for sub in ("", "data"):
        for name in names:
            for suffix in suffixes:
                candidate = folder / sub / f"{name}{suffix}"
                if candidate.is_file():
                    return candidate
    return None


_FILE_NAMES = {
    "train": ("train",),
    "validation": ("dev", "validation", "val", "valid"),
    "test": ("test",),
}
_TABLE_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")


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


def _read_sst5_files(path: Path, request: _Request) -> Iterator[EvalRecord]:
    """The SetFit tables or the Stanford PTB trees: a file, or the split's file in a folder."""
    if path.is_dir():
        names = _FILE_NAMES[request.split]
        found = _find_split_file(path, names, _TABLE_SUFFIXES)
        if found is None:
            found = _find_split_file(path / "trees", names, (".txt",))
            found = found or _find_split_file(path, names, (".txt",))
        if found is None:
            raise DatasetError(
                f"{request.spec.title}: no {request.split} file in {path} (expected "
                f"{'/'.join(names)}.jsonl, or trees/{names[0]}.txt)"
            )
        path = found
    return request.read_file(path, _ptb_rows)


# -- TweetEval sentiment --------------------------------------------------------------------


def _tweeteval_folder(path: Path) -> Path:
    for candidate in (path, path / "sentiment", path / "datasets" / "sentiment"):
        if any(candidate.glob("*_text.txt")):
            return candidate
    return path


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


def _read_tweeteval_files(path: Path, request: _Request) -> Iterator[EvalRecord]:
    """A table file, the cardiffnlp folder (line-aligned text and label files), or a folder
    holding the split's table."""
    spec, canon, lim = request.spec, request.split, request.limit
    if path.is_file():
        return request.records(read_table(path, dataset=spec.title), str(path))
    folder = _tweeteval_folder(path)
    stem = {"train": "train", "validation": "val", "test": "test"}[canon]
    text_file, label_file = folder / f"{stem}_text.txt", folder / f"{stem}_labels.txt"
    if not text_file.is_file() or not label_file.is_file():
        table = _find_split_file(path, _FILE_NAMES[canon], _TABLE_SUFFIXES)
        if table is not None:
            return request.records(read_table(table, dataset=spec.title), str(table))
        raise DatasetError(
            f"{spec.title}: {folder} has no {stem}_text.txt and {stem}_labels.txt "
            f"(the layout of {spec.where})"
        )
    texts = read_text(text_file).split("\n")
    labels_raw = read_text(label_file).split("\n")
    # A final newline leaves one empty string at the end; anything else must line up.
    if texts and texts[-1] == "":
        texts.pop()
    if labels_raw and labels_raw[-1] == "":
        labels_raw.pop()
    if len(texts) != len(labels_raw):
        raise DatasetError(
            f"{spec.title}: {text_file.name} has {len(texts)} lines but {label_file.name} has "
            f"{len(labels_raw)}"
        )
    mapping = _tweeteval_mapping(folder)
    out: list[EvalRecord] = []
    for n, (text, raw) in enumerate(zip(texts, labels_raw, strict=True)):
        if lim is not None and len(out) >= lim:
            break
        where = f"{label_file}:{n + 1}"
        label, label_id = _label_from(raw.strip(), spec.labels, where, mapping)
        out.append(
            _record(
                spec.name, f"{stem}-{n}", text, label, label_id, spec.labels, canon, str(folder)
            )
        )
    return iter(out)


# -- Financial PhraseBank -------------------------------------------------------------------


def _fpb_subset(subset: str | None) -> str:
    key = str(subset).strip().lower().replace("-", "_")
    aliases = {
        "all": "sentences_allagree",
        "allagree": "sentences_allagree",
        "75": "sentences_75agree",
        "66": "sentences_66agree",
        "50": "sentences_50agree",
    }
    key = aliases.get(key, key)
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


def _read_fpb_files(path: Path, request: _Request) -> Iterator[EvalRecord]:
    """The authors' ``Sentences_*.txt`` (a file, or the subset's file in a folder), or a table."""
    assert request.subset is not None  # Financial PhraseBank always has one
    if path.is_dir():
        wanted = FPB_SUBSETS[request.subset]
        found = [
            p for p in sorted(path.rglob("*")) if p.is_file() and p.name.lower() == wanted.lower()
        ]
        if not found:
            raise DatasetError(
                f"{request.spec.title}: no {wanted} under {path} (the files of "
                f"FinancialPhraseBank-v1.0, from {request.spec.where})"
            )
        path = found[0]
    return request.read_file(path, _fpb_lines)


SST5 = SentimentDataset(
    name="sst5",
    title="SST-5",
    labels=SST5_LABELS,
    hub_id="SetFit/sst5",
    splits=("test", "train", "validation"),
    where="https://huggingface.co/datasets/SetFit/sst5 (train/dev/test.jsonl)",
    text_fields=("text", "sentence"),
    label_fields=("label", "label_text"),
    read_local=_read_sst5_files,
)
TWEET_EVAL = SentimentDataset(
    name="tweet_eval",
    title="TweetEval sentiment",
    labels=SENTIMENT3_LABELS,
    hub_id="cardiffnlp/tweet_eval",
    hub_config="sentiment",
    splits=("test", "train", "validation"),
    where="https://github.com/cardiffnlp/tweeteval (datasets/sentiment/)",
    text_fields=("text", "tweet"),
    label_fields=("label",),
    read_local=_read_tweeteval_files,
)
FINANCIAL_PHRASEBANK = SentimentDataset(
    name="financial_phrasebank",
    title="Financial PhraseBank",
    labels=SENTIMENT3_LABELS,
    hub_id="takala/financial_phrasebank",
    splits=("train",),
    where="https://huggingface.co/datasets/takala/financial_phrasebank "
    "(FinancialPhraseBank-v1.0.zip, Sentences_*.txt)",
    text_fields=("sentence", "text"),
    label_fields=("label",),
    read_local=_read_fpb_files,
    subset_of=_fpb_subset,
    default_subset="sentences_allagree",
)

#: One loader per data set, by name (each is the data set's :meth:`SentimentDataset.load`).
load_sst5 = SST5.load
load_tweet_eval = TWEET_EVAL.load
load_financial_phrasebank = FINANCIAL_PHRASEBANK.load

# -- the eval registry ------------------------------------------------------------------------


def answer_format(labels: tuple[str, ...]) -> str:
    """The answer instruction for text strategies (cot, direct, ...) on a label set."""
    return (
        f"Classify the sentiment of the text as one of: {', '.join(labels)}. "
        "End with 'Answer: <label>'."
    )


def _register(spec: SentimentDataset, description: str, **extra: Any) -> None:
    from agot.evals.classification import ClassificationScorer
    from agot.evals.datasets import register_dataset

    def load(*, data: Path | None, subset: str | None, split: str | None) -> Iterator[EvalRecord]:
        return spec.load(data, split=split, subset=subset)

    register_dataset(
        spec.name,
        load,
        scorers=(ClassificationScorer(spec.labels),),
        splits=spec.splits,
        answer_format=answer_format(spec.labels),
        description=description,
        how_to_get=spec.where,
        labels=spec.labels,
        **extra,
    )


_register(
    SST5,
    "SST-5 sentiment, 5 labels (very negative .. very positive); classification metrics",
)
_register(
    TWEET_EVAL,
    "TweetEval sentiment (negative, neutral, positive); classification metrics",
)
_register(
    FINANCIAL_PHRASEBANK,
    "Financial PhraseBank (negative, neutral, positive); classification metrics",
    subsets=tuple(FPB_SUBSETS),
    default_subset=FINANCIAL_PHRASEBANK.default_subset,
    subset_of=_fpb_subset,
)
