"""The live status line: rich on a terminal (one line, cut to the width, never wrapped), plain
lines elsewhere, and the ``loading model`` phase before the first call of solve/classify."""

from __future__ import annotations

import asyncio
import io
import re

from agot.backends import ScriptedBackend
from agot.cli.progress import run_with_status
from agot.dispatcher import Dispatcher
from agot.progress import Progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def _show(stream, describe, seconds: float, **options) -> None:
    async with Progress(describe, stream=stream, delay_s=0.0, **options):
        await asyncio.sleep(seconds)


def test_terminal_line_is_cut_to_the_width_and_never_wraps():
    stream = Terminal()
    long = "items 17/200 | em cot 0.412, agot 0.533 | 1.2M tok | $3.1416 | 2 errors " * 4
    asyncio.run(_show(stream, lambda: long, 0.6, width=80))
    shown = [ANSI.sub("", part) for part in re.split(r"[\r\n]", stream.getvalue())]
    shown = [line for line in shown if line.strip()]
    assert shown, stream.getvalue()
    assert all(len(line) <= 80 for line in shown), max(shown, key=len)
    assert any(line.rstrip().endswith("…") for line in shown)
    assert "\x1b[" in stream.getvalue()  # drawn in place, not appended


def test_piped_output_stays_line_based():
    stream = io.StringIO()
    asyncio.run(_show(stream, lambda: "3/10 done", 0.1))
    text = stream.getvalue()
    assert text.endswith("3/10 done\n") and "\x1b" not in text and "\r" not in text


class SlowLoading(ScriptedBackend):
    """A backend that loads weights on first use, as the embedded model does."""

    def __init__(self) -> None:
        super().__init__({"*": "Answer: 4"})
        self.loaded = False

    async def load(self) -> None:
        await asyncio.sleep(0.05)  # shown at once, not only after the usual delay
        self.loaded = True


def test_solve_shows_a_loading_model_phase_first():
    import agot

    stream = io.StringIO()
    backend = SlowLoading()
    dispatcher = Dispatcher(backend)
    result = run_with_status(
        "cot",
        dispatcher,
        lambda: agot.CoT().solve("2+2?", dispatcher=dispatcher),
        stream=stream,
    )
    assert result.answer == "4" and backend.loaded
    first = stream.getvalue().splitlines()[0]
    assert "cot: loading model" in first


def test_status_line_counts_cache_hits_misses_and_sampled_calls_passed_by(tmp_path):
    """#31 item 5: with --cache, the line says what the cache did, sampled calls included."""
    import warnings

    from agot.cli.progress import RunStatus
    from agot.types import GenerationRequest, Message, SamplingParams

    def ask(temperature: float) -> GenerationRequest:
        params = SamplingParams(temperature=temperature)
        return GenerationRequest(messages=[Message(role="user", content="q")], params=params)

    async def go() -> str:
        async with Dispatcher(ScriptedBackend({"*": "Answer: 1"}), cache=tmp_path) as d:
            await d.generate(ask(0.0))
            await d.generate(ask(0.0))
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                await d.generate(ask(0.3))
            assert any("--cache-sampled" in str(w.message) for w in seen)
            return RunStatus("solve", d)()

    line = asyncio.run(go())
    assert "cache 1 hits, 1 misses, 1 sampled calls not cached" in line
    assert " 1 cached" not in line  # the hit is said once, in the cache's own words


def test_cache_sampled_is_an_option_of_every_command_with_a_cache():
    import argparse

    from agot.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("solve", "eval", "classify"):
        text = " ".join(sub.choices[name].format_help().split())
        assert "--cache-sampled" in text and "temperature 0 only" in text, name


def test_eval_line_keeps_tokens_cost_and_eta_at_80_columns_with_three_scored_strategies():
    """#31 item 8: the bar goes and scores are abbreviated before tokens, cost or ETA do."""
    from agot.evals.progress import EvalProgress
    from agot.evals.run_folder import ResultRow

    labels = ["agot", "chain-of-thought", "self-consistency"]
    progress = EvalProgress(
        total=200, already=0, headline="em", labels=labels, stream=io.StringIO(), enabled=False
    )
    for i in range(17):
        row = ResultRow(
            id=str(i),
            dataset="d",
            seed=0,
            strategy=labels[i % 3],
            model="local",
            question="q",
            scores={"em": float(i % 2)},
        )
        row.usage.prompt_tokens, row.usage.cost = 70_000, 0.18
        progress.add(row)
    full = progress.describe()
    assert len(full) > 80 and "[" in full  # off a terminal: the whole line
    for width in (80, 100):
        progress.width = width
        line = progress.describe()
        assert len(line) + len("[0:00] ") + 2 <= width, line
        assert "1.2M tok" in line and "$3.06" in line and "ETA " in line
        assert "17/200" in line and "em " in line
    progress.width = 80
    line = progress.describe()
    assert all(name in line for name in ("agot", "chai", "self")), line  # abbreviated, all three
