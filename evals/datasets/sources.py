"""Where dataset rows come from: a local file or folder (``--data``), or the Hugging Face hub.

Loaders describe their sources (hub repository, config, file names) and get back plain rows
(``dict`` per item) in the dataset's own field layout; turning rows into
:class:`~agot.evals.records.EvalRecord` is the loader's job. Every failure becomes a
:class:`~agot.errors.DatasetError` that says where to get the data and which flag to pass, so
an offline machine gets one clear line instead of a network traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from agot.errors import DatasetError

#: Split names people use for the same thing; loaders accept any of them.
SPLIT_ALIASES = {"dev": "validation", "val": "validation", "valid": "validation"}


def canonical_split(split: str | None, default: str) -> str:
    """``dev``/``val`` -> ``validation``; None -> ``default``."""
    if split is None:
        return default
    key = split.strip().lower()
    return SPLIT_ALIASES.get(key, key)


def file_split_names(split: str) -> tuple[str, ...]:
    """The names a split goes by in file names (``validation`` is ``dev`` in most releases)."""
    return ("dev", "validation", "val") if split == "validation" else (split,)


def read_rows(path: Path, *, dataset: str) -> list[dict[str, Any]]:
    """Rows of a .json (list, or object holding a list), .jsonl, .csv or .parquet file."""
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in (".jsonl", ".jsonl.gz", ".ndjson"):
            return _read_jsonl(path)
        if suffix == ".json":
            return _rows_of(json.loads(path.read_text(encoding="utf-8")), path, dataset)
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))
        if suffix == ".parquet":
            return _read_parquet(path, dataset)
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{dataset}: cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{dataset}: {path} is not valid JSON ({exc})") from None
    raise DatasetError(
        f"{dataset}: don't know how to read {path.name!r}; pass a .json, .jsonl, .csv or "
        ".parquet file (or a folder holding the dataset's files) with --data"
    )


def read_csv_text(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text)))


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
    return raw.decode("utf-8")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    import gzip

    opener: Any = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
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
        import pandas as pd
    except ImportError:
        raise DatasetError(
            f"{dataset}: reading {path.name} needs pandas and pyarrow (pip install 'agot[evals]')"
        ) from None
    frame = pd.read_parquet(path)
    return [_plain(row) for row in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    """numpy arrays and scalars from parquet -> lists and Python scalars."""
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
    path = Path(data).expanduser()
    if not path.exists():
        raise DatasetError(f"{dataset}: --data {str(data)!r} does not exist")
    return path


def load_hub(
    repo: str,
    *,
    dataset: str,
    split: str,
    config: str | None = None,
    data_files: str | Sequence[str] | None = None,
    how_to_get: str,
) -> list[dict[str, Any]]:
    """Rows of ``repo`` from the Hugging Face hub (or its local cache) via ``datasets``.

    Fails with a DatasetError naming ``how_to_get`` and ``--data`` when ``datasets`` is
    missing, the machine is offline with nothing cached, or the set is gated.
    """
    try:
        import datasets as hf
    except ImportError:
        raise DatasetError(
            f"{dataset}: the Hugging Face `datasets` package is not installed (pip install "
            f"'agot[evals]'), or {how_to_get} and pass it with --data PATH"
        ) from None
    kwargs: dict[str, Any] = {"split": split}
    if data_files is not None:
        kwargs["data_files"] = {split: data_files}
    try:
        loaded = hf.load_dataset(repo, config, **kwargs)
    except Exception as exc:  # offline, gated, missing config: all mean "use --data"
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DatasetError(
            f"{dataset}: could not load {repo}"
            f"{f' ({config})' if config else ''} split {split!r} from the Hugging Face hub "
            f"({reason}); {how_to_get} and pass it with --data PATH"
        ) from None
    return [dict(row) for row in _iter(loaded)]


def _iter(loaded: Any) -> Iterable[dict[str, Any]]:
    yield from loaded


def hub_offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )
