"""HybridQA (Chen et al., 2020): questions over a Wikipedia table plus the passages its cells
link to. The table is rendered as text (a pipe table) followed by the linked passages.

Official layout: question files ``released_data/dev.json`` (a JSON array of ``{question_id,
question, table_id, answer-text, answer-node, question_postag}``) and, from the
WikiTables-WithLinks release, ``tables_tok/<table_id>.json`` (``{url, title, header: [[text,
links]], data: [[[text, links], ...], ...], section_title, section_text, intro}``) and
``request_tok/<table_id>.json`` (link -> passage text). Pass a folder holding both (any depth)
with ``--data``. The Hugging Face layout (``table`` embedded per row: ``{header: [str], data:
[{value, urls: [{url, summary}]}], ...}``, cells row-major, and ``answer_text``) is read too.

Scoring is HybridQA's own ``evaluate_script.py`` (SQuAD's EM/F1 rule, not HotpotQA's):
:mod:`agot.evals.scorers.squad`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from agot.errors import DatasetError
from agot.evals.datasets import register_dataset
from agot.evals.datasets.sources import DataSource, Row, file_split_names
from agot.evals.records import EvalRecord

HOW_TO_GET = (
    "download released_data/dev.json from github.com/wenhuchen/HybridQA and the tables_tok/ and "
    "request_tok/ folders from github.com/wenhuchen/WikiTables-WithLinks into one folder"
)
SOURCE = DataSource("hybridqa", HOW_TO_GET, hub_repo="wenhu/hybrid_qa")
ANSWER_FORMAT = "Answer with the shortest phrase that answers the question, not a sentence."


class Table:
    """A table with linked passages, from either layout."""

    def __init__(
        self,
        title: str,
        section: str,
        header: list[str],
        rows: list[list[str]],
        passages: dict[str, str],
    ) -> None:
        self.title, self.section, self.header, self.rows = title, section, header, rows
        self.passages = passages

    @classmethod
    def from_official(cls, table: dict[str, Any], requests: dict[str, str]) -> Table:
        header = [_cell_text(h) for h in table.get("header", [])]
        rows: list[list[str]] = []
        links: list[str] = []
        for row in table.get("data", []):
            rows.append([_cell_text(c) for c in row])
            for cell in row:
                links.extend(cell[1] if isinstance(cell, list) and len(cell) > 1 else [])
        passages = {link: requests[link] for link in dict.fromkeys(links) if link in requests}
        return cls(table.get("title", ""), table.get("section_title", ""), header, rows, passages)

    @classmethod
    def from_hub(cls, table: dict[str, Any]) -> Table:
        header = [str(h) for h in table.get("header") or table.get("headers") or []]
        cells = table.get("data") or []
        width = max(len(header), 1)
        values = [str(c.get("value", "")) for c in cells]
        rows = [values[i : i + width] for i in range(0, len(values), width)]
        passages: dict[str, str] = {}
        for cell in cells:
            for link in cell.get("urls") or []:
                passages.setdefault(str(link.get("url")), str(link.get("summary", "")))
        return cls(table.get("title", ""), table.get("section_title", ""), header, rows, passages)

    def render(self) -> str:
        title = self.title + (f" ({self.section})" if self.section else "")
        lines = [f"Table: {title}".rstrip(), _pipe_row(self.header)]
        lines += [_pipe_row(row) for row in self.rows]
        if self.passages:
            lines += ["", "Linked passages:"]
            lines += [f"- {_link_title(k)}: {v.strip()}" for k, v in self.passages.items()]
        return "\n".join(lines)


def _cell_text(cell: Any) -> str:
    return str(cell[0] if isinstance(cell, list) else cell)


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "/").strip() for c in cells) + " |"


def _link_title(link: str) -> str:
    return unquote(link.rsplit("/", 1)[-1]).replace("_", " ")


def row_to_record(row: Row, table: Table) -> EvalRecord:
    return EvalRecord(
        id=str(row.field("question_id", "id")),
        dataset=SOURCE.dataset,
        question=row.text("question"),
        gold=str(row.field("answer-text", "answer_text")),
        context=table.render(),
        metadata={
            "table_id": row.get("table_id"),
            "answer_node": row.get("answer-node"),
            "where": row.get("where"),
        },
    )


def load(*, data: Path | None, split: str) -> Iterator[EvalRecord]:
    patterns = [f"{n}.json" for n in file_split_names(split)]
    patterns += [f"{n}.traced.json" for n in file_split_names(split)]
    rows = SOURCE.read(data, patterns, split=split, what="question file")
    if data is None:
        yield from rows.records(lambda row: row_to_record(row, Table.from_hub(row["table"])))
        return
    root = data if data.is_dir() else data.parent
    dirs: list[tuple[Path, Path | None]] = []

    def convert(row: Row) -> EvalRecord:
        if isinstance(row.get("table"), dict):
            return row_to_record(row, Table.from_hub(row["table"]))
        if not dirs:
            dirs.append(_table_dirs(root))
        tables_dir, requests_dir = dirs[0]
        table_id = str(row.field("table_id"))
        table = _read_json(tables_dir / f"{table_id}.json")
        requests = _read_json(requests_dir / f"{table_id}.json") if requests_dir else {}
        return row_to_record(row, Table.from_official(table, requests))

    yield from rows.records(convert)


def _table_dirs(root: Path) -> tuple[Path, Path | None]:
    # Inside the --data folder at any depth, else beside it (the two repos cloned side by side).
    candidates = [p for p in root.rglob("tables_tok") if p.is_dir()]
    candidates += [root.parent / "tables_tok", root.parent / "WikiTables-WithLinks" / "tables_tok"]
    candidates += [root.parent.parent / "WikiTables-WithLinks" / "tables_tok"]
    for tables in candidates:
        if tables.is_dir():
            requests = tables.parent / "request_tok"
            return tables, requests if requests.is_dir() else None
    raise DatasetError(f"hybridqa: no tables_tok/ folder near {root}: {HOW_TO_GET}")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"hybridqa: table file {path} is missing: {HOW_TO_GET}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"hybridqa: {path} is not valid JSON ({exc})") from None


SPEC = register_dataset(
    SOURCE,
    load,
    scorers=("squad",),
    splits=("validation", "train"),
    answer_format=ANSWER_FORMAT,
    description="HybridQA questions over a Wikipedia table and its linked passages",
)
