"""Sentiment loaders (SST-5, TweetEval, Financial PhraseBank) on fixtures in each real layout.

The fixtures under ``tests/fixtures/sentiment`` are rows written for these tests in the data
sets' own file layouts; nothing here reaches the network (the hub path is exercised offline and
through a stand-in for the download).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agot.errors import DatasetError
from agot.evals.datasets import get_dataset, load_dataset, sentiment, sources
from agot.evals.datasets.sentiment import (
    SENTIMENT3_LABELS,
    SST5_LABELS,
    load_financial_phrasebank,
    load_sst5,
    load_tweet_eval,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sentiment"


def test_sst5_setfit_jsonl_folder():
    records = list(load_sst5(FIXTURES / "sst5"))
    assert [r.gold for r in records] == list(SST5_LABELS)
    assert [r.id for r in records] == [f"test-{n}" for n in range(5)]
    first = records[0]
    assert first.dataset == "sst5" and first.question.startswith("a dreary , joyless slog")
    assert first.metadata["labels"] == list(SST5_LABELS) and first.metadata["label_id"] == 0
    assert first.metadata["split"] == "test"
    dev = list(load_sst5(FIXTURES / "sst5", split="validation"))
    assert [r.gold for r in dev] == ["negative", "very positive"]
    assert [r.id for r in load_sst5(FIXTURES / "sst5", split="dev")] == [
        "validation-0",
        "validation-1",
    ]


def test_sst5_single_file_and_ptb_trees():
    assert len(list(load_sst5(FIXTURES / "sst5" / "test.jsonl", limit=2))) == 2
    trees = list(load_sst5(FIXTURES / "sst5_ptb"))
    assert [r.gold for r in trees] == ["very positive", "very negative", "neutral"]
    assert trees[0].question == "A dazzling , heartfelt triumph ."
    assert trees[1].question == "The worst hour of my (weekend)"


def test_tweeteval_original_folder_layout_with_mapping():
    records = list(load_tweet_eval(FIXTURES / "tweeteval"))
    assert [r.gold for r in records] == ["negative", "neutral", "positive"]
    assert records[0].question.startswith("@user the new update drains")
    assert records[0].dataset == "tweet_eval" and records[0].id == "test-0"
    val = list(load_tweet_eval(FIXTURES / "tweeteval" / "datasets" / "sentiment", split="val"))
    assert [(r.id, r.gold) for r in val] == [("val-0", "negative"), ("val-1", "positive")]
    assert len(list(load_tweet_eval(FIXTURES / "tweeteval", limit=1))) == 1


def test_tweeteval_hub_column_layout_file():
    records = list(load_tweet_eval(FIXTURES / "tweeteval" / "tweet_eval_hub_layout.jsonl"))
    assert [r.gold for r in records] == ["negative", "positive"]
    assert records[0].metadata["labels"] == list(SENTIMENT3_LABELS)


def test_tweeteval_mismatched_files_are_a_dataset_error(tmp_path):
    (tmp_path / "test_text.txt").write_text("one\ntwo\n")
    (tmp_path / "test_labels.txt").write_text("0\n")
    with pytest.raises(DatasetError, match=r"has 2 lines but test_labels\.txt has 1"):
        load_tweet_eval(tmp_path)
    (tmp_path / "test_labels.txt").write_text("0\n7\n")
    with pytest.raises(DatasetError, match="label id 7"):
        load_tweet_eval(tmp_path)


def test_financial_phrasebank_authors_files_latin1():
    records = list(load_financial_phrasebank(FIXTURES / "financial_phrasebank"))
    assert [r.gold for r in records] == ["positive", "neutral", "negative", "neutral"]
    assert (
        records[2].question == "Net sales fell by 18 % to £ 41.2 mn as demand in Zürich weakened ."
    )
    assert records[0].id == "sentences_allagree-0" and records[0].metadata["split"] == "train"
    fifty = list(load_financial_phrasebank(FIXTURES / "financial_phrasebank", subset="50"))
    assert len(fifty) == 5
    assert fifty[-1].question.endswith("although @ the integration may take time .")
    assert fifty[-1].gold == "positive"


def test_financial_phrasebank_hub_column_layout_file():
    path = FIXTURES / "financial_phrasebank" / "fpb_hub_layout.csv"
    records = list(load_financial_phrasebank(path))
    assert [(r.gold, r.metadata["label_id"]) for r in records] == [("positive", 2), ("negative", 0)]


def test_malformed_phrasebank_line(tmp_path):
    bad = tmp_path / "Sentences_AllAgree.txt"
    bad.write_text("no label on this line\n")
    with pytest.raises(DatasetError, match="expected 'sentence@label'"):
        load_financial_phrasebank(bad)
    bad.write_text("Profit rose .@great\n")
    with pytest.raises(DatasetError, match="unknown label 'great'"):
        load_financial_phrasebank(bad)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: load_sst5(FIXTURES / "sst5", split="holdout"), "no split 'holdout'"),
        (lambda: load_sst5(FIXTURES / "sst5", split="train"), "no train file"),
        (lambda: load_sst5(FIXTURES / "missing"), "does not exist"),
        (lambda: load_financial_phrasebank(FIXTURES / "sst5", subset="90"), "no subset '90'"),
        (lambda: load_financial_phrasebank(FIXTURES / "sst5"), "no Sentences_AllAgree.txt"),
        (
            lambda: load_financial_phrasebank(FIXTURES / "financial_phrasebank", split="test"),
            "no split",
        ),
        (lambda: load_tweet_eval(FIXTURES / "tweeteval", limit=0), "positive integer"),
        (lambda: load_dataset("imdb"), "unknown dataset 'imdb'"),
        (lambda: load_dataset("sst5", data=FIXTURES / "sst5", subset="x"), "has no subsets"),
    ],
)
def test_bad_requests_are_dataset_errors(call, message):
    with pytest.raises(DatasetError, match=message):
        call()


def test_registry_names_and_aliases():
    tweets = load_dataset("tweeteval", data=FIXTURES / "tweeteval")
    assert [r.gold for r in tweets] == list(SENTIMENT3_LABELS)
    assert {r.dataset for r in tweets} == {"tweet_eval"} == {get_dataset("tweeteval").name}
    for subset in ("50", "sentences_50agree"):  # the set's short forms hold in the registry too
        fpb = load_dataset("fpb", data=FIXTURES / "financial_phrasebank", subset=subset)
        assert len(fpb) == 5 and fpb[0].id == "sentences_50agree-0"
    with pytest.raises(DatasetError, match="Financial PhraseBank has no subset '90'"):
        load_dataset("fpb", data=FIXTURES / "financial_phrasebank", subset="90")
    assert get_dataset("sst-5").labels == SST5_LABELS


def test_hub_failure_says_where_to_get_the_data_and_which_flag(monkeypatch):
    def offline(hub_id, config, split, data_files=None):
        raise ConnectionError("Couldn't reach the Hugging Face Hub")

    monkeypatch.setattr(sources, "hub_rows", offline)
    with pytest.raises(DatasetError) as info:
        load_sst5()
    message = str(info.value)
    assert "SetFit/sst5" in message and "--data PATH" in message
    assert "https://huggingface.co/datasets/SetFit/sst5" in message
    assert "\n" not in message


def test_hub_rows_become_records(monkeypatch):
    rows = [{"text": "great stuff", "label": 2}, {"text": "awful", "label": 0}]
    seen = {}

    def fake(hub_id, config, split, data_files=None):
        seen.update(hub_id=hub_id, config=config, split=split)
        return rows

    monkeypatch.setattr(sources, "hub_rows", fake)
    records = list(load_tweet_eval(split="validation"))
    assert seen == {"hub_id": "cardiffnlp/tweet_eval", "config": "sentiment", "split": "validation"}
    assert [r.gold for r in records] == ["positive", "negative"]
    assert records[0].metadata["source"] == "hub:cardiffnlp/tweet_eval"
    list(load_financial_phrasebank(subset="75"))
    assert seen["config"] == "sentences_75agree" and seen["split"] == "train"
    list(load_financial_phrasebank())
    assert seen["config"] == "sentences_allagree"  # the default subset names the hub config
    list(load_sst5())
    assert seen == {"hub_id": "SetFit/sst5", "config": None, "split": "test"}


def test_the_first_split_listed_is_the_default_here_and_in_the_registry():
    defaults = {sentiment.SST5: "test", sentiment.TWEET_EVAL: "test"}
    for spec, split in {**defaults, sentiment.FINANCIAL_PHRASEBANK: "train"}.items():
        assert get_dataset(spec.name).default_split == split == spec.default_split


def test_without_the_datasets_package_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(DatasetError, match=r"needs the `datasets` package .*--data PATH"):
        load_tweet_eval()


@pytest.mark.timeout(120)
def test_really_offline_hub_is_a_dataset_error(monkeypatch, tmp_path):
    # conftest sets HF_HUB_OFFLINE=1: datasets must fail from its (empty) cache, not the network.
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    with pytest.raises(DatasetError, match=r"could not load SetFit/sst5 .*--data PATH"):
        load_sst5()
