"""``agot plan``: the pilot's recording, the simulator, the prediction against the real run,
the what-ifs, and the command line (``agot plan eval``, ``agot eval --plan``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import agot.cli
from agot.backends.scripted import LatencyModel, ScriptedBackend
from agot.cli.plan import plan_eval
from agot.errors import ConfigError
from agot.evals.run_folder import read_results
from agot.evals.runner import EvalConfig, run_eval
from agot.plan import (
    CallSample,
    Pilot,
    Scenario,
    Settings,
    UnitSample,
    parse_what_if,
    predict,
    simulate,
    unit_from_result,
)
from agot.plan.prices import list_price
from agot.result import Result
from agot.testing.agot_scripts import varied_agot_script
from agot.testing.eval_workload import write_city_items
from agot.testing.trace_events import trace_event
from agot.trace import TraceEvent


@pytest.fixture(autouse=True)
def calibration_file(tmp_path, monkeypatch) -> Path:
    """Each test learns into its own file, never the user's."""
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("AGOT_PLAN_CALIBRATION", str(path))
    return path


def call(service: float, *deps: int, gap: float = 0.0, tokens: int = 10) -> CallSample:
    return CallSample(
        role="solve",
        gate="m|m",
        prompt_tokens=tokens,
        completion_tokens=tokens,
        cost=0.0,
        attempts=1,
        cached=False,
        service_s=service,
        queued_s=0.0,
        deps=deps,
        gap_s=gap,
    )


def unit(*calls: CallSample, item: str = "i", tail: float = 0.0) -> UnitSample:
    return UnitSample(item=item, strategy="s", model="m", calls=calls, tail_s=tail)


# -- the simulator, against cases worked out by hand ---------------------------------------------


def test_four_independent_one_second_calls_at_concurrency_two_take_two_seconds() -> None:
    run = [unit(*(call(1.0) for _ in range(4)))]
    assert simulate(run, Settings(default_concurrency=2)) == pytest.approx(2.0)
    assert simulate(run, Settings(default_concurrency=4)) == pytest.approx(1.0)
    assert simulate(run, Settings(default_concurrency=1)) == pytest.approx(4.0)


def test_dependencies_gaps_tails_and_item_slots_are_replayed() -> None:
    # Each unit: a 1 s call, then (0.5 s later) a 1 s call that needs it, then 0.25 s of scoring.
    chain = unit(call(1.0), call(1.0, 0, gap=0.5), tail=0.25)
    assert simulate([chain], Settings()) == pytest.approx(2.75)
    assert simulate([chain, chain], Settings(items_in_flight=1)) == pytest.approx(5.5)
    assert simulate([chain, chain], Settings(items_in_flight=2)) == pytest.approx(2.75)
    # Two units in flight over one call slot: the four calls run one after another.
    assert simulate(
        [chain, chain], Settings(items_in_flight=2, default_concurrency=1)
    ) == pytest.approx(4.25)


def test_the_loops_own_work_per_call_is_served_one_call_at_a_time() -> None:
    # 4 independent 1 s calls, half of each the event loop handling its reply: the backends'
    # halves overlap (0 to 0.5 s), the loop's four halves follow one another (to 2.5 s).
    run = [unit(*(call(1.0) for _ in range(4)))]
    assert simulate(run, Settings(call_overhead_s=0.5)) == pytest.approx(2.5)
    # With the loop measured, gaps and tails are its work: not replayed on top of it.
    chain = unit(call(1.0), call(1.0, 0, gap=0.5), tail=0.25)
    assert simulate([chain], Settings(call_overhead_s=0.25)) == pytest.approx(2.0)


def test_request_rate_spaces_the_calls() -> None:
    run = [unit(call(0.5), call(0.5), call(0.5))]
    # rpm 60: one request a second, so the calls start at 0, 1 and 2 s.
    assert simulate(run, Settings(rpm=60)) == pytest.approx(2.5)


def test_token_rate_holds_a_bucket_of_one_seconds_worth() -> None:
    # tpm 600 = 10 tokens a second; each call weighs 20 tokens (capped at the bucket's 10):
    # the first fills the bucket, each next one waits a second for it to drain.
    run = [unit(call(0.1), call(0.1), call(0.1))]
    assert simulate(run, Settings(tpm=600)) == pytest.approx(2.1)


# -- recording a unit's calls ---------------------------------------------------------------------


def event(call_id: str, start: float, end: float, *deps: str, queued: float = 0.0) -> TraceEvent:
    return trace_event(
        call_id, start, end, *deps, queued_s=queued, prompt_tokens=5, completion_tokens=3
    )


def test_a_unit_keeps_named_dependencies_and_infers_unnamed_ones() -> None:
    events = [
        event("a", 100.0, 101.0),
        event("b", 100.0, 100.5),  # sent with a: a second root
        event("c", 101.2, 102.0, "a"),  # named: sent 0.2 s after a ended
        event("d", 102.5, 103.0, queued=0.4),  # unnamed, sent at 102.1: it waited for c
    ]
    result = Result(question="q", strategy="s", model="m", events=events, wall_s=3.5)
    sample = unit_from_result("x", "s", "m", result, started=100.0, ended=103.5)
    deps = [c.deps for c in sample.calls]
    assert deps == [(), (), (0,), (2,)]
    assert [round(c.gap_s, 6) for c in sample.calls] == [0.0, 0.0, 0.2, 0.1]
    assert sample.calls[3].queued_s == pytest.approx(0.4)
    assert sample.tail_s == pytest.approx(0.5)
    assert sample.figures == {
        "calls": 4.0,
        "prompt_tokens": 20.0,
        "completion_tokens": 12.0,
        "cost": 0.0,
    }
    # Replayed with free slots, the unit takes what it took less d's 0.4 s in the queue.
    assert simulate([sample], Settings(default_concurrency=8)) == pytest.approx(3.1)


def test_latency_is_split_from_first_token_times_and_fitted_only_without_them() -> None:
    timed = [
        event("a", 100.0, 101.0).model_copy(update={"first_token": 100.4, "queued_s": 0.2}),
        event("b", 101.0, 101.6).model_copy(update={"first_token": 101.3}),
    ]
    result = Result(question="q", strategy="s", model="m", events=timed, wall_s=1.6)
    split = Pilot(
        units=[unit_from_result("x", "s", "m", result)], run_items=1, settings=None
    ).latency_model()["solve"]
    # Measured: first tokens after 0.4 and 0.3 s; 0.6 + 0.3 s of decoding for 3 + 3 tokens.
    assert split["source"] == "measured" and split["streamed"] == 2
    assert split["first_s"] == pytest.approx(0.35)
    assert split["per_token_s"] == pytest.approx(0.9 / 6)
    assert split["queued_s"] == pytest.approx(0.1)
    # No first tokens: service = first + per_token x tokens, fitted (1 s + 0.1 s a token).
    fitted = Pilot(
        units=[unit(call(1.0 + 0.1 * n, tokens=n)) for n in (2, 5, 9)], run_items=3, settings=None
    ).latency_model()["solve"]
    assert fitted["source"] == "fitted" and fitted["streamed"] == 0
    assert fitted["first_s"] == pytest.approx(1.0) and fitted["per_token_s"] == pytest.approx(0.1)


def test_llm_judge_calls_are_counted_and_given_a_slot_after_the_units_calls() -> None:
    events = [event("a", 100.0, 101.0), event("b", 101.0, 102.0, "a")]
    result = Result(question="q", strategy="s", model="m", events=events, wall_s=2.0)
    judge = {"calls": 2, "prompt_tokens": 40, "completion_tokens": 6, "cost": 0.5}
    sample = unit_from_result("x", "s", "m", result, started=100.0, ended=103.0, judge=judge)
    assert [c.role for c in sample.calls][-1] == "judge"
    assert sample.calls[-1].deps == (1,) and sample.tail_s == 0.0
    assert sample.figures == {
        "calls": 4.0,
        "prompt_tokens": 50.0,
        "completion_tokens": 12.0,
        "cost": 0.5,
    }
    # The judge's second holds a slot: two such units over one slot take 6 s, not 4 + 1.
    assert simulate([sample], Settings()) == pytest.approx(3.0)
    assert simulate([sample, sample], Settings(default_concurrency=1)) == pytest.approx(6.0)
    prediction = predict(
        Pilot(units=[sample], run_items=3, settings=None), Scenario("j", Settings(), 3)
    )
    assert prediction.figures["calls"].expected == pytest.approx(12.0)


def test_calibration_takes_the_pilots_loop_waits_out_of_its_service_times() -> None:
    from agot.plan.simulate import calibrate

    # Four one-call units at once; each call recorded 1 s, of which 0.1 s is the loop's work
    # (served one call at a time after it ends). Replayed as recorded they take 1.3 s.
    run = [unit(call(1.0), item=f"i{n}") for n in range(4)]
    settings = Settings(items_in_flight=4, default_concurrency=4, call_overhead_s=0.1)
    assert simulate(run, settings) == pytest.approx(1.3)
    # The pilot took 0.8 s: 0.4 s of loop work after 0.4 s of serving, so a scale of 4/9.
    fitted = calibrate(run, settings, 0.8)
    assert fitted.service_scale == pytest.approx(0.4 / 0.9, rel=1e-4)
    assert simulate(run, fitted) == pytest.approx(0.8, rel=1e-4)
    # Slower than the replay, or no loop measured: the recorded times stand.
    assert calibrate(run, settings, 2.0).service_scale == 1.0
    assert calibrate(run, Settings(items_in_flight=4), 0.8).service_scale == 1.0
    # Faster than even the loop's own work allows: nothing of the service is left.
    assert calibrate(run, settings, 0.3).service_scale == 0.0


# -- the prediction against the real run -----------------------------------------------------------


@pytest.fixture
def city_items(tmp_path: Path) -> Path:
    return write_city_items(tmp_path / "dev.json", 60)


def agot_config(data: Path, **more) -> EvalConfig:
    backend = ScriptedBackend(
        varied_agot_script(), latency=LatencyModel(fixed_s=0.005, per_token_s=0.0001)
    )
    fields = {
        "dataset": "hotpotqa",
        "data": str(data),
        "strategies": ["agot"],
        "models": [backend],
        "progress": False,
        "concurrency": 8,
        **more,
    }
    return EvalConfig(**fields)


async def test_a_pilot_predicts_the_full_runs_calls_and_tokens(city_items, tmp_path) -> None:
    config = agot_config(city_items)
    plan = await plan_eval(config, pilot=20, what_if=("concurrency=1,32", "max-calls=3"))
    run, serial, wide, capped = plan.predictions
    assert plan.spent["items"] == 20 and run.pilot_items == 20 and run.scenario.items == 60

    summary = await run_eval(config.model_copy(update={"out": str(tmp_path / "full")}))
    rows = read_results(tmp_path / "full" / "results.jsonl")
    assert summary.items == 60 and len(rows) == 60
    actual = {
        "calls": sum(r.usage.calls for r in rows),
        "prompt_tokens": sum(r.usage.prompt_tokens for r in rows),
        "completion_tokens": sum(r.usage.completion_tokens for r in rows),
    }
    # The graphs vary from item to item (1 to 3 thoughts a layer, 1 to 3 layers, nesting), so
    # the totals are not a multiple of the pilot's: the interval must hold them.
    sizes = {r.usage.calls for r in rows}
    assert len(sizes) >= 4
    for name, value in actual.items():
        interval = run.figures[name]
        assert interval.low < interval.expected < interval.high
        assert interval.contains(value), (name, value, interval)
    # The what-ifs change what they name and nothing else.
    assert serial.figures["calls"] == run.figures["calls"] == wide.figures["calls"]
    assert serial.figures["wall_s"].expected > 3 * wide.figures["wall_s"].expected
    assert serial.scenario.settings.items_in_flight == 1
    assert capped.figures["calls"].high <= 3 * 60
    assert capped.figures["calls"].expected < run.figures["calls"].expected


async def test_a_plan_of_a_run_smaller_than_its_pilot_is_exact(city_items) -> None:
    plan = await plan_eval(agot_config(city_items, limit=5), pilot=20)
    run = plan.predictions[0]
    assert run.pilot_items == 5
    calls = run.figures["calls"]
    assert calls.low == calls.expected == calls.high == plan.spent["calls"]


def test_what_if_refuses_unknown_keys_and_bad_values() -> None:
    base = Scenario("this run", Settings(), 10)
    for spec, message in (
        ("speed=3", "unknown key 'speed'"),
        ("concurrency", "KEY=VALUE"),
        ("concurrency=fast", "a whole number"),
        ("concurrency=0", "at least 1"),
        ("rpm=-5", "greater than 0"),
        ("concurrency=4,,8", "an empty value"),
        ("price=scripted", "no list price"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_what_if([spec], base)
    varied = parse_what_if(["concurrency=4,16", "items-in-flight=2", "max-wall=30"], base)
    assert [s.label for s in varied] == [
        "concurrency=4",
        "concurrency=16",
        "items-in-flight=2",
        "max-wall=30",
    ]
    assert varied[1].settings.default_concurrency == 16 and varied[1].settings.items_in_flight == 16
    assert varied[3].budget is not None and varied[3].budget.max_wall_s == 30


def test_a_list_price_reprices_every_call_without_importing_litellm() -> None:
    import sys

    pytest.importorskip("litellm")  # its price map ships in the package
    loaded = "litellm" in sys.modules
    price = list_price("openai/gpt-4o-mini")
    assert 0 < price.input_per_token < price.output_per_token
    # Aliases: the bare OpenAI name and a routed name resolve to the same list price.
    assert list_price("gpt-4o-mini") == replace(price, label="gpt-4o-mini")
    with pytest.raises(ConfigError, match="does not list 'openai/no-such-model'"):
        list_price("openai/no-such-model")
    with pytest.raises(ConfigError, match="no list price"):
        list_price("local")
    assert loaded or "litellm" not in sys.modules
    calls = (call(1.0, tokens=1000),)
    pilot = Pilot(units=[unit(*calls, item=f"i{n}") for n in range(4)], run_items=8, settings=None)
    scenario = Scenario("priced", Settings(), 8, price=price)
    cost = predict(pilot, scenario).figures["cost"]
    each = 1000 * price.input_per_token + 1000 * price.output_per_token
    assert cost.expected == pytest.approx(8 * each)


def test_a_price_per_hour_charges_the_simulated_wall_time() -> None:
    from agot.plan.prices import per_hour

    pilot = Pilot(
        units=[unit(call(1.0), item=f"i{n}") for n in range(4)], run_items=8, settings=None
    )
    scenario = Scenario("hourly", Settings(items_in_flight=2), 8, price=per_hour(3600.0))
    prediction = predict(pilot, scenario)
    # 8 one-second units, two at a time: 4 s, at one dollar a second.
    assert prediction.figures["wall_s"].expected == pytest.approx(4.0)
    assert prediction.figures["cost"].expected == pytest.approx(4.0)


# -- the command line ---------------------------------------------------------------------------


def write_scripted_table(path: Path) -> Path:
    path.write_text(
        json.dumps({"replies": {"*": "Answer: Corvin City"}, "latency": {"fixed_s": 0.01}})
    )
    return path


def main(argv: list[str]) -> int:
    return agot.cli.main(argv)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pilot", "0"], "--pilot must be at least 1"),
        (["--what-if", "speed=2"], "unknown key 'speed'"),
        (["--what-if", "concurrency=x"], "a whole number"),
        (["--resume"], "plans a new run"),
    ],
)
def test_plan_eval_refuses_bad_input_in_one_line(tmp_path, capsys, flags, message) -> None:
    data = write_city_items(tmp_path / "dev.json", 4)
    out = tmp_path / "out"
    argv = ["plan", "eval", "hotpotqa", "--data", str(data), "--model", "scripted", "--quiet"]
    assert main([*argv, "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("agot: error: ") and message in err[0]
    assert not (out / "results.jsonl").exists()  # nothing was run


def test_eval_refuses_plan_flags_without_plan(tmp_path, capsys) -> None:
    data = write_city_items(tmp_path / "dev.json", 4)
    argv = ["eval", "hotpotqa", "--data", str(data), "--model", "scripted", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "o"), "--pilot", "3"]) == 2
    assert "need --plan" in capsys.readouterr().err


def test_plan_eval_json_has_every_figure(tmp_path, capsys) -> None:
    data = write_city_items(tmp_path / "dev.json", 12)
    table = write_scripted_table(tmp_path / "table.json")
    argv = ["plan", "eval", "hotpotqa", "--data", str(data), "--model", f"scripted/{table}"]
    assert main([*argv, "--quiet", "--pilot", "4", "--json", "--what-if", "concurrency=2"]) == 0
    plan = json.loads(capsys.readouterr().out)
    for name in ("calls", "prompt_tokens", "completion_tokens", "cost", "wall_s"):
        assert set(plan[name]) == {"expected", "low", "high"}
    assert plan["items"] == 12 and plan["pilot_items"] == 4
    assert plan["calls"]["expected"] == 12  # CoT: one call an item, every item alike
    assert plan["settings"]["items_in_flight"] == 8
    assert plan["what_if"][0]["settings"]["label"] == "concurrency=2"
    assert plan["pilot"]["calls"] == 4
    assert plan["pilot"]["roles"]["answer"]["calls"] == 4  # CoT makes one answer call an item
    assert plan["pilot"]["roles"]["answer"]["calls_per_item"] == 1
    answer = plan["latency_model"]["answer"]
    assert set(answer) == {"calls", "streamed", "source", "first_s", "per_token_s", "queued_s"}


def test_eval_plan_reuses_the_pilots_rows_and_records_the_actual(tmp_path, capsys) -> None:
    data = write_city_items(tmp_path / "dev.json", 10)
    table = write_scripted_table(tmp_path / "table.json")
    out = tmp_path / "run"
    argv = ["eval", "hotpotqa", "--data", str(data), "--model", f"scripted/{table}", "--quiet"]
    assert main([*argv, "--out", str(out), "--plan", "--pilot", "4", "--no-traces"]) == 0
    printed = capsys.readouterr().out
    assert "plan from a pilot of 4 items" in printed
    rows = read_results(out / "results.jsonl")
    assert len(rows) == 10 and len({r.id for r in rows}) == 10  # the pilot's 4 not run again
    stored = json.loads((out / "plan.json").read_text())
    assert stored["actual"]["calls"] == 10
    assert stored["actual_over_expected"]["calls"] == pytest.approx(1.0)
    assert json.loads((out / "run.json").read_text())["items"] == 10
    # agot report and agot view show each figure predicted beside the actual.
    assert main(["report", str(out)]) == 0
    report = capsys.readouterr().out
    assert "Planned against actual" in report
    assert "| calls | 10 [" in report and "| 10 | 1.00 | yes |" in report
    from agot.view.data import load_run
    from agot.view.pages import run_page

    page = run_page(load_run("run", out))
    assert [r["figure"] for r in page["plan_rows"]][:1] == ["calls"]
    assert page["plan_rows"][0]["actual"] == "10" and page["plan_rows"][0]["ratio"] == 1.0
    # The next plan of this setup is corrected by what this run taught (calls: exactly right).
    argv = ["plan", "eval", "hotpotqa", "--data", str(data), "--model", f"scripted/{table}"]
    assert main([*argv, "--quiet", "--pilot", "4", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["correction"]["calls"] == pytest.approx(1.0)
    assert plan["calls"]["expected"] == pytest.approx(10)


def test_kept_ratios_correct_a_prediction_by_their_median(calibration_file) -> None:
    from agot.plan.calibration import corrected, correction, remember, setup_key

    key = setup_key(["m"], ["agot"])
    assert correction(key) == {}
    for ratio in (1.5, 0.5, 2.0):
        remember(key, {"calls": ratio, "wall_s": None})
    assert correction(key) == {"calls": 1.5}
    assert "m" not in calibration_file.read_text()  # setups are stored by hash
    pilot = Pilot(
        units=[unit(call(1.0), item=f"i{n}") for n in range(4)], run_items=8, settings=None
    )
    plain = predict(pilot, Scenario("run", Settings(), 8))
    fixed = corrected(plain, correction(key))
    assert fixed.figures["calls"].expected == pytest.approx(1.5 * 8)
    assert fixed.figures["calls"].high == pytest.approx(1.5 * plain.figures["calls"].high)
    assert fixed.figures["wall_s"] == plain.figures["wall_s"]


def test_eval_plan_refuses_a_run_over_max_run_cost(tmp_path, capsys) -> None:
    data = write_city_items(tmp_path / "dev.json", 10)
    table = write_scripted_table(tmp_path / "table.json")
    out = tmp_path / "run"
    argv = ["eval", "hotpotqa", "--data", str(data), "--model", f"scripted/{table}", "--quiet"]
    flags = ["--plan", "--pilot", "4", "--price-per-hour", "360000", "--max-run-cost", "0.01"]
    assert main([*argv, "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "over --max-run-cost 0.01: not started" in err[0]
    assert len(read_results(out / "results.jsonl")) == 4  # the pilot's rows only, kept
    # --yes starts it anyway, continuing from the pilot's rows.
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    assert len(read_results(out / "results.jsonl")) == 10


def test_a_fleets_replicas_are_one_pool_of_all_their_slots(tmp_path, capsys) -> None:
    data = write_city_items(tmp_path / "dev.json", 6)
    replicas = "http://127.0.0.1:9/v1,http://127.0.0.1:10/v1"  # scripted: never dialled
    argv = ["plan", "eval", "hotpotqa", "--data", str(data), "--model", "scripted", "--quiet"]
    assert (
        main([*argv, "--api-base", replicas, "--concurrency", "3", "--pilot", "2", "--json"]) == 0
    )
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings["concurrency"] == {"scripted|scripted": 6}
    assert settings["items_in_flight"] == 3
