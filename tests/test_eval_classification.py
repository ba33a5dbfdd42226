"""Sentiment sets and the Kairanban variants in ``agot eval``: registry, rows, summary metrics.

The scripted table ``fixtures/sentiment/kairanban_scripted_table.json`` answers the three
TweetEval fixture tweets (gold negative, neutral, positive) so that every variant predicts
differently, with values small enough to check by hand:

* agent 1 (the first agent of any variant, and every independent agent) is keyed on the tweet
  text and writes ``MARK-x1``: A (.6 .3 .1), B (.1 .3 .6), C (0 .2 .8);
* an agent that sees ``MARK-x1`` on the board writes ``MARK-x2``: A (.5 .4 .1), B (.2 .5 .3),
  C (.1 .6 .3); one that sees ``MARK-x2`` writes A (.7 .2 .1), B (.1 .8 .1), C (.2 .5 .3);
* an idobata comment is ``COMMENT-x``, and an agent that saw it writes the gold label at .9.

So with 3 agents and the idobata round after agent 2: ``single`` = independent = agent 1
(A right, B wrong, C right), ``kcs`` = agent 3 (A right, B right, C wrong), ``kcs+ibc`` is
right on all three.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import agot.cli
from agot.backends.scripted import ScriptedBackend
from agot.errors import ConfigError
from agot.evals.classification import (
    ClassificationScorer,
    canonical_strategy,
    parse_label,
)
from agot.evals.datasets import dataset_names, get_dataset, load_dataset
from agot.evals.run_folder import read_results
from agot.evals.runner import run_eval
from agot.result import Result
from agot.strategies import get_strategy

FIXTURES = Path(__file__).parent / "fixtures"
TWEETEVAL = FIXTURES / "sentiment" / "tweeteval"
TABLE = FIXTURES / "sentiment" / "kairanban_scripted_table.json"
LABELS = ("negative", "neutral", "positive")
GOLD = {"test-0": "negative", "test-1": "neutral", "test-2": "positive"}
FIRST = {"test-0": (0.6, 0.3, 0.1), "test-1": (0.1, 0.3, 0.6), "test-2": (0.0, 0.2, 0.8)}
THIRD = {"test-0": (0.7, 0.2, 0.1), "test-1": (0.1, 0.8, 0.1), "test-2": (0.2, 0.5, 0.3)}
EPS = np.finfo(float).eps


def run_cli(argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    return agot.cli.main(argv)


def brier(dist: tuple[float, ...], gold: str) -> float:
    return sum((p - (label == gold)) ** 2 for p, label in zip(dist, LABELS, strict=True))


# -- the registry -------------------------------------------------------------------------------
def test_sentiment_sets_are_registered_with_their_labels(monkeypatch, capsys):
    names = dataset_names()
    assert {"sst5", "tweet_eval", "financial_phrasebank"} <= set(names)
    assert get_dataset("tweeteval").name == "tweet_eval"
    assert get_dataset("tweet_eval_sentiment").name == "tweet_eval"
    assert get_dataset("fpb").name == "financial_phrasebank"
    sst5 = get_dataset("SST-5")
    assert sst5.labels == ("very negative", "negative", "neutral", "positive", "very positive")
    assert isinstance(sst5.scorers[0], ClassificationScorer)
    assert "very negative" in sst5.answer_format

    records = load_dataset("sst5", data=FIXTURES / "sentiment" / "sst5", split="dev")
    assert [r.id for r in records] == ["validation-0", "validation-1"]
    records = load_dataset("tweet_eval", data=TWEETEVAL, limit=2)
    assert [r.gold for r in records] == ["negative", "neutral"]
    fpb = get_dataset("financial_phrasebank")
    assert fpb.default_subset == "sentences_allagree" and "sentences_50agree" in fpb.subsets
    data = FIXTURES / "sentiment" / "financial_phrasebank"
    assert len(load_dataset("fpb", data=data, subset="sentences_50agree")) == 5

    assert run_cli(["eval", "list"], monkeypatch) == 0
    listed = capsys.readouterr().out
    assert "tweet_eval: TweetEval sentiment" in listed
    assert "financial_phrasebank [sentences_allagree|" in listed


# -- the four variants end to end ---------------------------------------------------------------
def test_four_variants_end_to_end_on_a_scripted_table(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code = run_cli(
        [
            "eval", "tweet_eval", "--data", str(TWEETEVAL),
            "--strategy", "single,independent,kcs,kcs+ibc",
            "--agents", "3", "--idobata-at", "2",
            "--model", f"scripted/{TABLE}", "--out", str(out), "--quiet", "--resamples", "100",
        ],
        monkeypatch,
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    variants = ["single", "independent-vote", "independent-mean", "kcs", "kcs+ibc"]
    table_rows = [line.split()[0] for line in printed.splitlines()[2:7]]
    assert table_rows == variants  # in the order asked for
    assert "3*: H 0.394" in printed  # kcs+ibc's last stage came after the idobata round

    rows = read_results(out / "results.jsonl")
    assert len(rows) == 15
    by = {(r.strategy, r.id): r for r in rows}
    assert set(by) == {(v, i) for v in variants for i in GOLD}
    for row in rows:
        assert row.error is None and row.gold == GOLD[row.id]
        assert row.details["labels"] == list(LABELS)
        assert sum(row.details["distribution"].values()) == pytest.approx(1.0)
        assert Result.load_trace(out / row.trace).strategy == row.strategy
        document = json.loads(row.raw)  # the last agent's own document
        assert set(document) == {"analysis", "reasoning", "distribution"}

    # single: agent 1's distribution, argmax prediction, per-item Brier and log loss
    for item, dist in FIRST.items():
        row = by["single", item]
        assert row.details["distribution"] == pytest.approx(dict(zip(LABELS, dist, strict=True)))
        assert row.scores["brier"] == pytest.approx(brier(dist, GOLD[item]))
        assert row.scores["log_loss"] == pytest.approx(-math.log(dist[LABELS.index(GOLD[item])]))
    assert [by["single", i].prediction for i in GOLD] == ["negative", "positive", "positive"]
    assert [by["kcs", i].prediction for i in GOLD] == ["negative", "neutral", "neutral"]
    assert [by["kcs+ibc", i].prediction for i in GOLD] == list(GOLD.values())
    assert by["kcs", "test-2"].scores == {
        "accuracy": 0.0,
        "unparsed": 0.0,
        "brier": pytest.approx(brier(THIRD["test-2"], "positive")),
        "log_loss": pytest.approx(-math.log(0.3)),
    }
    # independent agents all wrote agent 1's document: the vote row holds the vote shares
    assert by["independent-vote", "test-1"].details["distribution"] == {
        "negative": 0.0,
        "neutral": 0.0,
        "positive": 1.0,
    }
    assert by["independent-mean", "test-1"].details["distribution"] == pytest.approx(
        dict(zip(LABELS, FIRST["test-1"], strict=True))
    )
    assert len(by["kcs+ibc", "test-0"].details["trajectory"]) == 3

    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"] == "accuracy"
    groups = {g["strategy"]: g for g in summary["groups"]}
    m = {name: {k: v["value"] for k, v in g["metrics"].items()} for name, g in groups.items()}
    # single: right on A (conf .6) and C (conf .8), wrong on B (conf .6)
    assert m["single"]["accuracy"] == pytest.approx(2 / 3)
    assert m["single"]["brier"] == pytest.approx((0.26 + 0.86 + 0.08) / 3)
    assert m["single"]["log_loss"] == pytest.approx(-(math.log(0.6 * 0.3 * 0.8)) / 3)
    assert m["single"]["macro_f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert m["single"]["ece"] == pytest.approx(2 / 3 * 0.1 + 1 / 3 * 0.2)
    assert m["independent-mean"] == pytest.approx(m["single"])
    # vote shares are one-hot: Brier 2 and a clipped log loss on the wrong item
    assert m["independent-vote"]["brier"] == pytest.approx(2 / 3)
    assert m["independent-vote"]["log_loss"] == pytest.approx(-math.log(EPS) / 3, rel=1e-6)
    assert m["independent-vote"]["ece"] == pytest.approx(1 / 3)
    # kcs: right on A (.7) and B (.8), wrong on C (.5)
    assert m["kcs"]["accuracy"] == pytest.approx(2 / 3)
    assert m["kcs"]["brier"] == pytest.approx((0.14 + 0.06 + 0.78) / 3)
    assert m["kcs"]["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert m["kcs"]["ece"] == pytest.approx((0.3 + 0.2 + 0.5) / 3)
    # kcs+ibc: all right at .9
    assert m["kcs+ibc"]["accuracy"] == 1.0 and m["kcs+ibc"]["macro_f1"] == 1.0
    assert m["kcs+ibc"]["brier"] == pytest.approx(0.1**2 + 2 * 0.05**2)
    assert m["kcs+ibc"]["log_loss"] == pytest.approx(-math.log(0.9))
    assert m["kcs+ibc"]["ece"] == pytest.approx(0.1)
    acc = groups["single"]["metrics"]["accuracy"]
    assert acc["low"] <= acc["value"] <= acc["high"] and acc["n"] == 3
    # calls: 1, N (one shared run for both independent rows), N, N + N comments
    calls = {name: g["usage"]["calls"] for name, g in groups.items()}
    assert calls == {
        "single": 3,
        "independent-vote": 9,
        "independent-mean": 9,
        "kcs": 9,
        "kcs+ibc": 18,
    }
    # per-stage means: stage 1 is agent 1 everywhere (variance 0); idobata marks stage 3
    h1 = np.mean([-sum(p * math.log(p) for p in d if p > 0) for d in FIRST.values()])
    for name in variants:
        assert groups[name]["stages"][0]["mean_entropy"] == pytest.approx(h1)
        assert groups[name]["stages"][0]["mean_variance"] == 0.0
    ibc = groups["kcs+ibc"]["stages"]
    assert [s["after_idobata"] for s in ibc] == [False, False, True]
    assert ibc[2]["mean_entropy"] == pytest.approx(-(0.9 * math.log(0.9) + 0.1 * math.log(0.05)))
    assert [s["stage"] for s in groups["single"]["stages"]] == [1]
    run = json.loads((out / "run.json").read_text())
    assert "mode=kcs+ibc, agents=3, idobata_at=2" in run["strategies"]["kcs+ibc"]

    # agot report computes the corpus metrics with the scorer run.json recorded: the same
    # macro-F1 and ECE as the eval printed (it refused them before: no row holds them).
    from agot.evals.report import build_report

    for metric in ("macro_f1", "ece"):
        report = build_report([out], metric=metric, resamples=100)
        cells = {row.strategy: row.cells["tweet_eval"] for row in report.rows}
        for name in variants:
            assert cells[name].value == pytest.approx(m[name][metric]), (metric, name)


async def test_independent_rows_share_one_run_and_kairanban_follows_idobata_at(tmp_path):
    table = json.loads(TABLE.read_text())["replies"]
    records = load_dataset("tweet_eval", data=TWEETEVAL)

    async def run(strategies, out, **params):
        backend = ScriptedBackend(table)
        summary = await run_eval(
            "tweet_eval",
            records=records,
            strategies=strategies,
            models=[backend],
            out=str(tmp_path / out),
            per_strategy_params={"kairanban": {"agents": 3, **params}},
            progress=False,
            resamples=100,
        )
        return backend, summary

    backend, summary = await run(["independent"], "ind")
    assert len(backend.calls) == 9  # 3 agents x 3 items, read by two rows
    assert [g.strategy for g in summary.groups] == ["independent-vote", "independent-mean"]

    backend, summary = await run(["kairanban"], "kr0", idobata_at=0)
    assert len(backend.calls) == 9 and {c.request.role for c in backend.calls} == {"vote"}
    assert summary.group("kairanban").metrics["accuracy"].value == pytest.approx(2 / 3)

    backend, summary = await run(["kairanban"], "kr")  # default K = 3 // 2 + 1 = 2
    assert len(backend.calls) == 18
    assert summary.group("kairanban").metrics["accuracy"].value == 1.0


async def test_text_strategies_are_scored_by_their_stated_label(tmp_path):
    replies = {
        "answer:drains my battery": "Clearly unhappy.\nAnswer: Negative",
        "answer:library": "Nothing emotional here.\nAnswer: positive",
        "*": "I would rather not say.",
    }
    summary = await run_eval(
        "tweet_eval",
        data=str(TWEETEVAL),
        strategies=["direct"],
        models=[ScriptedBackend(replies)],
        out=str(tmp_path / "text"),
        progress=False,
        resamples=100,
    )
    rows = {r.id: r for r in read_results(tmp_path / "text" / "results.jsonl")}
    assert rows["test-0"].prediction == "negative" and rows["test-0"].scores["brier"] == 0.0
    assert rows["test-1"].scores == {
        "accuracy": 0.0,
        "unparsed": 0.0,
        "brier": 2.0,
        "log_loss": pytest.approx(-math.log(EPS), rel=1e-6),
    }
    assert rows["test-2"].prediction is None
    assert rows["test-2"].scores == {"accuracy": 0.0, "unparsed": 1.0}
    g = summary.group("direct")
    assert g.metrics["accuracy"].value == pytest.approx(1 / 3)
    assert g.metrics["brier"].n == 2 and g.metrics["macro_f1"].n == 2  # answered items only
    assert g.unparsed == pytest.approx(1 / 3) and g.stages == []


def test_parse_label_reads_the_stated_label_only():
    five = ("very negative", "negative", "neutral", "positive", "very positive")
    assert parse_label("Mixed.\nAnswer: very negative", five) == "very negative"
    assert parse_label("the answer is **Positive**.", five) == "positive"
    assert parse_label("Answer: negative\nNo wait. Answer: neutral", five) == "neutral"
    assert parse_label("  Neutral. ", five) == "neutral"
    assert parse_label("Answer: negatively charged", five) is None
    assert parse_label("It is positive, I think", five) is None
    assert parse_label(None, five) is None


def test_strategy_names_and_configuration_errors(tmp_path, monkeypatch, capsys):
    assert canonical_strategy("KCS-IBC") == "kcs+ibc" and canonical_strategy("cot") is None
    kcs = get_strategy("kcs", labels=LABELS, agents=4)
    assert kcs.idobata_at is None and kcs.readings == ("last",)
    assert get_strategy("kairanban", labels=LABELS, agents=5).idobata_at == 3
    independent = get_strategy("independent", labels=LABELS, agents=3)
    assert independent.independent and independent.readings == ("vote", "mean")
    assert get_strategy("vote", labels=LABELS).readings == ("vote",)
    with pytest.raises(ConfigError, match="kcs\\+ibc needs an idobata round"):
        get_strategy("kcs+ibc", labels=LABELS, idobata_at=0)
    with pytest.raises(ConfigError, match="idobata_at must be between 1 and agents"):
        get_strategy("kcs+ibc", labels=LABELS, agents=2, idobata_at=3)
    with pytest.raises(ConfigError, match=r"--idobata-at \(0: none\) must be at least 0"):
        get_strategy("kairanban", labels=LABELS, idobata_at=-1)

    hotpot = FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    base = ["eval", "--model", "scripted", "--quiet", "--out", str(tmp_path / "x")]
    assert run_cli([*base, "hotpotqa", "--data", str(hotpot), "--strategy", "kcs"], monkeypatch)
    assert "classifies texts into labels" in capsys.readouterr().err
    argv = [*base, "tweet_eval", "--data", str(TWEETEVAL), "--strategy", "cot", "--agents", "3"]
    assert run_cli(argv, monkeypatch) == 2
    assert "--agents/--idobata-at need a Kairanban strategy" in capsys.readouterr().err
    argv = [*base, "tweet_eval", "--data", str(TWEETEVAL), "--strategy", "independent,vote"]
    assert run_cli(argv, monkeypatch) == 2
    assert "'independent-vote' is listed twice" in capsys.readouterr().err


def test_independent_is_one_unit_writing_two_rows_and_resumes_the_missing_one(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    argv = [
        "eval", "tweet_eval", "--data", str(TWEETEVAL), "--strategy", "independent",
        "--agents", "3", "--model", f"scripted/{TABLE}", "--out", str(out), "--quiet",
        "--resamples", "100",
    ]  # fmt: skip
    assert run_cli(argv, monkeypatch) == 0
    results = out / "results.jsonl"
    first = read_results(results)
    assert sorted((r.id, r.strategy) for r in first) == sorted(
        (i, s) for i in GOLD for s in ("independent-vote", "independent-mean")
    )
    kept = [line for line in results.read_text().splitlines() if '"independent-mean"' not in line
            or '"test-0"' not in line]  # fmt: skip
    results.write_text("\n".join(kept) + "\n")
    assert run_cli([*argv, "--resume"], monkeypatch) == 0
    added = read_results(results)[len(kept) :]
    assert [(r.id, r.strategy) for r in added] == [("test-0", "independent-mean")]
    again = next(r for r in first if (r.id, r.strategy) == ("test-0", "independent-mean"))
    assert added[0].prediction == again.prediction and added[0].usage.calls == 3


async def test_default_scripted_replies_are_parseable_but_fail_as_recorded_errors(tmp_path):
    """Without a table the scripted backend writes a document with the right (label) keys and
    all-zero probabilities: re-asked, then every agent fails, and the row says so."""
    backend = ScriptedBackend()
    summary = await run_eval(
        "sst5",
        data=str(FIXTURES / "sentiment" / "sst5"),
        strategies=["kcs"],
        models=[backend],
        per_strategy_params={"kairanban": {"agents": 2}},
        out=str(tmp_path / "zeros"),
        limit=2,
        progress=False,
        resamples=100,
    )
    rows = read_results(tmp_path / "zeros" / "results.jsonl")
    assert len(rows) == 2
    for row in rows:
        assert row.error.startswith("no agent produced a valid distribution")
        assert "every probability is 0" in row.error  # so the keys matched the labels
        assert row.scores == {"accuracy": 0.0, "unparsed": 1.0}
    g = summary.group("kcs")
    assert g.errors == 2 and g.metrics["macro_f1"].value is None
    assert g.usage.calls == len(backend.calls) == 2 * 2 * 3  # 2 items x 2 agents x 3 asks
