"""The run folder module: the layout and the rules every reader of an eval run shares."""

from __future__ import annotations

import pytest

from agot.errors import ConfigError
from agot.evals.run_folder import (
    HEADLINE_ORDER,
    ResultRow,
    RunFolder,
    find_results,
    headline_metric,
    latest_rows,
    slug,
)
from agot.evals.summary import load_summary


def _row(item: str, strategy: str = "cot", *, seed: int = 0, em: float = 1.0) -> ResultRow:
    return ResultRow(
        id=item, dataset="hotpotqa", strategy=strategy, model="m", seed=seed, scores={"em": em}
    )


def test_latest_row_wins_at_the_place_its_key_first_appeared() -> None:
    rows = [_row("a", em=0.0), _row("b"), _row("a", em=1.0), _row("a", seed=1, em=0.5)]
    latest = latest_rows(rows)
    assert [(r.id, r.seed, r.scores["em"]) for r in latest] == [
        ("a", 0, 1.0),
        ("b", 0, 1.0),
        ("a", 1, 0.5),  # another seed is another measurement, kept
    ]


def test_headline_metric_follows_the_order_and_a_forced_name() -> None:
    assert HEADLINE_ORDER[0] == "judge"
    assert headline_metric(["f1", "em", "judge"]) == "judge"
    assert headline_metric(["f1", "em"]) == "em"
    assert headline_metric(["bleu", "rouge"]) == "bleu"
    assert headline_metric([]) is None
    assert headline_metric(["em", "f1"], "f1") == "f1"
    assert headline_metric(["em"], "f1") is None


def test_folder_paths_and_json_files(tmp_path) -> None:
    folder = RunFolder(tmp_path / "run")
    assert folder.read_info() is None and folder.read_summary() is None
    assert load_summary(folder) is None
    folder.write_info({"dataset": "hotpotqa"})
    folder.write_summary({"items": 2})
    assert folder.read_info() == {"dataset": "hotpotqa"}
    assert folder.read_summary() == {"items": 2}
    with pytest.raises(ConfigError, match=r"summary\.json is not an eval summary \(dataset: "):
        load_summary(folder)
    path = folder.trace_path("cot", "openai/gpt-4o", "item 1")
    assert path.parent.parent.parent == folder.path / "traces"
    assert path.parent.name == slug("openai/gpt-4o") != "openai/gpt-4o"
    assert slug("plain-id_1.2") == "plain-id_1.2"
    folder.info_path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"run\.json does not hold a JSON object"):
        folder.read_info()
    folder.summary_path.write_text("{")
    with pytest.raises(ConfigError, match=r"summary\.json is not readable JSON"):
        folder.read_summary()


async def test_rows_and_traces_read_back_through_the_folder(tmp_path) -> None:
    folder = RunFolder(tmp_path / "run")
    writer = folder.writer()
    trace = folder.trace_path("cot", "m", "a")
    first = _row("a", em=0.0)
    first.trace = str(trace.relative_to(folder.path))
    await writer.append(first, [(trace, b'{"answer": "x"}')])
    await writer.append(_row("a", em=1.0))
    await writer.aclose()
    assert [r.scores["em"] for r in folder.read_results()] == [0.0, 1.0]
    assert [r.scores["em"] for r in folder.rows()] == [1.0]
    assert folder.read_trace(first) == {"answer": "x"}
    assert folder.read_trace(_row("b")) is None


def test_find_results_searches_below_a_folder_and_names_what_is_missing(tmp_path) -> None:
    for name in ("b", "a"):
        RunFolder(tmp_path / "runs" / name).writer().close()
    found = find_results(tmp_path / "runs")
    assert [p.parent.name for p in found] == ["a", "b"]
    assert find_results(found[0]) == [found[0]]
    assert find_results(tmp_path / "runs" / "a") == [found[0]]
    with pytest.raises(ConfigError, match=r"no results\.jsonl in .*nowhere"):
        find_results(tmp_path / "nowhere")
