"""Loaders turn every malformed row into one line naming the file, the row and the field;
ids come from ``id`` or ``_id``; MuSiQue ``full`` loads its paired items; the hub fails fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agot.errors import DatasetError
from agot.evals.datasets import get_dataset, load_dataset
from agot.evals.datasets.sources import load_hub

FIXTURES = Path(__file__).parent / "fixtures"


def _write(path: Path, rows: list) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _one_line_error(name: str, data: Path) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(name, data=data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_morehopqa_rows_keyed_id_or__id_both_load(tmp_path):
    rows = json.loads((FIXTURES / "morehopqa" / "morehopqa_final.json").read_text())
    renamed = [{("id" if k == "_id" else k): v for k, v in row.items()} for row in rows]
    by_id = load_dataset("morehopqa", data=_write(tmp_path / "morehopqa_final.json", renamed))
    by__id = load_dataset("morehopqa", data=FIXTURES / "morehopqa" / "morehopqa_final.json")
    assert [r.id for r in by_id] == [r.id for r in by__id]
    assert by_id[0].question == by__id[0].question


@pytest.mark.parametrize(
    ("name", "file", "drop", "field"),
    [
        ("hotpotqa", "hotpot_dev_distractor_v1.json", "question", "'question'"),
        ("hotpotqa", "hotpot_dev_distractor_v1.json", "_id", "'id' (or '_id')"),
        ("morehopqa", "morehopqa_final.json", "_id", "'id' (or '_id')"),
        ("morehopqa", "morehopqa_final.json", "answer", "'answer'"),
        ("2wikimultihopqa", "dev.json", "question", "'question'"),
        ("fanoutqa", "fanout-final-dev.json", "id", "'id' (or '_id')"),
    ],
)
def test_a_row_without_a_field_names_file_row_and_field(tmp_path, name, file, drop, field):
    source = next((FIXTURES / name).rglob(file))  # the dataset's own file, not a replay fixture
    rows = json.loads(source.read_text())
    rows = rows if isinstance(rows, list) else rows["data"]
    del rows[1][drop]
    message = _one_line_error(name, _write(tmp_path / file, rows))
    assert f"{file} row 1: missing field {field}" in message, message


def test_musique_jsonl_row_errors_and_bad_lines(tmp_path):
    lines = (FIXTURES / "musique" / "musique_ans_v1.0_dev.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    del row["question"]
    bad = tmp_path / "musique_ans_v1.0_dev.jsonl"
    bad.write_text("\n".join([*lines[:2], json.dumps(row)]) + "\n")
    assert "musique_ans_v1.0_dev.jsonl row 2: missing field 'question'" in _one_line_error(
        "musique", bad
    )
    bad.write_text(lines[0] + "\n{not json\n")
    assert "line 2 is not a JSON object" in _one_line_error("musique", bad)
    bad.write_text(lines[0] + "\n[1, 2]\n")
    assert "row 1: expected an object, got list" in _one_line_error("musique", bad)


def test_gpqa_row_error_names_the_column(tmp_path):
    text = (FIXTURES / "gpqa" / "gpqa_diamond.csv").read_text()
    header, *body = text.splitlines(keepends=True)
    broken = header.replace("Incorrect Answer 2", "Incorrect Answer Two")
    path = tmp_path / "gpqa_diamond.csv"
    path.write_text(broken + "".join(body))
    message = _one_line_error("gpqa", path)
    assert "gpqa_diamond.csv row 0: missing field 'Incorrect Answer 2'" in message


def test_a_wrongly_typed_field_is_one_line_too(tmp_path):
    rows = json.loads((FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json").read_text())
    rows[0]["supporting_facts"] = [["Title only"]]
    message = _one_line_error("hotpotqa", _write(tmp_path / "dev.json", rows))
    assert "dev.json row 0: malformed row" in message


def test_musique_full_keeps_both_twins_and_uses_the_full_scorer():
    records = load_dataset("musique", data=FIXTURES / "musique", subset="full")
    assert [r.id for r in records] == [
        "2hop__1001_2002",
        "2hop__1001_2002:unanswerable",
        "2hop__1003_2004",
        "2hop__1003_2004:unanswerable",
    ]
    assert [r.metadata["answerable"] for r in records] == [True, False, True, False]
    assert records[1].metadata["group"] == "2hop__1001_2002"
    spec = get_dataset("musique")
    assert spec.scorers_for("full") == ("musique_full",)
    assert spec.scorers_for("ans") == ("musique",)
    assert "unanswerable" in spec.answer_format_for("full")
    assert "unanswerable" not in spec.answer_format_for("ans")


def test_musique_full_requires_answerability(tmp_path):
    lines = (FIXTURES / "musique" / "musique_full_v1.0_dev.jsonl").read_text().splitlines()
    row = json.loads(lines[1])
    del row["answerable"]
    path = tmp_path / "musique_full_v1.0_dev.jsonl"
    path.write_text(lines[0] + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DatasetError, match="row 1: missing field 'answerable'"):
        load_dataset("musique", data=path, subset="full")


# -- the hub ------------------------------------------------------------------------------------
def test_unreachable_hub_fails_at_once_with_the_instructions(monkeypatch, tmp_path):
    import socket

    with socket.socket() as probe:  # a local port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    started = time.perf_counter()
    with pytest.raises(DatasetError) as info:
        load_dataset("gpqa")
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert elapsed < 10  # one refused connection, not datasets' retries
    assert "unreachable" in message and "--data" in message and "\n" not in message
    assert "hf auth login" in message and "AGOT_DATASET_PASSWORD" in message
    assert "huggingface-cli" not in message


def test_offline_mode_reads_only_the_cache_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DatasetError) as info:
        load_hub(
            "Idavidrein/gpqa",
            dataset="gpqa",
            config="gpqa_diamond",
            split="train",
            how_to_get="HOW",
        )
    message = str(info.value)
    assert "could not load Idavidrein/gpqa (gpqa_diamond)" in message
    assert "HOW and pass it with --data PATH" in message and "hf auth login" in message
