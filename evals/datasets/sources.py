"""Where dataset rows come from: a local file or folder (``--data``), or the Hugging Face hub.

Loaders describe their sources (hub repository, config, file names) and get back plain rows
(``dict`` per item) in the dataset's own field layout; turning rows into
:class:`~agot.evals.records.EvalRecord` is the loader's job, through :func:`convert_rows`,
which hands it each row as a :class:`Row` that knows its file and index, so that a malformed
row is one line naming the file, the row and the field. Every failure becomes a
:class:`~agot.errors.DatasetError` that says where to get the data and which flag to pass, so
an offline machine gets one clear line, at once, instead of a network traceback after a minute
of retries.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import os
import random
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from agot.errors import ConfigError, DatasetError
from agot.evals.records import EvalRecord

T = TypeVar("T")

#: Split names people use for the same thing; loaders accept any of them.
SPLIT_ALIASES = {
    "dev": "validation",
    "val": "validation",
    "valid": "validation",
    "training": "train",
}

#: How long the reachability check of the hub waits before saying it is unreachable.
HUB_CHECK_TIMEOUT_S = 5.0
LOGIN_HINT = "for a gated set, request access and run `hf auth login`"


def canonical_split(split: str | None, default: str) -> str:
    """``dev``/``val`` -> ``validation``; None -> ``default``."""
    if split is None:
        return default
    key = split.strip().lower()
    return SPLIT_ALIASES.get(key, key)


def file_split_names(split: str) -> tuple[str, ...]:
    """The names a split goes by in file names (``validation`` is ``dev`` in most releases)."""
    return ("dev", "validation", "val", "valid") if split == "validation" else (split,)


# -- local files ------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """UTF-8 (a BOM is dropped), else ISO-8859-1 (Financial PhraseBank's files are Latin-1)."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_table(path: Path, *, dataset: str) -> list[dict[str, Any]]:
    """Rows of a .json (list, or object holding a list), .jsonl(.gz), .csv, .tsv or .parquet
    file."""
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in (".jsonl", ".jsonl.gz", ".ndjson"):
            return _read_jsonl(path, dataset)
        if suffix in (".json", ".json.gz"):
            return _rows_of(json.loads(read_text(path)), path, dataset)
        if suffix in (".csv", ".tsv"):
            delimiter = "\t" if suffix == ".tsv" else ","
            csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))
            return list(csv.DictReader(read_text(path).splitlines(), delimiter=delimiter))
        if suffix == ".parquet":
            return _read_parquet(path, dataset)
    except OSError as exc:
        raise DatasetError(f"{dataset}: cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{dataset}: {path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise DatasetError(f"{dataset}: {path} is nested too deeply to hold dataset rows") from None
    except csv.Error as exc:
        raise DatasetError(f"{dataset}: {path} is not a readable CSV file ({exc})") from None
    raise DatasetError(
        f"{dataset}: don't know how to read {path.name!r}; pass a .json, .jsonl, .csv, .tsv or "
        ".parquet file (or a folder holding the dataset's files) with --data"
    )


#: Largest CSV field read (the csv module's default, 128 KiB, refuses long passages).
MAX_CSV_FIELD = 1 << 24


def read_csv_text(text: str, *, where: str = "the CSV text") -> list[dict[str, Any]]:
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))
    try:
        return list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise DatasetError(f"{where} is not a readable CSV file ({exc})") from None


def read_zip_member(
    archive: Path, member_suffix: str, *, dataset: str, password: str | None = None
) -> str:
    """The text of the one member of ``archive`` whose name ends with ``member_suffix``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.endswith(member_suffix)]
            if not names:
                raise DatasetError(
                    f"{dataset}: {archive} holds no file ending in {member_suffix!r}"
                )
            try:
                raw = zf.read(
                    sorted(names, key=len)[0], pwd=password.encode() if password else None
                )
            except RuntimeError as exc:  # encrypted member, wrong or missing password
                raise DatasetError(
                    f"{dataset}: {archive} is password-protected ({exc}); set the password from "
                    "the dataset's README in AGOT_DATASET_PASSWORD, or unzip it and pass the "
                    "folder with --data"
                ) from None
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{dataset}: {archive} is not a zip file ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{dataset}: {archive}'s {member_suffix} is not UTF-8 text (byte {exc.start}); "
            "re-save it as UTF-8, or unzip it and pass the folder with --data"
        ) from None


def _read_jsonl(path: Path, dataset: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{dataset}: {path} line {number} is not a JSON object ({exc.msg})"
            ) from None
    return rows


def _rows_of(data: Any, path: Path, dataset: str) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("data", "rows", "examples", "questions"):
            if isinstance(data.get(key), list):
                return data[key]
    raise DatasetError(f"{dataset}: {path} holds no list of items (a JSON array was expected)")


def _read_parquet(path: Path, dataset: str) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            f"{dataset}: reading {path.name} needs pyarrow (pip install 'agot[evals]')"
        ) from None
    try:
        table = pq.read_table(path)
    except OSError:
        raise
    except Exception as exc:  # pyarrow's ArrowInvalid and kin: not a Parquet file
        raise DatasetError(f"{dataset}: {path} is not a readable Parquet file ({exc})") from None
    return [_plain(row) for row in table.to_pylist()]


def _plain(value: Any) -> Any:
    """numpy arrays and scalars -> lists and Python scalars."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def find_file(
    folder: Path, patterns: Sequence[str], *, dataset: str, what: str = "data file"
) -> Path:
    """The first file under ``folder`` (searched recursively) matching a pattern, in order."""
    for pattern in patterns:
        hits = sorted(p for p in folder.rglob(pattern) if p.is_file())
        if hits:
            return min(hits, key=lambda p: len(p.parts))
    listing = ", ".join(sorted(p.name for p in folder.iterdir())[:12]) or "nothing"
    raise DatasetError(
        f"{dataset}: no {what} matching {' or '.join(patterns)} in {folder} (it holds {listing}); "
        "pass the file itself with --data"
    )


def local_path(data: str | os.PathLike[str], *, dataset: str) -> Path:
    path = Path(os.path.expanduser(os.fspath(data)))
    if not path.exists():
        raise DatasetError(f"{dataset}: --data path {str(path)!r} does not exist")
    return path


# -- rows to records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowRef:
    """Where a row came from, for error messages: ``musique: dev.jsonl row 3``."""

    dataset: str
    source: str
    index: int

    def __str__(self) -> str:
        return f"{self.dataset}: {self.source} row {self.index}"


class Row(Mapping[str, Any]):
    """One item of a dataset's rows, read as a mapping, that knows where it came from.

    The lookups that may fail (:meth:`field`, :meth:`text`, :meth:`id`) raise a one-line
    DatasetError naming the file, the row and the field; ``row.get(name)`` is the plain
    optional lookup of a mapping.
    """

    __slots__ = ("_data", "where")

    def __init__(self, data: Mapping[str, Any], where: RowRef) -> None:
        self._data = data
        self.where = where

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def field(self, *names: str, default: Any = ...) -> Any:
        """The value of the first of ``names`` present (and not None).

        Without a ``default``, a row that has none of them is a DatasetError naming the file,
        the row and the field(s), e.g. ``'id' (or '_id')``.
        """
        for name in names:
            value = self._data.get(name)
            if value is not None:
                return value
        if default is not ...:
            return default
        wanted = repr(names[0])
        if len(names) > 1:
            wanted += " (or " + ", ".join(repr(n) for n in names[1:]) + ")"
        raise DatasetError(f"{self.where}: missing field {wanted}")

    def text(self, *names: str) -> str:
        """:meth:`field` for text the model reads (a question): a non-empty string. A number
        where a question belongs means a wrong column or a wrong file, which ``str()`` would
        hide."""
        value = self.field(*names)
        if not isinstance(value, str):
            raise DatasetError(
                f"{self.where}: field {names[0]!r} must be text, got {type(value).__name__}"
            )
        if not value.strip():
            raise DatasetError(f"{self.where}: field {names[0]!r} is empty")
        return value

    def id(self) -> str:
        """The row's id under ``id`` or ``_id`` (public copies of the same set differ)."""
        return str(self.field("id", "_id"))


#: How a loader turns one row into its record(s).
Convert = Callable[[Row], EvalRecord | Iterable[EvalRecord]]


def convert_rows(
    rows: Iterable[Any],
    convert: Convert,
    *,
    dataset: str,
    source: str,
) -> Iterator[EvalRecord]:
    """``convert`` over ``rows``, each given as a :class:`Row`; any malformed row becomes one
    DatasetError line naming the file, the row index and what is wrong with it."""
    for index, data in enumerate(rows):
        where = RowRef(dataset, _short(source), index)
        if not isinstance(data, Mapping):
            raise DatasetError(f"{where}: expected an object, got {type(data).__name__}")
        try:
            converted = convert(Row(data, where))
        except DatasetError:
            raise
        except KeyError as exc:
            raise DatasetError(f"{where}: missing field {exc.args[0]!r}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ".".join(str(p) for p in first.get("loc", ())) or "?"
            raise DatasetError(f"{where}: field {name!r}: {first.get('msg')}") from None
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise DatasetError(f"{where}: malformed row ({type(exc).__name__}: {exc})") from None
        if isinstance(converted, EvalRecord):
            yield converted
        else:
            yield from converted


def _short(source: str) -> str:
    return source if source.startswith("hub:") else os.path.basename(source) or source


# -- the Hugging Face hub ---------------------------------------------------------------------


def hub_offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def hub_unreachable() -> str | None:
    """None when the hub answers one request (any HTTP status); else why it did not.

    One request with a short timeout, so an offline machine is told at once; ``datasets``
    itself would retry each connection error for about half a minute first.
    """
    try:
        from huggingface_hub import get_session

        get_session().head(hub_endpoint(), timeout=HUB_CHECK_TIMEOUT_S)
    except ImportError:
        return None  # let `datasets` report it
    except Exception as exc:  # any transport failure means "unreachable from here"
        text = " ".join(str(exc).split())[:120]
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return None


def hub_rows(
    repo: str,
    config: str | None,
    split: str,
    data_files: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Rows of one split from the hub (or the local Hugging Face cache) via ``datasets``: the
    only network access of the loaders."""
    import datasets

    kwargs: dict[str, Any] = {"split": split}
    if data_files is not None:
        kwargs["data_files"] = {split: data_files}
    try:
        loaded = datasets.load_dataset(repo, config, **kwargs)
    except Exception as exc:
        # Repositories that still ship a loading script (financial_phrasebank) are served as
        # parquet by the hub's converter; datasets >= 4 no longer runs scripts.
        if "script" not in str(exc).lower():
            raise
        loaded = datasets.load_dataset(repo, config, revision="refs/convert/parquet", **kwargs)
    return [dict(row) for row in loaded]


def load_hub(
    repo: str,
    *,
    dataset: str,
    split: str,
    config: str | None = None,
    data_files: str | Sequence[str] | None = None,
    how_to_get: str,
) -> list[dict[str, Any]]:
    """Rows of ``repo`` from the Hugging Face hub (or its local cache).

    Fails at once, with ``how_to_get``, ``--data`` and the login command in the message, when
    ``datasets`` is missing, the hub is unreachable (checked with one request before
    ``datasets`` starts retrying), or the load fails (gated, offline with nothing cached,
    missing config). With ``HF_HUB_OFFLINE`` set only the local cache is read.
    """
    if importlib.util.find_spec("datasets") is None:  # checked without importing it
        raise DatasetError(
            f"{dataset}: reading the Hugging Face hub needs the `datasets` package (pip install "
            f"'agot[evals]'), or {how_to_get} and pass it with --data PATH"
        )
    where = f"{repo}{f' ({config})' if config else ''} split {split!r}"
    if not hub_offline():
        reason = hub_unreachable()
        if reason is not None:
            raise DatasetError(
                f"{dataset}: the Hugging Face hub ({hub_endpoint()}) is unreachable ({reason}): "
                f"{how_to_get} and pass it with --data PATH ({LOGIN_HINT}; HF_HUB_OFFLINE=1 "
                "reads a copy already in the Hugging Face cache)"
            )
    try:
        return hub_rows(repo, config, split, data_files)
    except Exception as exc:  # offline, gated, missing config: all mean "use --data"
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DatasetError(
            f"{dataset}: could not load {where} from the Hugging Face hub ({reason}); "
            f"{how_to_get} and pass it with --data PATH ({LOGIN_HINT})"
        ) from None


# -- one dataset's rows: the --data file or folder, else the hub ---------------------------------


@dataclass(frozen=True)
class LoadedRows:
    """A dataset's rows and where they came from, ready for :func:`convert_rows`."""

    dataset: str
    rows: list[dict[str, Any]]
    #: ``hub:<repo>`` or the file read: what error messages name.
    source: str
    #: The local file read; None for rows from the hub.
    path: Path | None = None

    def records(self, convert: Convert) -> Iterator[EvalRecord]:
        return convert_rows(self.rows, convert, dataset=self.dataset, source=self.source)


@dataclass(frozen=True)
class DataSource:
    """Where one dataset's rows live: the file or folder given with ``--data``, else its
    Hugging Face repository (``hub_repo``; None for sets that are not on the hub).

    Loaders differ only in the file names they look for and how a row becomes a record; the
    choice between ``--data`` and the hub, and every error on the way, is the same for all.
    """

    dataset: str
    how_to_get: str
    hub_repo: str | None = None

    def find(
        self, data: str | os.PathLike[str], patterns: Sequence[str], *, what: str = "data file"
    ) -> Path:
        """The ``--data`` file itself, or the first file in the ``--data`` folder matching one
        of ``patterns`` (see :func:`find_file`)."""
        path = local_path(data, dataset=self.dataset)
        return find_file(path, patterns, dataset=self.dataset, what=what) if path.is_dir() else path

    def read_file(self, path: Path) -> LoadedRows:
        return LoadedRows(self.dataset, read_table(path, dataset=self.dataset), str(path), path)

    def read(
        self,
        data: str | os.PathLike[str] | None,
        patterns: Sequence[str],
        *,
        split: str = "validation",
        config: str | None = None,
        data_files: str | Sequence[str] | None = None,
        what: str = "data file",
    ) -> LoadedRows:
        """The rows of ``data`` (see :meth:`find`), or with ``data`` None of the hub (see
        :meth:`hub`)."""
        if data is not None:
            return self.read_file(self.find(data, patterns, what=what))
        return self.hub(split=split, config=config, data_files=data_files)

    def hub(
        self,
        *,
        split: str,
        config: str | None = None,
        data_files: str | Sequence[str] | None = None,
    ) -> LoadedRows:
        """The rows of the hub repository's ``split`` (``config`` and ``data_files`` pick the
        part of the repository), through :func:`load_hub`."""
        if self.hub_repo is None:
            raise DatasetError(
                f"{self.dataset} is not on the Hugging Face hub: {self.how_to_get} and pass it "
                "with --data PATH"
            )
        rows = load_hub(
            self.hub_repo,
            dataset=self.dataset,
            split=split,
            config=config,
            data_files=data_files,
            how_to_get=self.how_to_get,
        )
        return LoadedRows(self.dataset, rows, f"hub:{self.hub_repo}")


# -- sampling ---------------------------------------------------------------------------------


def sample_records(items: Sequence[T], limit: int | None, seed: int | None) -> list[T]:
    """``limit`` items drawn without replacement with ``random.Random(seed)``, in input order.

    Keeping input order makes the sample's results read like the dataset's; all items come
    back when ``limit`` is None or not smaller than the input. A preset's sample and
    ``agot eval --sample`` both draw through here, so they pick the same items.
    """
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 0:
        raise ConfigError(f"sample size must be >= 0, got {limit}")
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]
