"""``agot view`` without a browser: the pages a server returns, runs without a summary yet,
private datasets shown as stored (redacted), the one-file export and the command line."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agot.cli import main
from agot.evals import load_dataset, run_eval
from agot.testing.view_runs import cot_backend
from agot.view.app import create_app
from agot.view.data import Catalog
from agot.view.export import packed_pages, readable
from agot.view.plots import LEFT, RIGHT, TOP, H, W, score_vs_tokens

FIXTURES = Path(__file__).parent / "fixtures"
HOTPOT = FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json"


def local_client(app) -> TestClient:
    """A test client whose requests name a loopback host, as a browser on this machine does
    (the viewer refuses any other Host header)."""
    return TestClient(app, base_url="http://127.0.0.1:7576")


@pytest.fixture(scope="module")
def client(runs_root: Path) -> TestClient:
    return local_client(create_app(Catalog([runs_root])))


def test_runs_list_shows_each_run_with_intervals_and_the_saved_trace(client):
    page = client.get("/").text
    assert 'data-run="agot-vs-cot"' in page and 'data-run="cot-again"' in page
    assert "0.750 [0.250, 1.000]" in page  # headline with its bootstrap interval
    assert (
        'href="/trace/sky"' in page and 'href="/compare?run=agot-vs-cot&amp;run=cot-again"' in page
    )


def test_run_page_has_groups_comparison_plots_and_every_row(client):
    page = client.get("/run/agot-vs-cot").text
    assert 'data-group="agot"' in page and 'data-group="cot"' in page
    assert 'id="paired-table"' in page and ("cot − agot" in page or "agot − cot" in page)
    assert page.count('class="item-link"') == 8
    points = re.findall(r'<circle class="point" data-series="([^"]+)" data-x="([\d.]+)"', page)
    assert {name for name, _ in points} == {"agot @ scripted:scripted", "cot @ scripted:scripted"}


def test_plot_points_stay_inside_the_axes():
    svg = score_vs_tokens([("a", 6578.0, 0.75, 0.25, 1.0), ("b", 122.0, 0.5, None, None)], "em")
    root = ET.fromstring(svg[: svg.index("</svg>") + 6])
    for circle in root.iter("{http://www.w3.org/2000/svg}circle"):
        x, y = float(circle.get("cx")), float(circle.get("cy"))
        assert LEFT <= x <= W - RIGHT and TOP <= y <= H


def test_item_page_shows_prompts_completions_and_the_nested_graph(client, runs_root):
    run = Catalog([runs_root]).run("agot-vs-cot")
    index = next(i for i, row in enumerate(run.rows) if row.strategy == "agot")
    page = client.get(f"/run/agot-vs-cot/item/{index}").text
    assert 'id="gold"' in page and 'details class="nested" data-node="2"' in page
    assert 'class="prompt"' in page and 'class="completion"' in page
    assert 'data-critical="true"' in page
    assert client.get("/run/agot-vs-cot/item/99").status_code == 404
    assert client.get("/run/nope").status_code == 404
    assert client.get("/trace/nope").status_code == 404


def test_compare_page_marks_flipped_items(client):
    page = client.get("/compare?run=agot-vs-cot&run=cot-again").text
    assert "2 of 4 items flipped" in page
    flipped = re.findall(r'<tr data-flipped="1" class="flip"><td>(\w+)</td>', page)
    assert sorted(flipped) == ["hp0001", "hp0003"]


def test_markup_in_model_text_is_escaped(tmp_path):
    async def build() -> None:
        await run_eval(
            "hotpotqa",
            data=str(FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json"),
            strategies=["cot"],
            models=[cot_backend(0).__class__({"*": "Answer: <script>alert(1)</script>"})],
            out=str(tmp_path / "x"),
            progress=False,
            limit=1,
        )

    asyncio.run(build())
    page = local_client(create_app(Catalog([tmp_path]))).get("/run/x/item/0").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page


def test_a_run_without_summary_is_summarised_from_its_rows(runs_root, tmp_path):
    import shutil

    copy = tmp_path / "partial"
    shutil.copytree(runs_root / "cot-again", copy)
    (copy / "summary.json").unlink()
    catalog = Catalog([copy])
    (run,) = catalog.runs()
    assert not run.finished and run.headline == "em"
    (group,) = run.groups
    est = group.metrics["em"]
    assert est.value == 0.75 and est.low is not None and est.low <= 0.75 <= est.high
    assert "(no summary yet)" in local_client(create_app(catalog)).get("/").text


def test_a_summary_with_inline_usage_counters_still_reads(runs_root, tmp_path):
    """summary.json as earlier versions wrote it: each group's counters inline, and before
    that without ``cached_calls`` (then counted from the rows)."""
    import json
    import shutil

    copy = tmp_path / "older"
    shutil.copytree(runs_root / "cot-again", copy)
    current = Catalog([runs_root / "cot-again"]).runs()[0].groups[0].usage
    data = json.loads((copy / "summary.json").read_text())
    for group in data["groups"]:
        usage = group.pop("usage")
        group.update({k: usage[k] for k in ("calls", "prompt_tokens", "completion_tokens", "cost")})
    (copy / "summary.json").write_text(json.dumps(data))
    rows = [json.loads(line) for line in (copy / "results.jsonl").read_text().splitlines()]
    rows[0]["usage"]["cached_calls"] = 1  # what the rows say is what the page shows
    (copy / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run,) = Catalog([copy]).runs()
    expected = current.model_copy(update={"attempts": 0, "cached_calls": 1})
    assert run.finished and run.groups[0].usage == expected
    assert current.calls > 0 and current.total_tokens > 0 and current.cached_calls == 0


def test_private_dataset_text_is_shown_as_stored_redacted(tmp_path):
    records = load_dataset("gpqa", data=FIXTURES / "gpqa", seed=1)

    async def build() -> None:
        await run_eval(
            "gpqa",
            data=str(FIXTURES / "gpqa"),
            seed=1,
            strategies=["cot"],
            models=[cot_backend(0).__class__({"*": "Answer: A"})],
            out=str(tmp_path / "g"),
            progress=False,
        )

    asyncio.run(build())
    client = local_client(create_app(Catalog([tmp_path / "g"])))
    pages = client.get("/run/g").text + "".join(
        client.get(f"/run/g/item/{i}").text for i in range(len(records))
    )
    for record in records:
        assert record.question not in pages
    assert "redacted" in pages or "withheld" in pages


def test_cli_export_and_errors(runs_root, tmp_path, capsys):
    target = tmp_path / "out" / "all.html"
    assert main(["view", str(runs_root), "--export", str(target)]) == 0
    html = target.read_text()
    assert 'id="runs"' in html and 'id="run-agot-vs-cot"' in html and 'id="compare"' in html
    assert 'id="trace-sky"' in html
    items = packed_pages(html)  # item pages travel packed, unpacked when opened
    assert len(items) == 12 and 'id="item-agot-vs-cot-0"' in items["item-agot-vs-cot-0"]
    assert 'class="prompt"' in items["item-agot-vs-cot-0"]
    assert "<link" not in html and "src=" not in html  # self-contained
    assert main(["view", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["view", str(runs_root), "--port", "70000"]) == 2
    assert "--port must be between" in capsys.readouterr().err


def test_view_binds_to_loopback_by_default():
    from agot.cli import build_parser

    args = build_parser().parse_args(["view", "runs"])
    assert args.host == "127.0.0.1"


# -- hardening: DNS rebinding, traces outside the run folder, damaged files ----------------------
@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:7576", "localhost:7576", "localhost", "[::1]:7576", "127.0.0.5", "LOCALHOST:80"],
)
def test_loopback_host_headers_are_answered(client, host):
    assert client.get("/", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:7576",  # a rebinding page: its name now resolves to 127.0.0.1
        "attacker.example",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
        "192.168.1.20:7576",
        "testserver",
    ],
)
def test_other_host_headers_are_refused_on_every_page(client, host):
    for path in ("/", "/run/agot-vs-cot", "/run/agot-vs-cot/item/0", "/trace/sky", "/compare"):
        response = client.get(path, headers={"host": host})
        assert response.status_code == 403, path
        assert "refused Host header" in response.text and "agot-vs-cot" not in response.text


def test_host_policy_follows_the_bind_address():
    from agot.view.hosts import HostPolicy

    default = HostPolicy.for_bind("127.0.0.1")
    assert default.allows("localhost:1") and not default.allows("box.lan:7576")
    named = HostPolicy.for_bind("box.lan")
    assert named.allows("box.lan:7576") and named.allows("127.0.0.1")
    assert not named.allows("evil.example") and not named.allows("10.0.0.9")
    every = HostPolicy.for_bind("0.0.0.0")
    assert every.allows("10.0.0.9:7576") and every.allows("[fe80::1]:7576")
    assert not every.allows("evil.example") and not every.allows(None)


def test_cli_serves_with_the_host_policy_of_its_bind_address(runs_root, monkeypatch):
    import uvicorn

    served = {}

    def fake_run(app, host, port, log_level):
        served["client"] = TestClient(app, base_url=f"http://{host}:{port}")
        served["host"] = host

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert main(["view", str(runs_root), "--host", "box.lan", "--port", "7599"]) == 0
    c = served["client"]
    assert c.get("/").status_code == 200  # Host: box.lan:7599
    assert c.get("/", headers={"host": "evil.example:7599"}).status_code == 403
    assert main(["view", str(runs_root)]) == 0
    c = served["client"]
    assert served["host"] == "127.0.0.1" and c.get("/").status_code == 200
    assert c.get("/", headers={"host": "box.lan:7576"}).status_code == 403


def _copy_run(runs_root: Path, tmp_path: Path, name: str = "cot-again") -> Path:
    import shutil

    copy = tmp_path / "runs" / name
    shutil.copytree(runs_root / name, copy)
    return copy


def test_a_trace_outside_the_run_folder_is_not_read(runs_root, tmp_path):
    import json

    copy = _copy_run(runs_root, tmp_path)
    secret = tmp_path / "elsewhere.json"
    secret.write_text(json.dumps({"question": "SECRET-OUTSIDE", "events": []}))
    inside = copy / "traces" / "cot"
    (inside / "link.json").symlink_to(secret)
    rows = [json.loads(line) for line in (copy / "results.jsonl").read_text().splitlines()]
    targets = [str(secret), "../../elsewhere.json", "traces/cot/link.json"]
    for row, target in zip(rows, targets, strict=False):
        row["trace"] = target
    (copy / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    client = local_client(create_app(Catalog([copy.parent])))
    for index in range(len(targets)):
        page = client.get(f"/run/cot-again/item/{index}")
        assert page.status_code == 200
        assert "SECRET-OUTSIDE" not in page.text
        assert 'id="trace-problem"' in page.text and "outside" in page.text
    # the rows whose trace is where the run wrote it still show theirs
    assert 'id="trace-problem"' not in client.get("/run/cot-again/item/3").text
    export = tmp_path / "all.html"
    assert main(["view", str(copy.parent), "--export", str(export)]) == 0
    assert "SECRET-OUTSIDE" not in readable(export.read_text())


def test_a_malformed_results_line_is_counted_not_an_error_page(runs_root, tmp_path):
    copy = _copy_run(runs_root, tmp_path)
    _copy_run(runs_root, tmp_path, "agot-vs-cot")
    lines = (copy / "results.jsonl").read_text().splitlines()
    damaged = [lines[0], "{not json", lines[1], '{"id": "x"}', *lines[2:]]
    (copy / "results.jsonl").write_text("\n".join(damaged) + "\n")
    client = local_client(create_app(Catalog([copy.parent])))
    front = client.get("/")
    assert front.status_code == 200
    assert 'data-run="cot-again"' in front.text and 'data-run="agot-vs-cot"' in front.text
    assert "2 unreadable lines in results.jsonl (line 2, 4)" in front.text
    page = client.get("/run/cot-again")
    assert page.status_code == 200 and 'id="run-problems"' in page.text
    assert page.text.count('class="item-link"') == len(lines)
    assert client.get("/compare").status_code == 200
    export = tmp_path / "all.html"
    assert main(["view", str(copy.parent), "--export", str(export)]) == 0
    assert "unreadable lines" in readable(export.read_text())


def test_damaged_run_json_summary_and_trace_show_as_notes(runs_root, tmp_path):
    copy = _copy_run(runs_root, tmp_path)
    (copy / "run.json").write_text("[1, 2")
    (copy / "summary.json").write_text('{"groups": 5}')
    trace = next((copy / "traces").rglob("*.json"))
    trace.write_text('{"events": "not a list"}')
    client = local_client(create_app(Catalog([copy.parent])))
    assert client.get("/").status_code == 200
    page = client.get("/run/cot-again")
    assert page.status_code == 200
    assert "run.json is not readable JSON" in page.text and "summary.json" in page.text
    statuses = {client.get(f"/run/cot-again/item/{i}").status_code for i in range(4)}
    assert statuses == {200}


# -- provenance: how a run was made --------------------------------------------------------------
def test_run_json_records_resolved_settings_and_the_info_section_shows_them(tmp_path, capsys):
    import json

    out = tmp_path / "runs" / "prov"
    args = ["eval", "hotpotqa", "--data", str(HOTPOT), "--limit", "1", "--model", "scripted"]
    args += ["--strategy", "agot,sc", "--max-layers", "2", "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    info = json.loads((out / "run.json").read_text())
    agot_settings = info["strategy_settings"]["agot"]
    assert agot_settings["max_layers"] == 2  # given
    assert (agot_settings["max_depth"], agot_settings["max_nodes"]) == (1, 3)  # defaults
    assert agot_settings["temperature"] == 0.3 and info["strategy_settings"]["sc"]["n"] == 5
    assert info["command"] == ["agot", *args]
    page = local_client(create_app(Catalog([out.parent]))).get("/run/prov").text
    assert 'id="run-info"' in page and 'data-strategy="agot"' in page
    assert "max_layers</span>=2" in page and "max_depth</span>=1" in page
    assert "agot eval hotpotqa" in page and "agot version" in page


def test_the_tradeoff_plot_keeps_cheap_strategies_apart_on_a_log_axis():
    points = [("direct @ m", 120.0, 0.40, None, None), ("cot @ m", 300.0, 0.41, None, None)]
    svg = score_vs_tokens([*points, ("agot @ m", 30000.0, 0.6, 0.5, 0.7)], "em")
    xs = {name: float(x) for name, x in re.findall(r'data-series="([^"]+)"[^>]*cx="([\d.]+)"', svg)}
    assert xs["cot @ m"] - xs["direct @ m"] > 40  # linear from 0 to 30k: under 3 px apart
    assert "log scale" in svg
    labels = re.findall(r'class="point-label"[^>]*>([^<]+)<', svg)
    assert labels == ["direct", "cot", "agot"]
    assert ">1k<" in svg and ">10k<" in svg  # decade ticks, labelled


def test_item_calls_are_grouped_by_thought_in_start_order(client, runs_root):
    run = Catalog([runs_root]).run("agot-vs-cot")
    index = next(i for i, row in enumerate(run.rows) if row.strategy == "agot")
    page = client.get(f"/run/agot-vs-cot/item/{index}").text
    groups = re.findall(r'<section class="call-group" data-node="([^"]*)">', page)
    assert "2" in groups and len(groups) == len(set(groups)) > 2  # one section per thought
    assert re.search(r"thought 2: [^<]+<span", page) and 'href="#n_2"' in page
    sections = [part.split("</section>", 1)[0] for part in page.split('class="call-group"')[1:]]
    biggest = max(sections, key=lambda text: text.count("<details"))
    offsets = [float(x) for x in re.findall(r"· \+([\d.]+) s ·", biggest)]
    assert len(offsets) >= 2 and offsets == sorted(offsets)
    total = page.count('<details class="call')
    assert total == sum(1 for r in [run.trace(run.rows[index])] for _ in r["events"])


def test_export_on_several_processes_packs_the_same_pages(runs_root, monkeypatch):
    from agot.view import export

    serial = packed_pages(export.export_html(Catalog([runs_root])))
    monkeypatch.setattr(export, "PARALLEL_FROM", 1)
    monkeypatch.setattr(export.os, "cpu_count", lambda: 2)
    parallel = packed_pages(export.export_html(Catalog([runs_root])))
    assert list(parallel) == list(serial) and len(serial) == 12

    def strip_dates(html: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "", html)

    assert all(strip_dates(parallel[k]) == strip_dates(serial[k]) for k in serial)


def test_compare_warns_about_mixed_data_sets_and_keeps_score_colours(runs_root, tmp_path):
    import json
    import shutil

    copy = tmp_path / "runs" / "other-set"
    shutil.copytree(runs_root / "cot-again", copy)
    rows = [json.loads(line) for line in (copy / "results.jsonl").read_text().splitlines()]
    for row in rows:
        row["dataset"] = "musique"
    (copy / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (copy / "summary.json").unlink()
    (copy / "run.json").unlink()
    shutil.copytree(runs_root / "agot-vs-cot", tmp_path / "runs" / "agot-vs-cot")
    page = local_client(create_app(Catalog([tmp_path / "runs"]))).get("/compare").text
    assert 'class="warning compare-warning"' in page and "different data sets" in page
    flipped = page.split('data-flipped="1"', 1)[1].split("</tr>", 1)[0]
    assert "score-1" in flipped or "score-0" in flipped  # the cells keep their colours
    same = local_client(create_app(Catalog([runs_root]))).get("/compare").text
    assert "compare-warning" not in same


def test_flips_count_the_same_strategy_run_against_run(runs_root, tmp_path):
    import json
    import shutil

    for name in ("first", "second"):  # two runs that agree item by item
        copy = tmp_path / "runs" / name
        shutil.copytree(runs_root / "agot-vs-cot", copy)
        (copy / "summary.json").unlink()
        rows = [json.loads(line) for line in (copy / "results.jsonl").read_text().splitlines()]
        for row in rows:  # agot misses hp0002 where cot hits it, in both runs
            if row["id"] == "hp0002" and row["strategy"] == "agot":
                row["scores"] = {"em": 0.0, "f1": 0.0}
        (copy / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    client = local_client(create_app(Catalog([tmp_path / "runs"])))
    both = client.get("/compare?run=first&run=second").text
    assert "0 of 4 items flipped" in both  # agot vs cot inside a run is not a flip
    alone = client.get("/compare?run=first").text  # one run: its strategies against each other
    assert "1 of 4 items flipped" in alone


def test_item_page_shows_each_calls_sampling_schema_and_item_navigation(client, runs_root):
    """#31 item 11: each call's sampling parameters and reply schema (its JSON schema kept
    once per trace), previous/next links and the keyboard shortcuts that follow them."""
    run = Catalog([runs_root]).run("agot-vs-cot")
    index = next(i for i, row in enumerate(run.rows) if row.strategy == "agot" and i > 0)
    page = client.get(f"/run/agot-vs-cot/item/{index}").text
    assert re.search(r'<span class="setting">temperature 0\.3</span>', page)
    assert '<span class="setting">max_tokens' in page
    names = set(re.findall(r'<b class="schema-name">(\w+)</b>', page))
    assert names, "AGoT's structured calls name their reply schema"
    trace = run.trace(run.rows[index])
    assert names <= set(trace["schemas"]) and all(trace["schemas"][n]["properties"] for n in names)
    assert '<details class="schema"><summary>show</summary><pre>{' in page
    assert f'href="/run/agot-vs-cot/item/{index - 1}" id="prev-item" data-key="k"' in page
    assert f'href="/run/agot-vs-cot/item/{index + 1}" id="next-item" data-key="j"' in page
    assert (
        'id="back-to-run" data-key="u"' in page and 'nav class="small item-nav" data-keys' in page
    )
    last = client.get(f"/run/agot-vs-cot/item/{len(run.rows) - 1}").text
    assert 'id="next-item"' not in last and 'id="prev-item"' in last


def test_item_page_shows_the_judges_call_and_reason(tmp_path):
    """#31 item 11: where an LLM judge scored, its reason, model, parameters, prompt and reply."""

    from agot.evals.scorers import JudgeScorer, QAScorer

    def script(request):
        if request.role == "judge":
            return '{"equivalent": true, "reason": "both name the same river"}'
        return "Answer: the Amsel River"

    from agot.backends import ScriptedBackend

    out = tmp_path / "judged"
    asyncio.run(
        run_eval(
            "hotpotqa",
            data=str(HOTPOT),
            strategies=["cot"],
            models=[ScriptedBackend(script)],
            scorers=[QAScorer(), JudgeScorer()],
            out=str(out),
            progress=False,
            limit=1,
        )
    )
    page = local_client(create_app(Catalog([tmp_path]))).get("/run/judged/item/0").text
    assert '<div class="card" id="judge">' in page
    assert '<dd id="judge-reason">both name the same river</dd>' in page
    assert 'id="judge-prompt"' in page and "both name the same river" in page
    assert '<span class="setting">temperature 0' in page.split('id="judge"')[1]


def test_the_share_of_prompt_served_from_the_providers_cache_is_shown(runs_root, tmp_path):
    """The runs list, the run page and the item page show the cached share of prompt tokens,
    as the summary and `agot report` do."""
    import json
    import shutil

    copy = tmp_path / "cached-run"
    shutil.copytree(runs_root / "cot-again", copy)

    def cache(usage: dict) -> None:
        usage["cached_prompt_tokens"] = usage["prompt_tokens"] * 9 // 10

    rows = [json.loads(line) for line in (copy / "results.jsonl").read_text().splitlines()]
    for row in rows:
        cache(row["usage"])
    (copy / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = json.loads((copy / "summary.json").read_text())
    for group in summary["groups"]:
        cache(group["usage"])
    (copy / "summary.json").write_text(json.dumps(summary))
    client = local_client(create_app(Catalog([copy])))
    for path in ("/", "/run/cached-run", "/run/cached-run/item/0"):
        assert "(90% of prompt cached)" in client.get(path).text, path
    plain = local_client(create_app(Catalog([runs_root / "cot-again"])))
    assert "of prompt cached" not in plain.get("/run/cot-again/item/0").text


def test_compare_gives_the_paired_difference_run_against_run_per_strategy(client):
    """#31 item 13: a setup in two runs gets its paired difference with an interval, and the
    flips are counted per setup."""
    page = client.get("/compare?run=agot-vs-cot&run=cot-again").text
    table = page.split('id="compare-paired"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", table)
    assert [(a.strip(), m) for a, m in rows] == [
        ("agot-vs-cot − cot-again", "em · cot @ scripted:scripted")
    ]
    assert re.search(r"-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]", table)
    flips = re.search(r"cot @ scripted:scripted: (\d+)", page)
    total = re.search(r'id="flip-count">(\d+) of', page)
    assert flips and total and flips.group(1) == total.group(1) != "0"


def test_the_export_leaves_out_only_the_all_levels_picture(client, runs_root):
    """#31 item 15: an exported AGoT item keeps its top graph and nested graphs but not the
    picture that draws them again in one (a third of its bytes, one Graphviz run)."""
    from agot.view.export import export_html

    run = Catalog([runs_root]).run("agot-vs-cot")
    index = next(i for i, row in enumerate(run.rows) if row.strategy == "agot")
    served = client.get(f"/run/agot-vs-cot/item/{index}").text
    assert 'id="graph-all"' in served
    item = next(
        page
        for anchor, page in packed_pages(export_html(Catalog([runs_root]))).items()
        if anchor.endswith(f"-{index}") and "agot-vs-cot" in anchor
    )
    assert 'id="graph-top"' in item and 'details class="nested" data-node="2"' in item
    assert 'id="graph-all"' not in item
    # drawn by the built-in layout (no Graphviz process per picture), layer labels and all
    assert 'class="agot-graph"' in item and '<text class="layer-label"' in item
