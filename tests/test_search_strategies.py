"""Tree of Thoughts, Atom of Thoughts and best-of-N: their control logic, on scripted replies."""

from __future__ import annotations

import json
from typing import Any

import pytest

import agot
from agot.backends.scripted import ScriptedBackend
from agot.budget import Budget
from agot.errors import BackendError, ConfigError
from agot.graph import ThoughtGraph
from agot.strategies import AoT, BestOfN, ToT, get_strategy
from agot.strategies.atom_of_thoughts import Decomposition, Subquestion, clean_dependencies
from agot.strategies.best_of_n import SampleRating
from agot.strategies.tot_game24 import numbers_left, puzzle_numbers, value_label, value_of
from agot.strategies.tree_of_thoughts import parse_vote
from agot.task import Task
from agot.testing.search_scripts import (
    CROSSWORD,
    PUZZLE,
    SOLUTION,
    SQUARE,
    aot_script,
    crossword_script,
    game24_script,
    prompt,
)
from agot.types import GenerationRequest


def graph_of(result: agot.Result) -> ThoughtGraph:
    assert result.graph is not None
    return ThoughtGraph.from_json(result.graph)


# -- Game of 24 helpers -----------------------------------------------------------------------


def test_game24_state_reading() -> None:
    assert puzzle_numbers(PUZZLE) == [4, 5, 6, 10]
    assert puzzle_numbers("1 1 4 6") == [1, 1, 4, 6]
    assert puzzle_numbers("What is 2 + 2?") is None
    assert numbers_left("10 - 4 = 6 (left: 5  6 6)") == "5 6 6"
    assert numbers_left("Answer: (1 + 2) * 8 = 24") is None
    assert value_label("thinking...\n**Sure.**") == "sure"
    assert value_label("sure, surely\nlikely or impossible?\n\n") == "impossible"
    assert value_label("I think it works") is None
    assert value_of(["sure", "likely", None, "impossible"]) == pytest.approx(21.001)


# -- ToT, Game of 24 --------------------------------------------------------------------------


async def test_tot_game24_keeps_the_best_b_states_by_value_and_answers() -> None:
    backend = ScriptedBackend(game24_script)
    result = await ToT(breadth=2).solve(PUZZLE, model=backend)
    steps = result.details["steps"]
    # Step 1: three moves valued sure (60), likely (3) and impossible (0.003): b = 2 kept.
    assert steps[0]["values"] == pytest.approx([60, 3, 0.003])
    assert steps[0]["kept"] == [0, 1]
    # Step 2 expands only the two kept states (5 6 6 and 6 9 10), not the pruned 4 5 60.
    proposed = [prompt(c.request) for c in backend.calls if c.request.role == "propose"]
    assert not any("Numbers left: 4 5 60" in p for p in proposed)
    assert steps[1]["candidates"] == 3 and steps[1]["kept"][0] == 0
    assert result.answer == SOLUTION
    assert result.details["raw"].splitlines()[-1] == f"Answer: {SOLUTION}"
    assert result.details["shape"] == {"steps": 4, "breadth": 2, "value_samples": 3}
    # Every valuation is three samples.
    values = [c.request for c in backend.calls if c.request.role == "value"]
    assert sorted({r.sample_index for r in values}) == [0, 1, 2]
    # The tree: kept and pruned candidates, the final node on the kept path only.
    graph = graph_of(result)
    pruned = next(n for n in graph.nodes() if n.title.startswith("6 * 10"))
    assert pruned.status == "skipped" and "value 0.003" in (pruned.justification or "")
    final = graph.node(graph.final_id or "")
    (parent,) = graph.parents(final.id)
    assert parent.title == f"Answer: {SOLUTION}" and final.answer == SOLUTION
    assert result.prompts["tot_propose_24"] == "1" and result.prompts["tot_value_24"] == "1"


async def test_tot_game24_defaults_are_the_papers() -> None:
    tot = ToT()
    backend = ScriptedBackend(game24_script)
    result = await tot.solve(PUZZLE, model=backend)
    assert result.details["shape"] == {"steps": 4, "breadth": 5, "value_samples": 3}
    assert result.details["form"] == "game24"
    assert result.answer == SOLUTION
    # Same numbers left, same value prompt: valued once (three calls) however often they recur.
    value_prompts = [prompt(c.request) for c in backend.calls if c.request.role == "value"]
    assert all(value_prompts.count(p) == 3 for p in value_prompts)


async def test_tot_game24_repeated_candidates_are_valued_zero_without_calls() -> None:
    def script(request: GenerationRequest) -> str:
        if request.role == "propose":
            return "10 - 4 = 6 (left: 5 6 6)\n10 - 4 = 6 (left: 5 6 6)\n\n"
        return "sure"

    backend = ScriptedBackend(script)
    result = await ToT(steps=1).solve(PUZZLE, model=backend)
    (step,) = result.details["steps"]
    assert step["candidates"] == 2 and step["values"] == [60, 0]
    assert sum(c.request.role == "value" for c in backend.calls) == 3


async def test_tot_budget_stop_still_answers_with_the_best_state_so_far() -> None:
    backend = ScriptedBackend(game24_script)
    result = await ToT().solve(PUZZLE, model=backend, budget=Budget(max_calls=12))
    assert result.stopped is not None and "calls" in result.stopped
    assert result.usage.calls <= 12
    # Step 1 finished (1 propose + 9 value calls); the answer is its best state.
    assert result.answer == "10 - 4 = 6 (left: 5 6 6)"
    assert graph_of(result).final_id is not None


async def test_tot_malformed_value_replies_count_zero_and_failed_proposals_are_errors() -> None:
    def script(request: GenerationRequest) -> Any:
        if request.role == "propose" and "Numbers left: 4 5 6 10" in prompt(request):
            return "10 - 4 = 6 (left: 5 6 6)\n4 + 5 = 9 (left: 6 9 10)"
        if request.role == "propose":
            return BackendError("the server refused")
        text = prompt(request)
        return "no idea" if "5 6 6" in text else "likely"

    result = await ToT(steps=2, max_tokens=64).solve(PUZZLE, model=ScriptedBackend(script))
    assert result.details["steps"][0]["values"] == [0, 3]
    assert result.details["steps"][0]["kept"] == [1, 0]
    assert result.errors and result.answer == "4 + 5 = 9 (left: 6 9 10)"


def test_tot_mode_game24_needs_a_puzzle_and_bad_shapes_are_refused() -> None:
    with pytest.raises(ConfigError, match="four numbers"):
        agot.solve("What is 2 + 2?", strategy="tot", mode="game24", model="scripted")
    with pytest.raises(ConfigError, match="mode"):
        ToT(mode="dfs")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="breadth"):
        ToT(breadth=0)


# -- ToT, sample / vote -----------------------------------------------------------------------


async def test_tot_sample_vote_keeps_the_voted_candidate() -> None:
    def script(request: GenerationRequest) -> str:
        if request.role == "propose":
            return f"Idea {request.sample_index}"
        if request.role == "vote":
            return "Candidate 2 looks best.\nBest choice: 2"
        assert request.role == "finish"
        return f"Following the plan.\nAnswer: X{request.sample_index}"

    backend = ScriptedBackend(script)
    result = await ToT(samples=3, value_samples=3).solve("Why is the sky blue?", model=backend)
    assert result.details["form"] == "sample"
    roles = [c.request.role for c in backend.calls]
    assert roles.count("propose") == 3 and roles.count("finish") == 3 and roles.count("vote") == 6
    # The second step continues the voted candidate ("Idea 1") only.
    finishes = [prompt(c.request) for c in backend.calls if c.request.role == "finish"]
    assert all("Idea 1" in p and "Idea 0" not in p for p in finishes)
    assert result.answer == "X1"
    assert result.details["steps"][0]["values"] == [0, 3, 0]
    assert parse_vote("Best choice: 7", 3) is None and parse_vote("best choice is 3", 3) == 2


# -- best-of-N --------------------------------------------------------------------------------


def answers_by_sample(answers: list[str]) -> Any:
    def script(request: GenerationRequest) -> str:
        assert request.role == "sample"
        return f"Reasoning.\nAnswer: {answers[request.sample_index or 0]}"

    return script


async def test_bon_keeps_the_verified_sample_not_the_majority() -> None:
    backend = ScriptedBackend(answers_by_sample(["41", "41", "42", "41"]))
    bon = BestOfN(4, verifier=lambda text: text.strip().endswith("42"))
    result = await bon.solve("What is 6 * 7?", model=backend)
    assert result.answer == "42"
    assert result.details["chosen"] == 2 and result.details["verifier"] == "callable"
    assert result.details["scores"] == [0.0, 0.0, 1.0, 0.0]
    assert result.usage.calls == 4  # a callable verifier costs no calls
    final = graph_of(result).node("final")
    assert [p.id for p in graph_of(result).parents(final.id)] == ["3"]


async def test_bon_uses_the_task_verifier_and_async_verifiers() -> None:
    async def verifier(text: str) -> float:
        return 0.9 if "B" in text.splitlines()[-1] else 0.1

    backend = ScriptedBackend(answers_by_sample(["A", "B", "C"]))
    task = Task(question="Pick one.", verifier=verifier)
    result = await BestOfN(3).solve(task, model=backend)
    assert result.answer == "B" and result.details["verifier"] == "task"
    assert "verifier" not in task.model_dump()


async def test_bon_model_verifier_rates_each_sample_and_ties_go_first() -> None:
    def script(request: GenerationRequest) -> Any:
        if request.role == "sample":
            return f"Answer: {['7', '8', '9'][request.sample_index or 0]}"
        assert request.role == "verify" and request.output_schema is SampleRating
        solution = prompt(request)
        return {
            "check": "ok",
            "score": 8 if "Answer: 8" in solution or "Answer: 9" in solution else 2,
        }

    backend = ScriptedBackend(script)
    result = await BestOfN(3).solve("Pick a number.", model=backend)
    assert result.answer == "8"  # 8 and 9 tie at 0.8: the earlier sample wins
    assert result.details["verifier"] == "model" and result.details["scores"] == [0.2, 0.8, 0.8]
    assert result.details["verifier_score"] == 0.8
    verify_calls = [c.request for c in backend.calls if c.request.role == "verify"]
    samples = {e.node_id: e.call_id for e in result.events if e.role == "sample"}
    for request in verify_calls:
        assert request.depends_on == (samples[request.node_id],)


async def test_bon_shrinks_n_to_what_the_budget_can_verify() -> None:
    backend = ScriptedBackend(
        lambda r: {"check": "", "score": 5} if r.role == "verify" else "Answer: 1"
    )
    result = await BestOfN(5).solve("q", model=backend, budget=Budget(max_calls=4))
    assert result.details["n"] == 2 and result.usage.calls == 4
    assert result.stopped is None and all(s is not None for s in result.details["scores"])


def test_bon_refuses_a_bad_verifier_and_reports_its_failure() -> None:
    with pytest.raises(ConfigError, match="callable"):
        BestOfN(verifier="yes")  # type: ignore[arg-type]

    def broken(text: str) -> float:
        raise KeyError("boom")

    with pytest.raises(ConfigError, match="verifier failed"):
        agot.solve("q", strategy=BestOfN(2, verifier=broken), model="scripted")
    with pytest.raises(ConfigError, match="finite"):
        agot.solve("q", strategy=BestOfN(2, verifier=lambda t: float("nan")), model="scripted")


async def test_bon_in_a_game24_eval_uses_the_exact_verifier(tmp_path) -> None:
    from agot.evals import EvalRecord, run_eval

    record = EvalRecord(
        id="p1", dataset="game24", question=PUZZLE, gold=None, metadata={"numbers": [4, 5, 6, 10]}
    )
    answers = ["Answer: 4 * 5 + 6 - 10", f"Answer: {SOLUTION}", "Answer: 24"]
    backend = ScriptedBackend(lambda r: answers[r.sample_index or 0])
    summary = await run_eval(
        "game24",
        records=[record],
        strategies=[BestOfN(3)],
        models=[backend],
        out=str(tmp_path),
        progress=False,
    )
    assert summary.group("bon").metrics["success"].value == 1.0
    assert backend.calls and all(c.request.role == "sample" for c in backend.calls)
    (row,) = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert row["details"]["verifier_score"] == 1.0 and row["details"]["verifier_agrees"] is True
    # A verifier of the caller's that passes a wrong sample is recorded as disagreeing.
    summary = await run_eval(
        "game24",
        records=[record],
        strategies=[BestOfN(3, verifier=lambda text: "4 * 5" in text)],
        models=[ScriptedBackend(lambda r: answers[r.sample_index or 0])],
        out=str(tmp_path / "own"),
        progress=False,
    )
    assert summary.group("bon").metrics["success"].value == 0.0
    (row,) = [json.loads(x) for x in (tmp_path / "own" / "results.jsonl").read_text().splitlines()]
    assert row["details"]["verifier_agrees"] is False


# -- AoT --------------------------------------------------------------------------------------


async def test_aot_contracts_markov_style_and_stops_at_the_cap() -> None:
    backend = ScriptedBackend(aot_script())
    result = await AoT(max_iterations=2).solve(
        "What is the population of X's birthplace?", model=backend
    )
    roles = [c.request.role for c in backend.calls]
    assert roles.count("decompose") == 2 and roles.count("contract") == 2
    assert roles.count("solve") == 2  # one independent subquestion per iteration
    assert roles.count("answer") == 2  # the direct answer and the last contracted question's
    decompositions = [prompt(c.request) for c in backend.calls if c.request.role == "decompose"]
    # The second iteration sees the contracted question alone, not the original.
    assert "Contracted question" in decompositions[1]
    assert "population of X's birthplace" not in decompositions[1]
    assert result.answer == "100" and result.details["method"] == "agree"
    assert len(result.details["iterations"]) == 2
    graph = graph_of(result)
    contracted = [n for n in graph.nodes() if n.title.startswith("Contracted question")]
    assert len(contracted) == 2 and all(n.status == "answered" for n in contracted)
    skipped = [n for n in graph.nodes() if n.status == "skipped"]
    assert len(skipped) == 4  # the dependent subquestions of both iterations


async def test_aot_cap_is_the_first_dags_depth() -> None:
    def script(request: GenerationRequest) -> Any:
        if request.role == "decompose":
            return Decomposition(
                subquestions=[Subquestion(question="a?"), Subquestion(question="b?")]
            )
        return "Answer: 1"

    backend = ScriptedBackend(script)
    result = await AoT(max_iterations=3).solve("a and b?", model=backend)
    assert len(result.details["iterations"]) == 1
    roles = [c.request.role for c in backend.calls]
    # Depth 1: both parts are solved, contracted once, and the result answered.
    assert roles.count("decompose") == 1 and roles.count("solve") == 2
    assert roles.count("contract") == 1


async def test_aot_atomic_question_is_the_direct_answer() -> None:
    backend = ScriptedBackend(
        lambda r: (
            Decomposition(subquestions=[Subquestion(question="2 + 2?")])
            if r.role == "decompose"
            else "Answer: 4"
        )
    )
    result = await AoT().solve("What is 2 + 2?", model=backend)
    assert result.answer == "4" and result.details["method"] == "atomic"
    assert result.usage.calls == 2


async def test_aot_ensemble_decides_when_direct_and_chain_disagree() -> None:
    backend = ScriptedBackend(aot_script(direct="90", chain="100", ensemble="100"))
    result = await AoT().solve("population?", model=backend)
    assert result.answer == "100" and result.details["method"] == "contract"
    assert result.details["direct_answer"] == "90"
    graph = graph_of(result)
    (decider,) = graph.parents("final")
    assert decider.title == "Ensemble"
    assert sorted(n.title for n in graph.parents(decider.id)) == [
        "Atomic question",
        "Direct answer",
    ]
    (ensemble,) = [e for e in result.events if e.role == "ensemble"]
    answers = {e.call_id for e in result.events if e.role == "answer"}
    assert set(ensemble.depends_on) == answers and len(answers) == 2
    # The published rule: the candidate nearest the ensemble's answer by token F1 is kept...
    backend = ScriptedBackend(aot_script(direct="90", chain="100", ensemble="about 100 people"))
    result = await AoT().solve("population?", model=backend)
    assert result.answer == "100" and result.details["method"] == "contract"
    # ... and the direct answer on ties, so a third answer is never returned.
    backend = ScriptedBackend(aot_script(direct="90", chain="100", ensemble="95"))
    result = await AoT().solve("population?", model=backend)
    assert result.answer == "90" and result.details["method"] == "direct"


def test_token_f1_reads_answers_as_normalised_word_bags() -> None:
    from agot.answers import token_f1

    assert token_f1("The Eiffel Tower", "eiffel tower!") == 1.0
    assert token_f1("Paris", "Paris, France") == 2 / 3
    assert token_f1("Lyon", "Paris") == 0.0 and token_f1("", "Paris") == 0.0


async def test_aot_budget_stop_answers_with_the_direct_answer() -> None:
    backend = ScriptedBackend(aot_script(direct="90"))
    result = await AoT().solve("population?", model=backend, budget=Budget(max_calls=3))
    assert result.stopped is not None
    assert result.answer == "90" and result.details["method"] == "direct"


def test_aot_dependencies_always_form_a_dag() -> None:
    subs = [
        Subquestion(question="a", depends_on=[1, 2]),
        Subquestion(question="b", depends_on=[1, 3, 0]),
        Subquestion(question="c", depends_on=[2, 1]),
    ]
    assert clean_dependencies(subs) == [[], [0], [0, 1]]


# -- names, CLI -------------------------------------------------------------------------------


def test_the_strategies_are_registered_and_exported() -> None:
    assert isinstance(get_strategy("tree-of-thoughts"), ToT)
    assert isinstance(get_strategy("aot"), AoT) and isinstance(get_strategy("bon"), BestOfN)
    assert agot.ToT is ToT and agot.AoT is AoT and agot.BestOfN is BestOfN
    result = agot.solve("q", strategy="bon", n=2, model="scripted")
    assert result.strategy == "bon" and result.usage.calls == 4


def test_cli_flags_reach_the_strategies_and_are_refused_elsewhere(tmp_path, capsys) -> None:
    from agot.cli import build_parser, main
    from agot.cli.eval import build_config
    from agot.cli.solve import strategy_params

    parser = build_parser()
    args = parser.parse_args(["solve", "q", "--strategy", "tot", "--tot-breadth", "2"])
    assert strategy_params(args) == {"breadth": 2}
    args = parser.parse_args(["solve", "q", "--strategy", "aot", "--aot-no-ensemble"])
    assert strategy_params(args) == {"ensemble": False}
    args = parser.parse_args(["solve", "q", "--strategy", "cot", "--bon-n", "3"])
    with pytest.raises(ConfigError, match="--bon-n: options of --strategy bon"):
        strategy_params(args)
    config = build_config(
        parser.parse_args(
            ["eval", "game24", "--strategy", "tot,bon", "--tot-steps", "2", "--bon-n", "3"]
        )
    )
    assert config.per_strategy_params["tot"] == {"steps": 2}
    assert config.per_strategy_params["bon"] == {"n": 3}
    assert main(["eval", "game24", "--strategy", "cot", "--aot-iterations", "2"]) == 2
    assert "--aot-iterations" in capsys.readouterr().err
    out = tmp_path / "run"
    code = main(
        [
            "eval", "game24", "--limit", "1", "--strategy", "tot,aot,bon", "--model", "scripted",
            "--tot-steps", "1", "--bon-n", "2", "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["strategy"] for r in rows) == ["aot", "bon", "tot"]
    assert {r["strategy"]: r["usage"]["calls"] for r in rows}["bon"] == 2


# -- the compare preset -----------------------------------------------------------------------


async def test_compare_preset_runs_every_method_at_one_budget_per_item(tmp_path) -> None:
    from agot.evals import EvalRecord, run_eval
    from agot.evals.presets import COMPARE_CALLS

    record = EvalRecord(
        id="p1", dataset="game24", question=PUZZLE, gold=None, metadata={"numbers": [4, 5, 6, 10]}
    )
    backend = ScriptedBackend(game24_script)
    summary = await run_eval(
        "game24",
        records=[record],
        preset="compare",
        strategies=["cot", "tot"],
        models=[backend],
        out=str(tmp_path / "a"),
        progress=False,
    )
    assert summary.preset is not None and summary.preset.preset.name == "compare"
    rows = [json.loads(line) for line in (tmp_path / "a" / "results.jsonl").read_text().split("\n")
            if line]  # fmt: skip
    tot = next(r for r in rows if r["strategy"] == "tot")
    # ToT's Game of 24 search at its defaults needs more than the budget: it stops, answered.
    assert tot["usage"]["calls"] <= COMPARE_CALLS and tot["stopped"]
    assert tot["raw"]
    # A budget the caller gives replaces the preset's, and is recorded as an override.
    summary = await run_eval(
        "game24",
        records=[record],
        preset="compare",
        strategies=["tot"],
        models=[ScriptedBackend(game24_script)],
        item_budget=Budget(max_calls=11),
        out=str(tmp_path / "b"),
        progress=False,
    )
    assert summary.preset is not None
    assert summary.preset.overridden["item_budget"] == {"max_calls": 11}
    assert summary.group("tot").usage.calls <= 11


# -- ToT, crosswords (depth-first search with pruning) ----------------------------------------


def test_crossword_board_and_reading() -> None:
    from agot.strategies.tot_crosswords import Board, crossword_clues, parse_proposals

    assert crossword_clues(CROSSWORD) == [f"clue for {w}" for w in SQUARE * 2]
    assert crossword_clues("What is 2 + 2?") is None
    board = Board().place("h1. heard").place("v5. tense")
    # v5 overwrote h1's last letter: h1 is marked changed, so the state is broken.
    assert board.status[0] == 2 and board.status[9] == 1 and board.broken
    assert board.words()[0] == "HEART" and board.words()[9] == "TENSE"
    assert not Board().place("h1. heard").place("v5. dense").broken  # same letter: no change
    assert parse_proposals("h2. ember (high)\nv1 nope\n**v3. abuse** (Low)") == [
        ("h2. ember", 0.5),
        ("v3. abuse", 0.1),
    ]


async def test_tot_crosswords_dfs_prunes_an_impossible_word_and_fills_the_grid() -> None:
    from agot.evals import EvalRecord
    from agot.evals.tasks.crosswords import CROSSWORDS

    backend = ScriptedBackend(crossword_script)
    result = await ToT().solve(CROSSWORD, model=backend)
    assert result.details["form"] == "crosswords"
    graph = graph_of(result)
    wrong = next(n for n in graph.nodes() if n.title == "h1. heard")
    assert wrong.status == "skipped" and "impossible: h1" in (wrong.justification or "")
    # Nothing was explored below the pruned state.
    assert not [n for n in graph.nodes() if wrong.id in [p.id for p in graph.parents(n.id)]]
    assert result.details["actions"][:5] == [f"h{i + 1}. {w}" for i, w in enumerate(SQUARE)]
    record = EvalRecord(id="sq", dataset="crosswords", question=CROSSWORD, gold="".join(SQUARE))
    assert CROSSWORDS.score(result.details["raw"], record).scores["solved"] == 1.0
    # Proposals: 8 samples per board, each board proposed for once.
    proposals = [prompt(c.request) for c in backend.calls if c.request.role == "propose"]
    assert len(proposals) == 8 * len(set(proposals))
    # Boards hold at most 9 words (the method's steps < 10).
    assert len(result.details["actions"]) <= 9


async def test_tot_crosswords_without_pruning_explores_below_the_wrong_word() -> None:
    result = await ToT(prune=False, max_states=3).solve(
        CROSSWORD, model=ScriptedBackend(crossword_script)
    )
    graph = graph_of(result)
    wrong = next(n for n in graph.nodes() if n.title == "h1. heard")
    assert [n for n in graph.nodes() if wrong.id in [p.id for p in graph.parents(n.id)]]
    assert result.details["explored"] == 3


async def test_tot_crosswords_budget_stop_answers_with_the_best_board_so_far() -> None:
    result = await ToT().solve(
        CROSSWORD, model=ScriptedBackend(crossword_script), budget=Budget(max_calls=30)
    )
    assert result.stopped is not None and result.usage.calls <= 30
    assert result.details["raw"].startswith("Answer:\n")
    assert len(result.details["raw"].splitlines()) == 6


def test_aot_decomposition_schema_fits_the_token_budget() -> None:
    from agot.strategies.atom_of_thoughts import decomposition_schema

    def caps(subquestions: int, tokens: int) -> tuple[int, int]:
        schema = decomposition_schema(subquestions, tokens).model_json_schema()
        (item,) = schema["$defs"].values()
        return schema["properties"]["subquestions"]["maxItems"], item["properties"]["question"][
            "maxLength"
        ]

    assert caps(6, 512) == (6, 45)
    items, chars = caps(3, 256)
    assert items == 3 and items * (chars + 40) <= 256
    assert caps(3, 96)[0] == 1  # room for one subquestion only: the question stays atomic
    # The caps shape the grammar only: a longer reply still validates.
    long = {"subquestions": [{"question": "x" * 300, "depends_on": [1, 2, 3, 4]}]}
    assert decomposition_schema(3, 96).model_validate(long).subquestions[0].question == "x" * 300


def test_tot_reads_steps_as_the_published_code_does() -> None:
    assert numbers_left("12 / 7 = 1.71 (rounded, left: 1.71)") == "1.71"
    assert numbers_left("4/3 * 9 = 12 (left:12)") is None  # the code needs "left: "
    # Summed per label, impossible first: ties between equal values fall as in the code.
    assert value_of(["likely", "impossible", "impossible"]) == 0.002 + 1.0
