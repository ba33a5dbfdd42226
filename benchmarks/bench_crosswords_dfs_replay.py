"""Faithfulness of agot's Tree of Thoughts on 5x5 crosswords: the same replies, the same search.

The published depth-first search (princeton-nlp/tree-of-thought-llm,
``scripts/crosswords/search_crosswords-dfs.ipynb`` with ``MiniCrosswordsEnv`` of
``src/tot/tasks/crosswords.py``) and agot's :class:`~agot.strategies.tot_dfs.CrosswordSearch`
are both answered by one scripted model here, a pure function of what a prompt asks:

* a propose prompt gets, per sample, candidate lines for the board's incomplete words: the
  gold word where it still fits and, for some words and samples, a wrong one (the gold word
  reversed or rotated), each with a confidence, in an order that depends on the sample;
* a value prompt (a clue and the letters its cells hold) gets ``impossible`` when a letter
  contradicts the gold word, ``sure`` when all five are there, ``maybe`` otherwise.

So the search meets ties, wrong words that break earlier ones, pruning and the 100-state
limit. Both sides' prompts are read for the board (its last five-letter rows) or for the clue
and letters; the replies never depend on how a prompt is worded, only on what it asks.

What is compared per puzzle: the sequence of explored states (the actions leading to each, in
order), each state's sure/maybe/impossible counts, and the calls: propose samples and value
calls (both sides cache proposals per rendered board and value replies per prompt).

With ``--tot-repo PATH`` (a checkout of the published repository, outside this one) the
published code itself runs: ``MiniCrosswordsEnv`` and the notebook's functions, loaded from
that checkout, with its ``tot.models.gpt`` replaced by the scripted model (no network); the
notebook's own loop is not run. ``--record FILE`` stores the published sequences, which
``tests/test_tot_replays.py`` compares agot with (``tests/fixtures/crosswords/dfs_replay.json``).
Without ``--tot-repo`` agot is compared with a recorded file (``--recorded``).

Run: ``python benchmarks/bench_crosswords_dfs_replay.py --tot-repo /tmp/tot --data
/tmp/tot/src/tot/data/crosswords/mini0505.json --puzzles 0:100:5``
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agot.backends.scripted import ScriptedBackend
from agot.evals.tasks.crosswords import question_for
from agot.graph import ThoughtGraph
from agot.strategies import ToT
from agot.strategies.tot_crosswords import word_name, words_of
from agot.testing.replay import published_side, replay_parser, save_published
from agot.types import GenerationRequest

CONFIDENCES = ("certain", "high", "medium", "low")
_BOARD = re.compile(r"(?m)((?:^[A-Z_]{5}\n){4}^[A-Z_]{5})$")
_PATTERN = re.compile(r"\b([a-z_](?: [a-z_]){4})\b")
_COUNTS = re.compile(r"sure (\d+), maybe (\d+), impossible (\d+)")

#: One explored state: the actions that led to it and its (sure, maybe, impossible) counts.
State = tuple[list[str], list[int]]


class Replies:
    """The scripted model of one puzzle (see the module docstring)."""

    def __init__(self, clues: list[str], gold_cells: list[str]) -> None:
        self.clues = clues
        self.gold = words_of(gold_cells)
        #: varies which words each sample proposes from puzzle to puzzle
        self.shift = sum(map(ord, gold_cells)) % 7

    def propose(self, prompt: str, sample: int) -> str:
        boards = _BOARD.findall(prompt.replace("\r", "") + "\n")
        cells = "".join(boards[-1].split()) if boards else "_" * 25
        words = words_of(cells)
        lines = ["Candidates:"]
        order = list(range(10))
        order = order[sample % 10 :] + order[: sample % 10]
        for w in order:
            if "_" not in words[w] or (w + sample + self.shift) % 3 == 0:
                continue
            gold = self.gold[w]
            if all(c in ("_", g) for c, g in zip(words[w], gold, strict=True)):
                lines.append(
                    f"{word_name(w)}. {gold.lower()} ({CONFIDENCES[(w * 7 + sample) % 4]})"
                )
            if (w * 3 + sample + self.shift) % 4 == 0:
                wrong = gold[::-1] if gold[::-1] != gold else gold[1:] + gold[0]
                lines.append(f"{word_name(w)}. {wrong.lower()} ({CONFIDENCES[2 + sample % 2]})")
        return "\n".join(lines)

    def value(self, prompt: str) -> str:
        patterns = _PATTERN.findall(prompt)
        letters = patterns[-1].split() if patterns else ["_"] * 5
        clue = max(range(10), key=lambda i: (prompt.rfind(self.clues[i]), len(self.clues[i])))
        gold = self.gold[clue].lower()
        if any(c != "_" and c != g for c, g in zip(letters, gold, strict=True)):
            label = "impossible"
        elif "_" not in letters:
            label = "sure"
        else:
            label = "maybe"
        return f"Checked the letters against the clue.\n{label}"


async def agot_run(clues: list[str], gold_cells: list[str]) -> dict[str, Any]:
    """agot's ToT (crosswords form, defaults) on one puzzle, answered by :class:`Replies`."""
    replies = Replies(clues, gold_cells)

    def script(request: GenerationRequest) -> str:
        text = request.messages[-1].content
        if request.role == "propose":
            return replies.propose(text, request.sample_index or 0)
        return replies.value(text)

    result = await ToT().solve(question_for(clues), model=ScriptedBackend(script))
    assert result.graph is not None
    graph = ThoughtGraph.from_json(result.graph)
    paths: dict[str, list[str]] = {}
    states: list[State] = []
    for node in graph.nodes():
        if not node.justification or "score" not in node.justification:
            continue  # the final answer node
        parents = graph.parents(node.id)
        parent = paths.get(parents[0].id, []) if parents else []
        paths[node.id] = [*parent, node.title]
        found = _COUNTS.search(node.justification)
        counts = [int(n) for n in found.groups()] if found else []
        states.append((paths[node.id], counts))
    calls = result.details["calls"]
    return {"states": states, "propose": calls["propose"], "value": calls["value"]}


def published_run(repo: Path, clues: list[str], gold_cells: list[str]) -> dict[str, Any]:
    """The published DFS (with pruning, 100 states, 3 per state) on one puzzle, loaded from the
    checkout at ``repo`` with its model call replaced by :class:`Replies`."""
    replies = Replies(clues, gold_cells)
    calls = {"propose": 0, "value": 0}

    def gpt(prompt: str, model: str = "gpt-4", n: int = 1, **_: Any) -> list[str]:
        if n > 1:  # the notebook's propose call; prompt_status asks one sample
            calls["propose"] += n
            return [replies.propose(prompt, i) for i in range(n)]
        calls["value"] += 1
        return [replies.value(prompt)]

    namespace = _published_namespace(repo, gpt)
    env = namespace["MiniCrosswordsEnv"]()
    env.file = [(clues, gold_cells)]
    env.n = 1
    env.reset(0)
    infos: list[dict[str, Any]] = []
    with contextlib.redirect_stdout(io.StringIO()):
        namespace["env"] = env
        namespace["dfs"](env, [], infos, 100, prune=True, max_per_state=3)
    states = [(list(i["actions"]), [i["count"][k] for k in ("sure", "maybe", "impossible")])
              for i in infos]  # fmt: skip
    return {"states": states, **calls}


def _published_namespace(repo: Path, gpt: Callable[..., list[str]]) -> dict[str, Any]:
    """The published env class and the notebook's search functions, with ``gpt`` as model."""
    src = str(repo / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    models = types.ModuleType("tot.models")
    models.gpt = gpt  # type: ignore[attr-defined]
    sys.modules["tot.models"] = models
    for name in [m for m in sys.modules if m.startswith("tot.tasks")]:
        del sys.modules[name]
    from tot.tasks.crosswords import MiniCrosswordsEnv  # type: ignore[import-not-found]

    notebook = json.loads(
        (repo / "scripts" / "crosswords" / "search_crosswords-dfs.ipynb").read_text()
    )
    namespace: dict[str, Any] = {"MiniCrosswordsEnv": MiniCrosswordsEnv}
    for cell in notebook["cells"]:
        code = "".join(cell["source"])
        # the cells that import and define; not ``cd ..`` nor the loops over the puzzles
        if cell["cell_type"] == "code" and ("import" in code or "def " in code):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, "search_crosswords-dfs.ipynb", "exec"), namespace)
    namespace["gpt"] = gpt
    return namespace


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Where the two runs of one puzzle agree: states (in order), counts, calls."""
    same_prefix = 0
    for a, b in zip(ours["states"], theirs["states"], strict=False):
        if [list(a[0]), list(a[1])] != [list(b[0]), list(b[1])]:
            break
        same_prefix += 1
    return {
        "states": (len(ours["states"]), len(theirs["states"])),
        "same_states": same_prefix,
        "identical": [list(map(list, s)) for s in ours["states"]]
        == [list(map(list, s)) for s in theirs["states"]],
        "propose": (ours["propose"], theirs["propose"]),
        "value": (ours["value"], theirs["value"]),
    }


def puzzles(data: Path, spec: str) -> list[tuple[int, list[str], list[str]]]:
    games = json.loads(data.read_text())
    start, stop, step = (int(x) if x else None for x in [*spec.split(":"), "", ""][:3])
    chosen = range(len(games))[slice(start, stop, step)]
    return [(i, list(games[i][0]), list(games[i][1])) for i in chosen]


def main() -> int:
    """Exit status 0 when every puzzle's search is identical, 1 otherwise."""
    parser = replay_parser(__doc__.splitlines()[0], "tot-repo", "tree-of-thought-llm")
    parser.add_argument("--data", type=Path, required=True, help="a mini0505.json file")
    parser.add_argument("--puzzles", default="0:100:5", help="start:stop:step of puzzles")
    args = parser.parse_args()
    repo, recorded = published_side(parser, args, "tot-repo")
    saved, identical, total = {}, 0, 0
    for index, clues, gold in puzzles(args.data, args.puzzles):
        theirs = published_run(repo, clues, gold) if repo else recorded[str(index)]
        saved[str(index)] = theirs
        ours = asyncio.run(agot_run(clues, gold))
        result = compare(ours, theirs)
        total += 1
        identical += result["identical"] and result["propose"][0] == result["propose"][1]
        print(f"puzzle {index}: {json.dumps(result)}")
    print(f"identical search (states, counts, calls): {identical}/{total} puzzles")
    save_published(args, saved)
    return 0 if identical == total else 1


if __name__ == "__main__":
    sys.exit(main())
