"""Dataset loaders on fixtures in each dataset's real field layout (invented content).

The hub is never reached: conftest sets HF_HUB_OFFLINE / HF_DATASETS_OFFLINE, so "no --data"
exercises the offline error path.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from agot.errors import DatasetError
from agot.evals.datasets import dataset_names, get_dataset, load_dataset, register_dataset
from agot.evals.datasets.gpqa import shuffle_choices
from agot.evals.datasets.sources import DataSource
from agot.evals.records import EvalRecord
from agot.evals.scorers import QAScorer

FIXTURES = Path(__file__).parent / "fixtures"


def test_builtin_names_are_listed():
    names = dataset_names()
    for name in (
        "gpqa",
        "hotpotqa",
        "musique",
        "2wikimultihopqa",
        "morehopqa",
        "hybridqa",
        "fanoutqa",
    ):
        assert name in names


def test_hotpotqa_official_layout():
    records = load_dataset("hotpotqa", data=FIXTURES / "hotpotqa")
    assert [r.id for r in records] == ["hp0001", "hp0002", "hp0003", "hp0004"]
    first = records[0]
    assert first.gold == "the Amsel River"
    assert first.dataset == "hotpotqa"
    assert (
        "Title: Corvin City\nCorvin City lies on both banks of the Amsel River. It was"
        in first.context
    )
    assert first.metadata["supporting_facts"] == [("Veloria", 1), ("Corvin City", 0)]
    assert first.metadata["type"] == "bridge" and first.metadata["level"] == "medium"
    assert records[1].gold == "no"


def test_hotpotqa_hub_column_layout_matches_the_official_one():
    hub = load_dataset("hotpotqa", data=FIXTURES / "hotpotqa" / "hf_distractor_validation.jsonl")
    assert [r.id for r in hub] == ["hf0001", "hf0002"]
    assert hub[0].metadata["supporting_facts"] == [("Veloria", 1), ("Corvin City", 0)]
    assert hub[0].context.startswith("Title: Veloria\nVeloria is a landlocked country. Its capital")
    assert hub[1].metadata["titles"] == ["Lumen Stadium", "Orrin Arena"]


def test_hotpotqa_parquet_export(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rows = [
        json.loads(line)
        for line in (FIXTURES / "hotpotqa" / "hf_distractor_validation.jsonl")
        .read_text()
        .splitlines()
    ]
    target = tmp_path / "validation.parquet"
    pd.DataFrame(rows).to_parquet(target)
    records = load_dataset("hotpotqa", data=target)
    assert records[0].metadata["supporting_facts"] == [("Veloria", 1), ("Corvin City", 0)]
    assert "Corvin City lies on both banks" in records[0].context


def test_musique_aliases_and_decomposition():
    records = load_dataset("musique", data=FIXTURES / "musique")
    first = records[0]
    assert first.gold == ["Lake Oster", "Oster Lake", "Oster"]
    assert records[1].gold == "Tarn Mountains"  # no aliases: a plain string
    assert first.metadata["supporting_paragraphs"] == [0, 1]
    assert first.metadata["hops"] == 2
    assert "Title: Lake Oster\nLake Oster is a glacial lake." in first.context


def test_2wiki_aliases_from_id_aliases_file():
    records = load_dataset("2wiki", data=FIXTURES / "2wikimultihopqa")
    assert records[0].gold == ["Hendrik Orlan", "H. Orlan", "Hendrik J. Orlan"]
    assert records[0].metadata["evidences"][1] == ["Piet Orlan", "father", "Hendrik Orlan"]
    assert records[1].metadata["type"] == "comparison"


def test_2wiki_without_alias_file(tmp_path):
    shutil.copy(FIXTURES / "2wikimultihopqa" / "dev.json", tmp_path / "dev.json")
    records = load_dataset("2wikimultihopqa", data=tmp_path)
    assert records[0].gold == "Hendrik Orlan"


def test_morehopqa_keeps_the_previous_question_and_steps():
    records = load_dataset("morehopqa", data=FIXTURES / "morehopqa" / "morehopqa_final.json")
    first = records[0]
    assert (first.id, first.gold) == ("hp0003_1", "a")
    assert first.metadata["previous_answer"] == "Ada Quill"
    assert first.metadata["decomposition"][1]["details"][0]["answer"] == "Ada"
    assert "Brightwater Press was founded by the poet Ada Quill." in first.context


def test_hybridqa_renders_table_and_linked_passages():
    records = load_dataset("hybridqa", data=FIXTURES / "hybridqa")
    first = records[0]
    assert first.gold == "Corvin City"
    lines = first.context.splitlines()
    assert lines[0] == "Table: Velorian League (Top scorers)"
    assert lines[1] == "| Player | Club | Goals |"
    assert "| Tomas Hale | Corvin United | 12 |" in lines
    assert (
        "- Corvin United: Corvin United is a football club based in Corvin City." in first.context
    )
    assert first.metadata["table_id"] == "Velorian_League_top_scorers_0"


def test_hybridqa_hub_layout(tmp_path):
    row = {
        "question_id": "q1",
        "question": "Which club scored most?",
        "table_id": "t",
        "answer_text": "Corvin United",
        "table": {
            "title": "League",
            "section_title": "",
            "header": ["Club", "Goals"],
            "data": [
                {
                    "value": "Corvin United",
                    "urls": [{"url": "/wiki/Corvin_United", "summary": "A club."}],
                },
                {"value": "12", "urls": []},
                {"value": "Tarn FC", "urls": []},
                {"value": "3", "urls": []},
            ],
        },
    }
    (tmp_path / "dev.json").write_text(json.dumps([row]))
    record = load_dataset("hybridqa", data=tmp_path)[0]
    assert record.gold == "Corvin United"
    assert "| Corvin United | 12 |\n| Tarn FC | 3 |" in record.context
    assert "- Corvin United: A club." in record.context


def test_hybridqa_without_tables_says_where_to_get_them(tmp_path):
    shutil.copy(FIXTURES / "hybridqa" / "released_data" / "dev.json", tmp_path / "dev.json")
    with pytest.raises(DatasetError, match="tables_tok"):
        load_dataset("hybridqa", data=tmp_path / "dev.json")


def test_fanoutqa_gold_decomposition_is_a_dag():
    records = load_dataset("fanoutqa", data=FIXTURES / "fanoutqa")
    first = records[0]
    assert first.gold == {"Corvin City": "1312", "Pellham": "1401", "Tarnholm": "1520"}
    assert first.context is None  # closed book
    nodes = {n["id"]: n for n in first.metadata["decomposition"]}
    assert nodes["fo0001-2"]["depends_on"] == ["fo0001-0"]
    assert nodes["fo0001-1"]["evidence_title"] == "Corvin City"
    nested = {n["id"]: n for n in records[1].metadata["decomposition"]}
    assert nested["fo0002-0-0"]["parent"] == "fo0002-0"
    assert records[2].gold is True


# -- GPQA -----------------------------------------------------------------------------------
def test_gpqa_shuffle_is_seeded_per_record():
    records = load_dataset("gpqa", data=FIXTURES / "gpqa", seed=0)
    again = load_dataset("gpqa", data=FIXTURES / "gpqa", seed=0)
    assert [r.choices for r in records] == [r.choices for r in again]
    for record in records:
        assert record.gold in "ABCD"
        assert sorted(record.metadata["permutation"]) == [0, 1, 2, 3]
        assert record.metadata["shuffle_seed"] == 0
    first = records[0]
    assert first.choices[ord(first.gold) - ord("A")] == "4"  # the correct answer's letter
    assert sorted(first.choices) == ["22", "3", "4", "5"]
    # an item's order depends on (seed, id) only, not on which items were loaded
    assert load_dataset("gpqa", data=FIXTURES / "gpqa", seed=0, limit=1)[0].choices == first.choices
    other = load_dataset("gpqa", data=FIXTURES / "gpqa", seed=7)
    assert [r.choices for r in other] != [r.choices for r in records]


def test_shuffle_choices_spreads_the_gold_letter():
    letters = {
        shuffle_choices("right", ["w1", "w2", "w3"], seed=0, record_id=f"r{i}")[1]
        for i in range(40)
    }
    assert letters == {"A", "B", "C", "D"}


def test_gpqa_subsets_and_the_zip_release(tmp_path):
    main = load_dataset("gpqa", data=FIXTURES / "gpqa", subset="main")
    assert main[0].metadata["subset"] == "main"
    archive = tmp_path / "dataset.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FIXTURES / "gpqa" / "gpqa_diamond.csv", "dataset/gpqa_diamond.csv")
    from_zip = load_dataset("gpqa", data=archive)
    assert [r.choices for r in from_zip] == [
        r.choices for r in load_dataset("gpqa", data=FIXTURES / "gpqa")
    ]
    with pytest.raises(DatasetError, match="no subset"):
        load_dataset("gpqa", data=FIXTURES / "gpqa", subset="platinum")
    with pytest.raises(DatasetError, match=r"gpqa_extended\.csv"):
        load_dataset("gpqa", data=FIXTURES / "gpqa", subset="extended")


def test_gpqa_is_private():
    assert get_dataset("gpqa").private is True
    assert "Answer: X" in get_dataset("gpqa").answer_format


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hotpotqa", "gpqa", "musique", "2wikimultihopqa"])
def test_offline_without_data_names_the_flag(name):
    with pytest.raises(DatasetError) as info:
        load_dataset(name)
    message = str(info.value)
    assert "--data" in message and "\n" not in message


@pytest.mark.parametrize("name", ["morehopqa", "fanoutqa"])
def test_sets_that_are_not_on_the_hub(name):
    if name == "fanoutqa" and importlib.util.find_spec("fanoutqa") is not None:
        pytest.skip("the fanoutqa package is installed and ships the dev set")
    with pytest.raises(DatasetError, match="--data"):
        load_dataset(name)


def test_missing_path_and_unknown_names():
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("hotpotqa", data="/no/such/file.json")
    with pytest.raises(DatasetError, match="unknown dataset"):
        get_dataset("imagenet")
    with pytest.raises(DatasetError, match="no split"):
        load_dataset("hotpotqa", data=FIXTURES / "hotpotqa", split="test")


def test_dev_means_validation_for_builtin_sets():
    assert get_dataset("hotpotqa").resolve_split("dev") == "validation"
    assert len(load_dataset("hotpotqa", data=FIXTURES / "hotpotqa", split="dev")) == 4


def test_a_folder_without_the_file_lists_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"notes\.txt"):
        load_dataset("musique", data=tmp_path)


def test_bad_json_is_a_dataset_error(tmp_path):
    bad = tmp_path / "hotpot.json"
    bad.write_text("[{")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_dataset("hotpotqa", data=bad)


# -- registry -------------------------------------------------------------------------------
def test_register_a_dataset_with_its_own_scorer():
    seen = {}

    def loader(*, data, split):  # declares only what it uses
        seen.update(data=data, split=split)
        for i in range(5):
            yield EvalRecord(id=f"x{i}", dataset="toy", question=f"q{i}", gold=str(i))

    spec = register_dataset("toy", loader, scorer=QAScorer(), default_split="dev")
    assert get_dataset("TOY") is spec
    records = spec.load(limit=3)
    assert [r.id for r in records] == ["x0", "x1", "x2"]
    assert seen == {"data": None, "split": "dev"}  # a plugin's own split names pass through
    assert isinstance(spec.scorers[0], QAScorer)


def test_a_dataset_registered_by_its_source_is_named_by_it_and_gets_the_defaults():
    seen = {}

    def loader(*, subset, split):  # no fallbacks: the spec fills in its defaults
        seen.update(subset=subset, split=split)
        return [EvalRecord(id="a", dataset="toy_source", question="q", gold="g")]

    source = DataSource("Toy_Source", "download toy.json from example.org")
    spec = register_dataset(source, loader, subsets=("small", "big"), splits=("test", "train"))
    assert get_dataset("toy_source") is spec
    assert spec.how_to_get == "download toy.json from example.org"
    spec.load()
    assert seen == {"subset": "small", "split": "test"}
    spec.load(subset="BIG", split="train")
    assert seen == {"subset": "big", "split": "train"}


def test_duplicate_ids_are_refused():
    def loader():
        return [EvalRecord(id="same", dataset="dup", question="q", gold="a")] * 2

    register_dataset("dup", loader)
    with pytest.raises(DatasetError, match="twice"):
        load_dataset("dup")


def test_exact_tasks_are_bridged():
    from agot.evals.tasks.game24 import GAME24

    spec = get_dataset("game24")
    assert spec.scorers[0].headline_metric == GAME24.headline
    records = spec.load(data=FIXTURES / "game24" / "24.csv", split="all", limit=2)
    assert len(records) == 2


def test_a_record_becomes_the_task_the_model_sees_without_its_gold() -> None:
    shown = {"question": "Which is larger?", "context": "Passage one.", "choices": ["ten", "11"]}
    hidden = {"gold": "B", "metadata": {"gold_steps": ["secret-step"]}}
    record = EvalRecord(id="r1", dataset="demo", **shown, **hidden)
    task = record.to_task("Answer with the letter.")
    assert {key: getattr(task, key) for key in shown} == shown and task.id == "r1"
    assert task.answer_format == "Answer with the letter."
    assert "secret-step" not in task.render() and record.to_task().answer_format is None
