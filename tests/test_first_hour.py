"""What a new user meets first: a failed start leaves no empty run folder behind, and a run
whose every item failed reads as failed, not as a score of zero."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from agot.cli import main
from agot.view.app import create_app
from agot.view.data import Catalog

FIXTURES = Path(__file__).parent / "fixtures"
HOTPOT = FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json"


def test_a_missing_dataset_leaves_no_run_folder(tmp_path, capsys):
    out = tmp_path / "runs" / "r1"
    missing = tmp_path / "nope.json"
    code = main(
        ["eval", "hotpotqa", "--data", str(missing), "--out", str(out), "--model", "scripted"]
    )
    assert code == 2 and "agot: error:" in capsys.readouterr().err
    assert not out.exists()


def test_a_model_that_cannot_be_built_leaves_no_run_folder(tmp_path, capsys):
    out = tmp_path / "r2"
    args = ["eval", "hotpotqa", "--data", str(HOTPOT), "--out", str(out), "--limit", "1"]
    assert main([*args, "--model", "llamacpp/does-not-exist.gguf"]) == 2
    assert "GGUF model file not found" in capsys.readouterr().err
    assert not out.exists()


def test_a_failed_start_keeps_a_folder_it_did_not_create(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    main(["eval", "hotpotqa", "--data", str(tmp_path / "nope.json"), "--out", str(out)])
    assert (out / "notes.txt").read_text() == "keep me"


def test_a_run_where_every_item_failed_is_shown_as_failed(tmp_path, capsys):
    out = tmp_path / "runs" / "dead"
    args = ["eval", "hotpotqa", "--data", str(HOTPOT), "--out", str(out), "--limit", "2"]
    assert main([*args, "--model", "openai/x@http://127.0.0.1:9/v1"]) == 1
    capsys.readouterr()
    client = TestClient(create_app(Catalog([out.parent])), base_url="http://127.0.0.1")
    front = client.get("/").text
    assert 'data-status="failed"' in front and "failed (2/2 errored)" in front
    assert "0.000 [0.000, 0.000]" not in front
    page = client.get("/run/dead").text
    assert 'id="run-status">failed' in page and "0.000 [0.000, 0.000]" not in page


def test_a_run_folder_made_after_the_viewer_started_is_listed_newest_first(tmp_path, capsys):
    import json
    import shutil

    runs = tmp_path / "runs"
    args = ["eval", "hotpotqa", "--data", str(HOTPOT), "--limit", "1", "--model", "scripted"]
    assert main([*args, "--out", str(runs / "older")]) == 0
    client = TestClient(create_app(Catalog([runs])), base_url="http://127.0.0.1")
    assert 'data-run="older"' in client.get("/").text
    assert client.get("/run/newer").status_code == 404
    assert main([*args, "--out", str(runs / "newer")]) == 0
    capsys.readouterr()
    info = json.loads((runs / "older" / "run.json").read_text())
    info["started_at"] -= 3600  # an hour earlier
    (runs / "older" / "run.json").write_text(json.dumps(info))
    assert client.get("/run/newer").status_code == 200  # no restart needed
    front = client.get("/").text
    assert front.index('data-run="newer"') < front.index('data-run="older"')
    assert front.count('data-status="finished"') == 2
    shutil.rmtree(runs / "older")
    assert 'data-run="older"' not in client.get("/").text


def test_a_run_in_progress_is_shown_as_running(tmp_path, capsys):
    import os

    runs = tmp_path / "runs"
    args = ["eval", "hotpotqa", "--data", str(HOTPOT), "--limit", "1", "--model", "scripted"]
    assert main([*args, "--out", str(runs / "live")]) == 0
    capsys.readouterr()
    (runs / "live" / "summary.json").unlink()
    client = TestClient(create_app(Catalog([runs])), base_url="http://127.0.0.1")
    assert 'data-status="interrupted"' in client.get("/").text
    assert 'data-live="1"' not in client.get("/").text + client.get("/run/live").text
    (runs / "live" / ".lock").write_text(f"{os.getpid()}\n")  # what a live run writes there
    front = client.get("/").text
    assert 'data-status="running"' in front and 'data-live="1"' in front  # reloads as rows come
    assert 'data-live="1"' in client.get("/run/live").text
