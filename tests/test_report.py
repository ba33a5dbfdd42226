"""``agot report``: the paper-style table computed from hand-made result folders."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from agot.cli import main
from agot.errors import ConfigError
from agot.evals.report import build_report, cell_text, read_rows, to_csv, to_markdown
from agot.evals.stats import bootstrap_mean


def _row(
    i: int,
    strategy: str,
    dataset: str,
    scores: dict[str, float],
    *,
    model: str = "m1",
    tokens: tuple[int, int] = (100, 20),
    cost: float = 0.0,
    error: str | None = None,
    subset: str | None = None,
) -> dict:
    return {
        "id": f"{dataset}-{i}",
        "dataset": dataset,
        "subset": subset,
        "strategy": strategy,
        "model": model,
        "seed": 0,
        "raw": "Answer: x",
        "prediction": "x",
        "gold": "x",
        "scores": scores,
        "usage": {
            "calls": 1,
            "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1],
            "cost": cost,
        },
        "latency_s": 0.1,
        "error": error,
    }


def _folder(path: Path, rows: list[dict], summary: dict | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (path / "summary.json").write_text(json.dumps(summary or {"rows": len(rows)}))
    return path


@pytest.fixture
def folders(tmp_path: Path) -> list[Path]:
    game = [_row(i, "cot", "game24", {"success": float(i < 3)}) for i in range(10)]
    game += [
        _row(i, "agot", "game24", {"success": float(i < 6)}, tokens=(900, 300)) for i in range(10)
    ]
    qa = [
        _row(i, "cot", "hotpotqa", {"em": float(i < 2), "f1": 0.5, "judge": float(i < 4)})
        for i in range(5)
    ]
    qa += [
        _row(i, "agot", "hotpotqa", {"em": float(i < 3), "f1": 0.6, "judge": float(i < 5)})
        for i in range(5)
    ]
    return [_folder(tmp_path / "run1", game), _folder(tmp_path / "run2", qa)]


def test_table_has_strategies_as_rows_and_datasets_as_columns(folders: list[Path]) -> None:
    report = build_report(folders)
    assert report.datasets == ["game24", "hotpotqa"]
    assert report.metrics == {"game24": "success", "hotpotqa": "judge"}  # judge heads QA
    assert [(r.strategy, r.model) for r in report.rows] == [("cot", "m1"), ("agot", "m1")]
    cot, agot = report.rows
    assert cot.cells["game24"].value == pytest.approx(0.3)
    assert agot.cells["game24"].value == pytest.approx(0.6)
    assert agot.cells["hotpotqa"].value == pytest.approx(1.0)
    assert cot.cells["game24"].n == 10
    assert cot.cells["game24"].tokens_per_item == pytest.approx(120)
    assert agot.cells["game24"].tokens_per_item == pytest.approx(1200)


def test_interval_is_the_shared_bootstrap_with_a_fixed_seed(folders: list[Path]) -> None:
    cell = build_report(folders, seed=3).rows[0].cells["game24"]
    expected = bootstrap_mean([1.0] * 3 + [0.0] * 7, seed=3)
    assert (cell.low, cell.high) == (expected.low, expected.high)
    assert cell.low < cell.value < cell.high
    again = build_report(folders, seed=3).rows[0].cells["game24"]
    assert (again.low, again.high) == (cell.low, cell.high)


def test_metric_can_be_forced(folders: list[Path]) -> None:
    report = build_report(folders, metric="em")
    assert report.datasets == ["hotpotqa"]
    assert report.rows[0].cells["hotpotqa"].value == pytest.approx(0.4)
    with pytest.raises(ConfigError, match="no result row has the metric"):
        build_report(folders, metric="bleu")


def test_failures_count_as_zero_and_missing_judge_is_left_out(tmp_path: Path) -> None:
    rows = [
        _row(0, "cot", "hotpotqa", {"em": 1.0, "judge": 1.0}),
        _row(1, "cot", "hotpotqa", {}, error="BackendError: down"),  # failed item -> 0
        _row(2, "cot", "hotpotqa", {"em": 1.0}),  # judge call failed -> not counted
    ]
    rows.append({**_row(3, "cot", "hotpotqa", {"em": 0.0, "judge": 0.0}), "stopped": "budget"})
    report = build_report([_folder(tmp_path / "r", rows)])
    cell = report.rows[0].cells["hotpotqa"]
    assert cell.metric == "judge"
    assert cell.n == 3 and cell.errors == 1 and cell.stopped == 1
    assert cell.value == pytest.approx(1 / 3)
    assert "- cot/m1 on hotpotqa: 1 failed, 1 stopped by a budget" in to_markdown(report)
    assert next(csv.DictReader(io.StringIO(to_csv(report))))["hotpotqa:stopped"] == "1"


def test_repeated_items_keep_the_last_row_and_models_split_rows(tmp_path: Path) -> None:
    first = _folder(tmp_path / "a", [_row(0, "cot", "gpqa", {"accuracy": 0.0})])
    second = _folder(
        tmp_path / "b",
        [
            _row(0, "cot", "gpqa", {"accuracy": 1.0}),  # same item, rerun: wins with --merge
            _row(0, "cot", "gpqa", {"accuracy": 0.0}, model="m2"),
            _row(0, "cot", "gpqa", {"accuracy": 1.0}, subset="diamond"),
        ],
    )
    report = build_report([first, second], merge=True)
    assert report.datasets == ["gpqa", "gpqa/diamond"]
    by_model = {r.model: r for r in report.rows}
    assert by_model["m1"].cells["gpqa"].value == 1.0 and by_model["m1"].cells["gpqa"].n == 1
    assert by_model["m2"].cells["gpqa"].value == 0.0
    assert "gpqa/diamond" not in by_model["m2"].cells


def test_runs_of_the_same_setup_stay_apart_unless_merged(tmp_path: Path) -> None:
    first = _folder(
        tmp_path / "monday", [_row(i, "cot", "gpqa", {"accuracy": 0.0}) for i in range(4)]
    )
    second = _folder(
        tmp_path / "tuesday",
        [_row(i, "cot", "gpqa", {"accuracy": 1.0}) for i in range(4)]
        + [_row(i, "agot", "gpqa", {"accuracy": 1.0}) for i in range(4)],
    )
    report = build_report([first, second])
    rows = {(r.strategy, r.run): r.cells["gpqa"].value for r in report.rows}
    assert rows == {("cot", "monday"): 0.0, ("cot", "tuesday"): 1.0, ("agot", None): 1.0}
    table = to_markdown(report)
    assert "| cot [monday] | m1 | 0.0" in table and "| cot [tuesday] | m1 | 100.0" in table
    assert "--merge" in table
    merged = build_report([first, second], merge=True)
    assert {(r.strategy, r.run): r.cells["gpqa"].value for r in merged.rows} == {
        ("cot", None): 1.0,
        ("agot", None): 1.0,
    }


def test_a_parent_folder_of_runs_keeps_a_row_per_run_and_says_so(tmp_path: Path, capsys) -> None:
    """#31 item 8: ``agot report runs/`` reads the run folders below ``runs/`` one by one, as
    if each were named, and says on stderr how it counted them."""
    runs = tmp_path / "runs"
    _folder(runs / "monday", [_row(i, "cot", "gpqa", {"accuracy": 0.0}) for i in range(4)])
    _folder(runs / "tuesday", [_row(i, "cot", "gpqa", {"accuracy": 1.0}) for i in range(4)])
    report = build_report([runs])
    assert {(r.strategy, r.run): r.cells["gpqa"].value for r in report.rows} == {
        ("cot", "monday"): 0.0,
        ("cot", "tuesday"): 1.0,
    }
    assert main(["report", str(runs)]) == 0
    captured = capsys.readouterr()
    assert "cot [monday]" in captured.out and "cot [tuesday]" in captured.out
    assert "holds 2 run folders, one row per folder" in captured.err
    assert main(["report", str(runs), "--merge"]) == 0
    captured = capsys.readouterr()
    assert "[monday]" not in captured.out and "folded into one row per setup" in captured.err


def test_cached_calls_are_counted_apart_from_paid_tokens(tmp_path: Path) -> None:
    rows = [_row(i, "cot", "gpqa", {"accuracy": 1.0}, tokens=(100, 20)) for i in range(2)]
    rows.append(_row(2, "cot", "gpqa", {"accuracy": 1.0}, tokens=(0, 0)))
    rows[2]["usage"]["cached_calls"] = 1
    report = build_report([_folder(tmp_path / "r", rows)])
    cell = report.rows[0].cells["gpqa"]
    assert (cell.calls, cell.cached_calls) == (3, 1)
    assert cell.tokens_per_item == pytest.approx(80.0)  # paid tokens only
    assert "1/3 calls cached" in cell_text(cell)
    line = next(iter(csv.DictReader(io.StringIO(to_csv(report)))))
    assert (line["gpqa:calls"], line["gpqa:cached_calls"]) == ("3", "1")


def test_markdown_layout(folders: list[Path]) -> None:
    text = to_markdown(build_report(folders))
    lines = text.splitlines()
    assert lines[0] == "| Strategy | Model | game24 (success) | hotpotqa (judge) |"
    assert lines[1] == "| --- | --- | ---: | ---: |"
    assert lines[2].startswith("| cot | m1 | 30.0 (")
    assert "· 120 tok" in lines[2]
    assert "· 1.2k tok" in lines[3]
    assert "Judge vs EM agreement" in text
    # cot on hotpotqa: judge 4 right, em 2 right -> 2 both, 1 both wrong, 2 judge-only
    assert "hotpotqa | cot | m1: 2 / 1 / 2 / 0 (agree 60.0%)" in text


def test_cell_text_shows_cost_when_present() -> None:
    from agot.evals.report import Cell

    cell = Cell(
        dataset="d",
        metric="m",
        value=0.5,
        low=0.25,
        high=0.75,
        n=4,
        tokens_per_item=50,
        cost_per_item=0.00123,
    )
    assert cell_text(cell) == "50.0 (25.0–75.0) · 50 tok · $0.0012"
    assert cell_text(None) == "—"


def test_csv_has_numbers_for_machines(folders: list[Path]) -> None:
    table = list(csv.DictReader(io.StringIO(to_csv(build_report(folders)))))
    assert [r["strategy"] for r in table] == ["cot", "agot"]
    assert table[0]["game24:metric"] == "success"
    assert float(table[0]["game24:value"]) == pytest.approx(0.3)
    assert float(table[1]["hotpotqa:value"]) == pytest.approx(1.0)
    assert table[0]["game24:n"] == "10"
    assert float(table[1]["game24:tokens_per_item"]) == pytest.approx(1200)
    assert float(table[0]["game24:ci_low"]) <= 0.3 <= float(table[0]["game24:ci_high"])


def test_torn_last_line_is_skipped_and_bad_lines_are_errors(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "r", [_row(0, "cot", "gpqa", {"accuracy": 1.0})])
    with (folder / "results.jsonl").open("a") as handle:
        handle.write('{"id": "gpqa-1", "strat')  # a kill mid-write
    assert len(read_rows(folder)) == 1
    broken = _folder(tmp_path / "b", [])
    (broken / "results.jsonl").write_text('not json\n{"id": 1}\n')
    with pytest.raises(ConfigError, match=r"results\.jsonl:1"):
        read_rows(broken)
    with pytest.raises(ConfigError, match=r"no results\.jsonl"):
        read_rows(tmp_path / "missing")


def test_cli_prints_markdown_and_writes_both_files(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", *map(str, folders)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Strategy | Model | game24 (success) | hotpotqa (judge) |")

    assert main(["report", *map(str, folders), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("strategy,model,run,game24:metric")

    assert main(["report", *map(str, folders), "--out", str(tmp_path / "tables")]) == 0
    assert (tmp_path / "tables" / "report.md").read_text().startswith("| Strategy")
    assert (tmp_path / "tables" / "report.csv").read_text().startswith("strategy,model")

    assert main(["report", *map(str, folders), "--out", str(tmp_path / "paper.md")]) == 0
    assert (tmp_path / "paper.md").is_file() and (tmp_path / "paper.csv").is_file()


def test_cli_bad_folder_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agot: error: no results.jsonl") and err.count("\n") == 1


def test_agot_eval_and_agot_report_print_the_same_numbers(tmp_path: Path, capsys) -> None:
    """One folder, two readers: the table ``agot eval`` prints and ``agot report``'s cells
    come from the same estimate, under the same missing-score rule."""
    from agot.evals.run_folder import read_results, rewrite_results
    from agot.testing.eval_workload import eval_argv

    data = Path(__file__).parent / "fixtures" / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    replies = {"answer:Which river flows": "Answer: Amsel River", "*": "I am not sure."}
    (tmp_path / "replies.json").write_text(json.dumps({"replies": replies}))
    out = tmp_path / "run"
    argv = eval_argv(data, f"scripted/{tmp_path / 'replies.json'}", out, strategy="direct,cot")
    assert main(argv) == 0
    # An item that failed without a score (a unit whose worker died): it counts as a miss in
    # both tables, not left out of one of them.
    rows = read_results(out / "results.jsonl")
    failed = next(r for r in rows if r.strategy == "direct" and r.scores.get("em") == 0.0)
    rows[rows.index(failed)] = failed.model_copy(update={"scores": {}, "error": "worker died"})
    rewrite_results(out / "results.jsonl", rows)
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0  # nothing left to run: the summary is recomputed
    printed = capsys.readouterr().out
    assert main(["report", str(out), "--metric", "em", "--format", "csv"]) == 0
    cells = {
        line["strategy"]: line for line in csv.DictReader(io.StringIO(capsys.readouterr().out))
    }
    assert set(cells) == {"direct", "cot"}
    for strategy, cell in cells.items():
        low, value, high = (
            float(cell[f"hotpotqa/distractor:{k}"]) for k in ("ci_low", "value", "ci_high")
        )
        shown = f"{value:.3f} [{low:.3f}, {high:.3f}]"
        line = next(t for t in printed.splitlines() if t.split()[:1] == [strategy])
        assert shown in line, (shown, line)
        assert cell["hotpotqa/distractor:n"] == "4"
        assert "(n=" not in line  # every item counted: none left out of the printed mean
    # 1 right of 4 for both: direct's failed item counts as the miss it was, not left out
    assert [cells[s]["hotpotqa/distractor:value"] for s in ("direct", "cot")] == ["0.2500"] * 2
