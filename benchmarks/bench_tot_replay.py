"""Faithfulness of agot's Tree of Thoughts on Game of 24: replay the published run's log.

The Tree of Thoughts repository (princeton-nlp/tree-of-thought-llm) ships the log of its
Game of 24 run (``logs/game24/gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json``): for
each of the 100 test puzzles and each of the 4 steps, the kept states, every new candidate
and its value. This script answers agot's ToT calls from that log (a propose or finish call
gets the lines the log shows for that state; a value call gets labels whose weights sum to the
logged value) and compares what agot's search does with what the published code did on the
same replies: the candidates and values of every step, the state ranked first at the end, and
whether that state solves the puzzle.

Expected differences (see :class:`agot.strategies.ToT`): agot drops blank proposal lines and
does not propose moves for a state whose one number left is not 24, so candidates the code
made from them (always worthless) are missing in the last step.

Run: ``python benchmarks/bench_tot_replay.py LOG.json`` (the log named above)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
from collections import defaultdict, deque
from typing import Any

from agot.backends.scripted import ScriptedBackend
from agot.evals.tasks.game24_tot import tot_verdict
from agot.prompts.tot import VALUE_WEIGHTS
from agot.strategies import ToT
from agot.strategies.tot_game24 import left_after, numbers_left, out_of_steps
from agot.types import GenerationRequest


def labels_for(value: float) -> list[str]:
    """Three labels whose weights sum to ``value`` (``none``: a reply with no label)."""
    for combo in itertools.combinations_with_replacement([*VALUE_WEIGHTS, "none"], 3):
        if abs(sum(VALUE_WEIGHTS.get(c, 0.0) for c in combo) - value) < 1e-9:
            return list(combo)
    raise ValueError(f"no three labels sum to {value}")


def script_for(entry: dict[str, Any]) -> Any:
    """A scripted model that answers agot's ToT calls with this puzzle's logged replies."""
    puzzle = entry["steps"][0]["x"]
    proposals: dict[str, deque[str]] = defaultdict(deque)
    finishes: dict[str, str] = {}
    values: dict[str, float] = {}
    last_values: dict[str, float] = {}
    for step in entry["steps"]:
        for state in step["ys"]:
            lines = [
                new[len(state) :].rstrip("\n") for new in step["new_ys"] if new.startswith(state)
            ]
            left = left_after(state, puzzle)
            if left == "24":
                finishes[state.strip()] = "\n".join(lines)
            else:
                proposals[left].append("\n".join(lines))
        for new, value in zip(step["new_ys"], step["values"], strict=True):
            if out_of_steps(new):
                continue
            lines = new.strip().split("\n")
            if "left: " in lines[-1]:
                values.setdefault(numbers_left(lines[-1]) or lines[-1], value)
            else:
                last_values.setdefault(lines[-1].lower().replace("answer: ", ""), value)

    def script(request: GenerationRequest) -> str:
        text = request.messages[-1].content
        if request.role == "propose":
            found = re.search(r"Numbers left: (.*)", text)
            queue = proposals.get(found.group(1).strip() if found else "")
            if not queue:
                return ""
            return queue.popleft() if len(queue) > 1 else queue[0]
        if request.role == "finish":
            return next((reply for steps, reply in finishes.items() if steps in text), "")
        if "Proposed answer:" in text:
            found = re.search(r"Proposed answer: (.*)", text)
            value = last_values.get(found.group(1).strip().lower() if found else "")
        else:
            found = re.search(r"Numbers: (.*)", text)
            value = values.get(found.group(1).strip() if found else "")
        return "none" if value is None else labels_for(value)[request.sample_index or 0]

    return script


async def replay(log: list[dict[str, Any]]) -> None:
    same_steps = total_steps = same_top = ours_ok = theirs_ok = calls = 0
    for entry in log:
        puzzle = entry["steps"][0]["x"]
        result = await ToT().solve(puzzle, model=ScriptedBackend(script_for(entry)))
        for ours, theirs in zip(result.details["steps"], entry["steps"][:3], strict=False):
            total_steps += 1
            same_steps += ours["candidates"] == len(theirs["new_ys"]) and [
                round(v, 3) for v in ours["values"]
            ] == [round(v, 3) for v in theirs["values"]]
        same_top += result.details["final_states"][0] == entry["ys"][0]
        ours_ok += tot_verdict(result.details["raw"], puzzle.split()).ok  # ToT's own rule
        theirs_ok += bool(entry["infos"][0]["r"])
        calls += result.usage.calls
    n = len(log)
    print(f"puzzles: {n}")
    print(f"steps 1-3 with the same candidates and values: {same_steps}/{total_steps}")
    print(f"same state ranked first at the end: {same_top}/{n}")
    print(f"first state solves the puzzle: agot {ours_ok}/{n}, published log {theirs_ok}/{n}")
    print(f"model calls per puzzle (value samples are separate calls): {calls / n:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="the ToT repository's Game of 24 log (JSON)")
    args = parser.parse_args()
    with open(args.log, encoding="utf-8") as handle:
        asyncio.run(replay(json.load(handle)))


if __name__ == "__main__":
    main()
