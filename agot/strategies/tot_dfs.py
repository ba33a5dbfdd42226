"""Tree of Thoughts' depth-first search with pruning, for 5x5 mini crosswords.

From a board state, ``samples`` propose calls (concurrent) each list candidate words with a
confidence (certain 1, high 0.5, medium 0.2, low 0.1); a candidate's score is its weights
summed over the samples. Candidates are tried best first: one that overwrites a word placed
earlier is skipped, and at most ``per_state`` are explored from each state. Each explored state
is checked: every word with at least two letters known gets one value call (its clue and
letters: sure / maybe / impossible); with ``prune`` a state holding an impossible word is not
expanded. The search ends after ``max_states`` explored states or when the queue is empty; a
board holds at most ``max_depth - 1`` words (the method's ``steps < 10``). Proposals are cached
per board, value replies per prompt, for the item.

The answer is the explored state with the most words placed among those not pruned (the first
found of those, which the search reached through its most confident choices); its unknown cells
are written as ``X`` so the grid reader sees five letters a row (``X`` is rare in the puzzles,
so a blank almost never scores). The method's notebook logs every state and reports the best by
the gold answer as an oracle ablation; an answer chosen by the gold would not be a fair
comparison, so none is.

Intended differences from the published search (``scripts/crosswords/search_crosswords-dfs
.ipynb`` with ``MiniCrosswordsEnv``), none changing which states are explored:

* The 8 proposals are 8 concurrent calls (``sample_index`` 0..7), not one request with ``n=8``;
  a state's value calls run concurrently too. Samples counted, the numbers agree.
* Proposal lines are read leniently (a leading bullet, ``:`` or ``)`` after the position,
  ``**word**``) where the code needs exactly ``h1. word (conf)``; a value label is read from
  the reply's last line wherever it stands on it (the code needs the line to be the label).
  On replies in the code's own format both read the same.
* Caches (proposals per rendered board, value replies per prompt) live for one item; the
  code's ``env`` keeps them across the run's puzzles.
* Prompts are agot's own, without the code's worked examples.
* The answer: see above (the code picks none).

Evidence: ``benchmarks/bench_crosswords_dfs_replay.py`` runs the published code (loaded from a
checkout outside this repository, its model call replaced) and this search on the same
scripted replies (gold and wrong candidates, ties, pruning, the 100-state limit): on puzzles
0, 20, 40, 60 and 80 of ``mini0505.json`` both explore the same 100 states in the same order
with the same sure/maybe/impossible counts, with 248 proposal samples and 38-40 value calls
each; ``tests/test_tot_replays.py`` checks it on the two fixture puzzles.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agot.errors import BudgetExceeded
from agot.graph import ThoughtGraph, ThoughtNode
from agot.prompts import tot
from agot.strategies.base import Outcome, RunContext
from agot.strategies.search_graph import finish, gather_calls, note_call
from agot.strategies.tot_crosswords import Board, parse_proposals, status_label, word_name
from agot.types import SamplingParams

#: The method's search limits: candidates explored per state, states in all, words per board.
PER_STATE = 3
MAX_STATES = 100
MAX_DEPTH = 10
PROPOSE_SAMPLES = 8


class CrosswordSearch:
    """One item's depth-first search; see the module docstring."""

    def __init__(
        self,
        ctx: RunContext,
        graph: ThoughtGraph,
        clues: list[str],
        *,
        params: SamplingParams,
        samples: int,
        per_state: int,
        max_states: int,
        max_depth: int,
        prune: bool = True,
    ) -> None:
        self.ctx, self.graph, self.clues, self.params = ctx, graph, clues, params
        self.samples, self.per_state = samples, per_state
        self.max_states, self.max_depth, self.prune = max_states, max_depth, prune
        self.propose = ctx.use_prompt(tot.PROPOSE_CROSSWORD)
        self.value = ctx.use_prompt(tot.VALUE_CROSSWORD)
        self.proposals: dict[str, list[tuple[str, float]]] = {}
        self.labels: dict[str, asyncio.Future[str | None]] = {}
        self.explored: list[tuple[Board, ThoughtNode, int]] = []
        self.errors: list[str] = []
        self.calls = {"propose": 0, "value": 0}
        #: The last batch of calls: the search is sequential, so the next batch waited for it.
        self.last: tuple[str, ...] = ()

    async def run(self) -> Outcome:
        stopped = None
        try:
            await self.dfs(Board(), None)
        except BudgetExceeded as exc:
            stopped = exc.reason
        kept = [e for e in self.explored if e[2] == 0] or self.explored
        best = max(kept, key=lambda e: e[0].filled, default=None)
        board, node = (best[0], best[1]) if best else (Board(), None)
        raw = "Answer:\n" + board.grid()
        return finish(
            self.graph,
            layer=1 + max((n.layer for n in self.graph.nodes()), default=-1),
            question=self.graph.question,
            answer=board.grid(),
            parents=[node.id] if node is not None else [],
            raw=raw,
            details={
                "form": "crosswords",
                "shape": {
                    "samples": self.samples,
                    "per_state": self.per_state,
                    "max_states": self.max_states,
                    "prune": self.prune,
                },
                "explored": len(self.explored),
                "actions": list(board.actions),
                "calls": dict(self.calls),
            },
            errors=self.errors,
            stopped=stopped,
        )

    async def dfs(self, board: Board, parent: ThoughtNode | None) -> None:
        candidates = await self.candidates(board, parent)
        tried = 0
        for action, score in candidates:
            after = board.place(action)
            if len(self.explored) >= self.max_states:
                return
            if len(after.actions) >= self.max_depth or after.broken:
                continue
            tried += 1
            if tried > self.per_state:
                return
            node = self.graph.add_node(
                layer=len(after.actions) - 1,
                title=action,
                question=after.render(self.clues),
                parents=[parent.id] if parent is not None else [],
            )
            impossible, shown = await self.check(after, node)
            node.answer = after.grid(blank="_")
            node.justification = f"score {score:g}; {shown}"
            self.explored.append((after, node, impossible))
            if self.prune and impossible:
                node.status = "skipped"
                continue
            node.status = "answered"
            await self.dfs(after, node)

    async def candidates(self, board: Board, node: ThoughtNode | None) -> list[tuple[str, float]]:
        """Candidate words from ``samples`` proposals, best score first (ties: first seen)."""
        shown = board.render(self.clues)
        if shown in self.proposals:
            return self.proposals[shown]

        depends, fresh = self.last, list[str]()

        async def one(index: int) -> str:
            self.calls["propose"] += 1
            generation = await self.ctx.generate(
                self.propose.request(
                    board=shown,
                    request_kwargs={
                        "role": "propose",
                        "node_id": node.id if node is not None else "root",
                        "params": self.params,
                        "sample_index": index,
                        "depends_on": depends,
                    },
                )
            )
            fresh.append(generation.call_id)
            if node is not None:
                note_call(node, generation)
            return generation.text

        texts = await self.gather([one(i) for i in range(self.samples)])
        self.last = tuple(fresh) or self.last
        scores: dict[str, float] = {}
        for text in texts:
            for action, weight in parse_proposals(text or ""):
                scores[action] = scores.get(action, 0.0) + weight
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        self.proposals[shown] = ranked
        return ranked

    async def check(self, board: Board, node: ThoughtNode) -> tuple[int, str]:
        """(impossible words, a summary) of the value calls on every word with 2+ letters."""
        words = board.words()
        checked = [i for i, word in enumerate(words) if word.count("_") < 4]

        async def one(index: int) -> str | None:
            fields = {"clue": self.clues[index], "pattern": " ".join(words[index].lower())}
            key = self.value.user.format(**fields)
            if key not in self.labels:
                self.labels[key] = asyncio.ensure_future(self.ask(fields, node, depends, fresh))
            return await self.labels[key]

        depends, fresh = self.last, list[str]()
        labels = await self.gather([one(i) for i in checked])
        self.last = tuple(fresh) or self.last
        counts = {name: labels.count(name) for name in ("sure", "maybe", "impossible")}
        bad = [
            word_name(i) for i, label in zip(checked, labels, strict=True) if label == "impossible"
        ]
        shown = ", ".join(f"{k} {v}" for k, v in counts.items()) + (
            f" (impossible: {' '.join(bad)})" if bad else ""
        )
        return counts["impossible"], shown

    async def ask(
        self,
        fields: dict[str, str],
        node: ThoughtNode,
        depends: tuple[str, ...],
        fresh: list[str],
    ) -> str | None:
        self.calls["value"] += 1
        generation = await self.ctx.generate(
            self.value.request(
                **fields,
                request_kwargs={
                    "role": "value",
                    "node_id": node.id,
                    "params": self.params,
                    "depends_on": depends,
                },
            )
        )
        fresh.append(generation.call_id)
        note_call(node, generation)
        return status_label(generation.text)

    async def gather(self, calls: list[Any]) -> list[Any]:
        """Concurrent calls; a failed call gives None (recorded), a budget stop is raised."""
        return await gather_calls(calls, self.errors, _raise)


def _raise(stop: BudgetExceeded) -> None:
    """A budget stop ends the DFS at once: :meth:`CrosswordSearch.run` keeps what it found."""
    raise stop


__all__ = ["MAX_DEPTH", "MAX_STATES", "PER_STATE", "PROPOSE_SAMPLES", "CrosswordSearch"]
