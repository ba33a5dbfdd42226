"""Kairanban (KCS) and Idobata (IBC): information flow, aggregation, metrics, validation.

Scripted backends answer every agent with a document carrying unique markers (``ANALYSIS-i``,
``REASONING-i``) and every idobata comment with ``COMMENT-j``, so the tests can check exactly
which earlier outputs each prompt contained. One test runs the real embedded model.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

import agot
from agot.backends.registry import register_backend
from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.budget import Budget
from agot.cli import main as cli_main
from agot.dispatcher import Dispatcher
from agot.errors import BackendError, ConfigError
from agot.evals.records import EvalRecord
from agot.kairanban import Kairanban, metrics
from agot.kairanban.schemas import document_model, normalise
from agot.limits import Limits
from agot.prompts import kairanban as prompts
from agot.strategies import failures_as_results
from agot.testing.local_model import HAVE_LOCAL, NEEDS_LOCAL

LABELS = ("negative", "neutral", "positive")


def doc(i: int, dist: tuple[float, float, float] = (0.2, 0.3, 0.5)) -> dict[str, Any]:
    return {
        "analysis": f"ANALYSIS-{i}",
        "reasoning": f"REASONING-{i}",
        "distribution": dict(zip(LABELS, dist, strict=True)),
    }


def marker_script(dists: dict[int, tuple[float, float, float]] | None = None):
    """Agent i replies doc(i); idobata comment j replies COMMENT-j."""

    def reply(request):
        if request.role == "chat":
            return f"COMMENT-{request.node_id.removeprefix('idobata')} sounds fine to me"
        i = int(request.node_id.removeprefix("agent"))
        return doc(i, (dists or {}).get(i, (0.2, 0.3, 0.5)))

    return reply


def prompt_of(call) -> str:
    return "\n".join(m.content for m in call.request.messages)


def calls_by_node(backend: ScriptedBackend) -> dict[str, Any]:
    return {c.request.node_id: c for c in backend.calls}


# -- information flow ---------------------------------------------------------------------------
async def test_chain_with_idobata_shows_each_agent_exactly_the_previous_board_and_dialogue():
    backend = ScriptedBackend(marker_script())
    k = Kairanban(agents=5, idobata_at=3, temperature=0.0)
    result = await k.predict("The soup was cold but the staff were lovely.", model=backend)

    order = [c.request.node_id for c in backend.calls]
    assert order == [
        "agent1", "agent2", "agent3",
        "idobata1", "idobata2", "idobata3", "idobata4", "idobata5",
        "agent4", "agent5",
    ]  # fmt: skip
    calls = calls_by_node(backend)
    dialogue_heading = prompts.DIALOGUE_HEADING.format(agent=3)

    # Agent 1: the empty board with all-zero probabilities, nothing else.
    p1 = prompt_of(calls["agent1"])
    assert prompts.EMPTY_BOARD_HEADING in p1
    assert "negative=0.00, neutral=0.00, positive=0.00" in p1
    assert "ANALYSIS-" not in p1 and "COMMENT-" not in p1

    # Agents 2 and 3: only the previous agent's document, no dialogue.
    for i in (2, 3):
        p = prompt_of(calls[f"agent{i}"])
        assert prompts.BOARD_HEADING.format(agent=i - 1) in p
        assert f"ANALYSIS-{i - 1}" in p and f"REASONING-{i - 1}" in p
        assert "negative=0.20, neutral=0.30, positive=0.50" in p
        assert all(f"ANALYSIS-{k}" not in p for k in range(1, 6) if k != i - 1)
        assert dialogue_heading not in p and "COMMENT-" not in p

    # Comment j: the board as agent 3 left it, and comments 1..j-1 only.
    for j in range(1, 6):
        p = prompt_of(calls[f"idobata{j}"])
        assert "ANALYSIS-3" in p and "ANALYSIS-2" not in p
        for before in range(1, j):
            assert f"COMMENT-{before}" in p
        for after in range(j, 6):
            assert f"COMMENT-{after}" not in p
        assert f"agent {j} of 5" in calls[f"idobata{j}"].request.messages[0].content

    # Agents 4 and 5: the previous board plus the whole dialogue.
    for i in (4, 5):
        p = prompt_of(calls[f"agent{i}"])
        assert f"ANALYSIS-{i - 1}" in p
        assert all(f"ANALYSIS-{k}" not in p for k in range(1, 6) if k != i - 1)
        assert dialogue_heading in p
        assert all(f"COMMENT-{j}" in p for j in range(1, 6))

    # The trace names what each prompt consumed.
    ids = {e.node_id: e.call_id for e in result.events}
    deps = {e.node_id: e.depends_on for e in result.events}
    assert deps["agent1"] == []
    assert deps["agent2"] == [ids["agent1"]]
    assert deps["idobata1"] == [ids["agent3"]]
    assert deps["idobata3"] == [ids["agent3"], ids["idobata1"], ids["idobata2"]]
    assert deps["agent4"] == [ids["agent3"]] + [ids[f"idobata{j}"] for j in range(1, 6)]
    assert deps["agent5"][0] == ids["agent4"]

    assert [c.agent for c in result.dialogue] == [1, 2, 3, 4, 5]
    assert result.dialogue[0].text == "COMMENT-1 sounds fine to me"
    assert [s.after_idobata for s in result.trajectory] == [False, False, False, True, True]
    assert [d.saw_dialogue for d in result.documents] == [False, False, False, True, True]
    assert result.usage.calls == 10
    assert result.mode == "kcs+ibc"
    assert result.prompts == {"kairanban-agent": "1", "idobata-comment": "1"}


async def test_plain_kcs_makes_no_comment_calls_and_no_agent_sees_a_dialogue():
    backend = ScriptedBackend(marker_script())
    result = await Kairanban(agents=3).predict("fine.", model=backend)
    assert [c.request.role for c in backend.calls] == ["vote"] * 3
    assert all("Idobata" not in prompt_of(c) for c in backend.calls)
    assert result.dialogue == [] and result.idobata_at is None and result.mode == "kcs"


async def test_idobata_at_first_and_last_agent():
    backend = ScriptedBackend(marker_script())
    first = await Kairanban(agents=3, idobata_at=1).predict("text", model=backend)
    calls = calls_by_node(backend)
    assert "ANALYSIS-1" in prompt_of(calls["idobata1"])
    assert "COMMENT-3" in prompt_of(calls["agent2"])
    assert [s.after_idobata for s in first.trajectory] == [False, True, True]

    backend = ScriptedBackend(marker_script())
    last = await Kairanban(agents=3, idobata_at=3).predict("text", model=backend)
    assert [c.request.node_id for c in backend.calls][-3:] == ["idobata1", "idobata2", "idobata3"]
    assert len(last.dialogue) == 3
    assert not any(s.after_idobata for s in last.trajectory)


async def test_independent_agents_all_start_from_the_empty_board_concurrently():
    backend = ScriptedBackend(marker_script(), latency=LatencyModel(fixed_s=0.05))
    k = Kairanban(agents=4, independent=True, aggregate="mean")
    result = await k.predict("text", model=backend)
    assert backend.max_in_flight == 4
    for call in backend.calls:
        p = prompt_of(call)
        assert prompts.EMPTY_BOARD_HEADING in p and "ANALYSIS-" not in p
    assert all(e.depends_on == [] for e in result.events)
    assert result.mode == "independent"
    assert set(result.aggregates) == {"last", "mean", "vote"}


async def test_models_and_personas_go_to_each_agent():
    made: dict[str, ScriptedBackend] = {}

    def factory(rest, options):
        made[rest] = ScriptedBackend(marker_script(), model=rest)
        return made[rest]

    register_backend("kbtest", factory)
    k = Kairanban(
        agents=3,
        idobata_at=2,
        models=["kbtest/a", "kbtest/b", "kbtest/a"],
        personas=["a cautious accountant", None, "a cheerful teenager"],
    )
    result = await k.predict("text", model="scripted")
    by_model = {name: [c.request.node_id for c in b.calls] for name, b in made.items()}
    assert by_model == {
        "a": ["agent1", "idobata1", "idobata3", "agent3"],
        "b": ["agent2", "idobata2"],
    }
    systems = {
        c.request.node_id: c.request.messages[0].content for b in made.values() for c in b.calls
    }
    assert "Your persona: a cautious accountant" in systems["agent1"]
    assert "Your persona: a cautious accountant" in systems["idobata1"]
    assert "persona" not in systems["agent2"]
    assert "Your persona: a cheerful teenager" in systems["agent3"]
    assert [d.model for d in result.documents] == ["kbtest/a", "kbtest/b", "kbtest/a"]


# -- aggregation and metrics --------------------------------------------------------------------
async def test_aggregates_last_mean_vote_on_a_hand_computed_case():
    dists = {1: (0.51, 0.49, 0.0), 2: (0.51, 0.49, 0.0), 3: (0.0, 1.0, 0.0)}
    results = {}
    for aggregate in ("last", "mean", "vote"):
        backend = ScriptedBackend(marker_script(dists))
        k = Kairanban(agents=3, aggregate=aggregate)
        results[aggregate] = await k.predict("text", model=backend)
    last, mean, vote = results["last"], results["mean"], results["vote"]
    assert last.distribution == {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
    assert last.label == "neutral"
    assert mean.distribution == pytest.approx({"negative": 0.34, "neutral": 0.66, "positive": 0.0})
    assert mean.label == "neutral"
    assert vote.distribution == pytest.approx(
        {"negative": 2 / 3, "neutral": 1 / 3, "positive": 0.0}
    )
    assert vote.label == "negative"
    assert last.aggregates == mean.aggregates == vote.aggregates


def test_vote_ties_break_on_mean_probability_then_label_order():
    ps = [
        {"negative": 0.6, "neutral": 0.4, "positive": 0.0},
        {"negative": 0.0, "neutral": 0.1, "positive": 0.9},
    ]
    assert metrics.vote_winner(ps, LABELS) == "positive"  # 1-1 tie; mean 0.45 beats 0.3
    even = [{"negative": 0.5, "neutral": 0.0, "positive": 0.5}]
    assert metrics.top_label(even[0], LABELS) == "negative"


def test_entropy_and_variance_match_scipy_and_numpy():
    p = {"negative": 0.2, "neutral": 0.3, "positive": 0.5}
    assert metrics.entropy(p) == pytest.approx(scipy_entropy([0.2, 0.3, 0.5]))
    assert metrics.entropy([1 / 3] * 3) == pytest.approx(math.log(3))
    assert metrics.entropy([1.0, 0.0, 0.0]) == 0.0
    assert math.copysign(1.0, metrics.entropy([1.0, 0.0, 0.0])) == 1.0  # not -0.0 in reports
    ds = [
        {"negative": 1.0, "neutral": 0.0, "positive": 0.0},
        {"negative": 0.0, "neutral": 1.0, "positive": 0.0},
        {"negative": 0.2, "neutral": 0.3, "positive": 0.5},
    ]
    arr = np.array([[d[label] for label in LABELS] for d in ds])
    assert metrics.variance(ds, LABELS) == pytest.approx(float(np.var(arr, axis=0).mean()))
    assert metrics.variance(ds[:2], LABELS) == pytest.approx(1 / 6)  # (0.25 + 0.25 + 0) / 3
    assert metrics.variance(ds[:1], LABELS) == 0.0


async def test_trajectory_reports_entropy_and_variance_per_stage():
    dists = {1: (1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (0.2, 0.3, 0.5)}
    backend = ScriptedBackend(marker_script(dists))
    result = await Kairanban(agents=3, idobata_at=2).predict("text", model=backend)
    t = result.trajectory
    assert [s.stage for s in t] == [1, 2, 3]
    assert [s.entropy for s in t] == pytest.approx([0.0, 0.0, scipy_entropy([0.2, 0.3, 0.5])])
    assert [s.variance for s in t] == pytest.approx(
        [0.0, 1 / 6, float(np.var(np.array([dists[1], dists[2], dists[3]]), axis=0).mean())]
    )
    assert t[1].mean_distribution == pytest.approx({"negative": 0.5, "neutral": 0.5, "positive": 0})
    summary = result.summary()
    assert [set(s) >= {"distribution", "entropy", "variance"} for s in summary["trajectory"]]
    assert summary["dialogue"][0] == {"agent": 1, "comment": "COMMENT-1 sounds fine to me"}


# -- invalid distributions ------------------------------------------------------------------------
BAD_REPLIES = {
    "negative": (doc(0, (-0.2, 0.7, 0.5)), "greater than or equal to 0"),
    "above one": (doc(0, (1.5, 0.0, 0.0)), "less than or equal to 1"),
    "sum too low": (doc(0, (0.2, 0.2, 0.2)), "sum to 0.6, not 1"),
    "all zero": (doc(0, (0.0, 0.0, 0.0)), "every probability is 0"),
    "wrong labels": (
        {"analysis": "a", "reasoning": "r", "distribution": {"bad": 0.5, "good": 0.5}},
        "unknown label(s) 'bad', 'good'; missing label(s) 'negative'",
    ),
    "unparsable": ("I think it is positive.", "invalid JSON"),
    "not json": ('{"analysis": "a", "reasoning": ', "invalid JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_REPLIES))
async def test_invalid_distribution_is_re_asked_then_accepted(case):
    bad, message = BAD_REPLIES[case]
    good = doc(1, (0.1, 0.2, 0.7))
    backend = ScriptedBackend({"vote": [bad, good]})
    result = await Kairanban(agents=1).predict("text", model=backend)
    assert len(backend.calls) == 2
    reask = backend.calls[1].request.messages
    assert reask[-1].role == "user" and "That reply was not valid" in reask[-1].content
    assert message in reask[-1].content
    assert result.distribution == pytest.approx({"negative": 0.1, "neutral": 0.2, "positive": 0.7})
    assert result.usage.calls == 2 and result.errors == [] and result.ok


async def test_an_agent_that_never_gives_a_valid_distribution_is_skipped_not_fatal():
    def reply(request):
        i = int(request.node_id.removeprefix("agent"))
        return doc(i, (0.5, 0.5, 0.5)) if i == 2 else doc(i)

    backend = ScriptedBackend(reply)
    dispatcher = Dispatcher(backend, limits=Limits(schema_retries=1))
    result = await Kairanban(agents=3).predict("text", dispatcher=dispatcher)
    assert len(backend.calls) == 4  # agent 2 asked twice
    agent3 = next(c for c in backend.calls if c.request.node_id == "agent3")
    assert "ANALYSIS-1" in prompt_of(agent3)  # the board skipped the failed agent
    assert result.documents[1].error.startswith("SchemaError")
    assert result.trajectory[1].error and result.trajectory[1].distribution == pytest.approx(
        result.trajectory[0].distribution
    )
    assert result.trajectory[2].agents_counted == 2
    assert result.errors and result.error is None and result.label == "positive"


async def test_backend_failure_of_an_agent_is_recorded_and_the_chain_goes_on():
    def reply(request):
        i = int(request.node_id.removeprefix("agent"))
        if i == 1:
            return BackendError("model unavailable")
        return doc(i)

    result = await Kairanban(agents=2).predict("text", model=ScriptedBackend(reply))
    assert "model unavailable" in result.documents[0].error
    assert result.trajectory[0].distribution is None and result.trajectory[0].entropy is None
    assert result.label == "positive"


async def test_no_valid_agent_at_all_is_an_error_result():
    backend = ScriptedBackend({"vote": "no json here"})
    dispatcher = Dispatcher(backend, limits=Limits(schema_retries=0))
    with failures_as_results():
        result = await Kairanban(agents=2).predict("text", dispatcher=dispatcher)
    assert result.distribution is None and result.label is None
    assert result.error.startswith("no agent produced a valid distribution")


async def test_slightly_off_sum_is_renormalised_with_a_warning():
    backend = ScriptedBackend({"vote": doc(1, (0.2, 0.3, 0.48))})
    result = await Kairanban(agents=1).predict("text", model=backend)
    assert len(backend.calls) == 1
    assert sum(result.distribution.values()) == pytest.approx(1.0, abs=1e-12)
    assert result.distribution["positive"] == pytest.approx(0.48 / 0.98)
    assert result.warnings == ["agent 1: probabilities summed to 0.98; renormalised to 1"]
    assert result.documents[0].warnings == result.warnings


def test_normalise_is_silent_on_float_noise_and_rejects_zero():
    values, warning = normalise({"a": 0.1, "b": 0.2, "c": 0.7000000001}, ["a", "b", "c"])
    assert warning is None and math.fsum(values.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        normalise({"a": 0.0, "b": 0.0}, ["a", "b"])


def test_document_schema_is_grammar_friendly_and_uses_the_label_texts():
    model = document_model(("very negative", "neutral", "very positive"), 40)
    schema = model.model_json_schema()
    assert list(schema["properties"]) == ["analysis", "reasoning", "distribution"]
    assert schema["properties"]["analysis"]["maxLength"] == 40
    dist = schema["$defs"]["Distribution"]
    assert dist["required"] == ["very negative", "neutral", "very positive"]
    assert dist["additionalProperties"] is False
    assert all(p["type"] == "number" for p in dist["properties"].values())
    long = model.model_validate(
        {
            "analysis": "x" * 100,
            "reasoning": "ok",
            "distribution": {"very negative": 0, "neutral": 0.5, "very positive": 0.5},
        }
    )
    assert long.analysis == "x" * 40  # truncated, not rejected


def test_note_caps_shrink_to_fit_the_token_budget():
    cap = Kairanban(max_tokens=64).schema.model_json_schema()["properties"]["analysis"]
    assert cap["maxLength"] == 64 - 12 - 6 * 3
    assert Kairanban(max_tokens=2048, note_chars=300).note_chars == 300
    assert Kairanban(max_tokens=20).note_chars == 16


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"agents": 0}, "agents must be between 1 and 100"),
        ({"agents": 3, "idobata_at": 0}, "idobata_at must be between 1 and agents"),
        ({"agents": 3, "idobata_at": 4}, "idobata_at must be between 1 and agents"),
        ({"labels": ["only"]}, "at least 2 distinct labels"),
        ({"labels": ["a", "a"]}, "labels must be distinct"),
        ({"labels": ["a", " "]}, "non-empty string"),
        ({"agents": 3, "models": ["local", "local"]}, "got 2 models for 3 agents"),
        ({"aggregate": "median"}, "aggregate must be one of"),
        ({"agents": 3, "idobata_at": 2, "independent": True}, "cannot hold an idobata"),
        ({"temperature": 3}, "temperature must be between 0 and 2"),
        ({"sum_tolerance": 1.5}, "sum_tolerance"),
    ],
)
def test_bad_configuration_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Kairanban(**kwargs)


async def test_empty_text_is_a_config_error():
    with pytest.raises(ConfigError, match="text to classify is empty"):
        await Kairanban().predict("  ", model=ScriptedBackend())


# -- runs, batches, budgets -----------------------------------------------------------------------
async def test_budget_stops_the_chain_with_a_partial_result():
    backend = ScriptedBackend(marker_script())
    result = await Kairanban(agents=4).predict("t", model=backend, budget=Budget(max_calls=2))
    assert result.stopped and "call budget" in result.stopped
    assert len(result.trajectory) == 2 and result.distribution is not None
    assert result.error is None


async def test_predict_many_shares_one_dispatcher_with_bounded_concurrency():
    backend = ScriptedBackend(marker_script(), latency=LatencyModel(fixed_s=0.02))
    dispatcher = Dispatcher(backend)
    texts = [f"text number {n}" for n in range(5)]
    results = await Kairanban(agents=2).predict_many(texts, dispatcher=dispatcher, concurrency=2)
    assert [r.text for r in results] == texts
    assert backend.max_in_flight == 2  # one chain call per text at a time, two texts at a time
    assert dispatcher.usage.calls == 10 and all(r.usage.calls == 2 for r in results)


async def test_solve_gives_a_plain_result_for_the_eval_runner():
    result = await Kairanban(agents=2).solve("text", model=ScriptedBackend(marker_script()))
    assert result.strategy == "kairanban" and result.answer == "positive"
    assert result.details["distribution"] == pytest.approx(
        {"negative": 0.2, "neutral": 0.3, "positive": 0.5}
    )


def _records(golds: list[str]) -> list[EvalRecord]:
    return [
        EvalRecord(id=f"r{n}", dataset="tweet_eval", question=f"text {n} {g}", gold=g)
        for n, g in enumerate(golds)
    ]


async def _run_eval(tmp_path, records, strategies, backend, **kairanban):
    """Kairanban on a labelled set goes through the one eval runner, as ``agot eval`` does."""
    from agot.evals import run_eval

    return await run_eval(
        "tweet_eval",  # negative, neutral, positive: its labels and classification scorer
        records=records,
        strategies=strategies,
        models=[backend],
        per_strategy_params={"kairanban": kairanban},
        out=str(tmp_path / "-".join(strategies)),
        progress=False,
        resamples=100,
    )


async def test_the_eval_runner_scores_every_aggregate(tmp_path):
    def reply(request):
        prompt = "\n".join(m.content for m in request.messages)
        if request.role == "chat":
            return "ok"
        if "negative" in prompt.split("<<<")[1].split(">>>")[0]:
            return doc(1, (0.7, 0.2, 0.1))
        return doc(1, (0.1, 0.2, 0.7))

    records = _records(["negative", "positive", "neutral"])
    summary = await _run_eval(
        tmp_path, records, ["kcs", "independent-vote"], ScriptedBackend(reply), agents=2
    )
    kcs = summary.group("kcs")
    assert (kcs.n, kcs.errors) == (3, 0)
    assert kcs.metrics["accuracy"].value == pytest.approx(2 / 3)
    assert kcs.metrics["brier"].value == pytest.approx((0.14 + 0.14 + (0.01 + 0.64 + 0.49)) / 3)
    assert kcs.metrics["log_loss"].value == pytest.approx(-(2 * math.log(0.7) + math.log(0.2)) / 3)
    assert [s.stage for s in kcs.stages] == [1, 2] and kcs.stages[1].mean_variance == 0.0
    assert kcs.usage.calls == 6
    vote = summary.group("independent-vote")
    assert vote.metrics["accuracy"].value == pytest.approx(2 / 3)

    from agot.evals import RunFolder

    summary = await _run_eval(tmp_path, _records(["joy"]), ["single"], ScriptedBackend(reply))
    (row,) = RunFolder(summary.out).rows()
    assert row.error and "not one of" in row.error  # recorded on the item, never fatal


async def test_the_four_variants_run_on_the_same_items(tmp_path):
    backend = ScriptedBackend(marker_script())
    summary = await _run_eval(
        tmp_path,
        _records(["positive", "negative"]),
        ["single", "independent", "kcs", "kcs+ibc"],
        backend,
        agents=3,
        idobata_at=2,
    )
    variants = ["single", "independent-vote", "independent-mean", "kcs", "kcs+ibc"]
    assert [g.strategy for g in summary.groups] == variants
    calls = {g.strategy: g.usage.calls for g in summary.groups}
    assert calls == {
        "single": 2,
        "independent-vote": 6,
        "independent-mean": 6,
        "kcs": 6,
        "kcs+ibc": 12,
    }
    assert len(backend.calls) == 2 + 6 + 6 + 12  # the independent rows share one run
    assert all(g.metrics["accuracy"].value == 0.5 for g in summary.groups)
    table = summary.table()
    assert all(f"{name} " in table for name in variants)


def test_variant_strategies_place_the_idobata_round_by_the_eval_rule():
    """kcs+ibc's round defaults to agents // 2 + 1, as in agot eval, so short chains build."""
    from agot.kairanban.variants import variant_strategies

    assert variant_strategies(agents=2)["kcs+ibc"].idobata_at == 2
    assert variant_strategies(agents=7)["kcs+ibc"].idobata_at == 4
    assert variant_strategies()["kcs+ibc"].idobata_at == 3
    assert variant_strategies(agents=7, idobata_at=2)["kcs+ibc"].idobata_at == 2
    with pytest.raises(ConfigError, match="idobata_at must be between 1 and agents"):
        variant_strategies(agents=2, idobata_at=3)


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_classify_json(tmp_path, capsys):
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"vote": doc(1, (0.1, 0.2, 0.7)), "chat": "nice vibes"}))
    code = cli_main(
        [
            "classify", "I loved it", "--model", f"scripted/{table}",
            "--agents", "3", "--idobata-at", "2", "--json",
        ]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["label"] == "positive"
    assert out["distribution"] == {"negative": 0.1, "neutral": 0.2, "positive": 0.7}
    assert len(out["trajectory"]) == 3
    assert {"distribution", "entropy", "variance"} <= set(out["trajectory"][0])
    assert out["dialogue"] == [{"agent": j, "comment": "nice vibes"} for j in (1, 2, 3)]
    assert out["usage"]["calls"] == 6


def test_cli_classify_text_report_and_config_errors(tmp_path, capsys):
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"vote": doc(1, (0.6, 0.3, 0.1))}))
    code = cli_main(["classify", "meh", "--model", f"scripted/{table}", "--agents", "2"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("negative")
    assert "stage  agent  entropy  variance" in out
    assert cli_main(["classify", "x", "--agents", "2", "--idobata-at", "3"]) == 2
    assert "idobata_at must be between 1 and agents" in capsys.readouterr().err
    assert cli_main(["classify", "x", "--labels", "yes"]) == 2
    assert "at least 2 distinct labels" in capsys.readouterr().err
    assert cli_main(["classify", "x", "--agents", "0"]) == 2
    assert "agents must be between 1 and 100" in capsys.readouterr().err


def test_cli_classify_idobata_at_zero_is_a_plain_chain(tmp_path, capsys):
    """``--idobata-at 0`` means no idobata round, as it does in ``agot eval``."""
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"vote": doc(1, (0.1, 0.2, 0.7)), "chat": "nice vibes"}))
    argv = ["classify", "ok", "--model", f"scripted/{table}", "--agents", "3", "--json"]
    assert cli_main([*argv, "--idobata-at", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dialogue"] == [] and out["usage"]["calls"] == 3


# -- the real embedded model ----------------------------------------------------------------------


@pytest.mark.local_model
@pytest.mark.skipif(not HAVE_LOCAL, reason=NEEDS_LOCAL)
def test_real_embedded_model_runs_kcs_with_idobata():
    from agot.evals.datasets.sentiment import load_tweet_eval

    records = list(load_tweet_eval("tests/fixtures/sentiment/tweeteval", split="test", limit=2))
    k = agot.Kairanban(
        agents=3,
        idobata_at=2,
        max_tokens=64,
        comment_max_tokens=24,
        note_chars=30,
        seed=7,
    )

    async def go():
        async with Dispatcher("local", limits=Limits(schema_retries=1)) as dispatcher:
            return await k.predict_many(
                [r.question for r in records], dispatcher=dispatcher, concurrency=2
            )

    results = asyncio.run(go())
    for record, result in zip(records, results, strict=True):
        print(f"\n{record.id} gold={record.gold} predicted={result.label}")
        for s in result.trajectory:
            print(
                f"  stage {s.stage}: H={s.entropy} Var={s.variance} P={s.distribution}",
                s.error or "",
            )
        for c in result.dialogue:
            print(f"  idobata agent {c.agent}: {c.text!r}")
        print(f"  usage: {result.usage}")
        assert len(result.trajectory) == 3
        assert len(result.dialogue) == 3 and all(c.error is None for c in result.dialogue)
        for stage, document in zip(result.trajectory, result.documents, strict=True):
            if document.distribution is not None:
                assert sum(document.distribution.values()) == pytest.approx(1.0)
                assert stage.entropy is not None and stage.entropy >= 0
            else:
                assert document.error
        roles = [e.role for e in result.events]
        assert roles.count("chat") == 3 and roles.count("vote") == 3
        assert result.usage.calls >= 6 and result.usage.completion_tokens > 0
