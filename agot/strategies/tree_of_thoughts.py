"""Tree of Thoughts (Yao et al. 2023): breadth-first search over partial solutions.

Each step expands every kept state, evaluates the new states with the model, and keeps the
``breadth`` best (greedy selection, ties to the earlier state). Two forms, as in the method:

* **Game of 24** (``mode="game24"``; ``auto`` picks it for a question of four numbers and 24):
  one *propose* call per state lists the next moves, one per line (``a op b = c (left: ...)``);
  a state whose only number left is 24 gets a *finish* call instead, which writes the answer
  expression. Each new state is *valued* by ``value_samples`` calls, each ending in a label
  (sure 20, likely 1, impossible 0.001, summed). Defaults: breadth 5, 3 value samples, 4 steps.
* **Sample / vote** (``mode="sample"``; any other question): each kept state is continued by
  ``samples`` sampled reasoning steps (the last step answers), and ``value_samples`` vote calls
  pick the most promising candidate. Defaults: 2 steps, 5 samples, 5 votes, breadth 1.
* **5x5 crosswords** (``mode="crosswords"``; ``auto`` picks it for a question with clues h1-h5
  and v1-v5): depth-first search with pruning, :mod:`agot.strategies.tot_dfs` (8 propose
  samples per state, at most 3 candidates explored per state (``breadth``), 100 states
  (``max_states``), boards of at most 9 words (``steps`` 10), ``prune`` on). Its differences
  from the published search, and the replay that checks it, are in that module.

The tree is a :class:`~agot.graph.ThoughtGraph`: one node per candidate, layer = step, an edge
from the state it extends; pruned candidates are ``skipped``, kept ones ``answered`` with their
value. Every call of a step runs concurrently; a call's ``depends_on`` names what it waited
for: an evaluation the step's expansions, an expansion the previous step's calls (selecting the
kept states needs every value), so the trace's critical path is the search's.

Intended differences from the published code (``princeton-nlp/tree-of-thought-llm``), each
keeping the search the same:

* Value and vote samples are separate calls (``sample_index`` 0..k-1): the code asks one API
  request with ``n=k``. Calls per item differ by that factor; the prompts sent are the same.
* The value cache (same numbers left, same value prompt, one valuation) lives for one item,
  not the whole run, so items stay independent; candidates repeated within a step are valued 0
  without a call, as in the code.
* A four-line trajectory with no answer is valued 0 without calls (the code asks, then
  discards the reply); a state whose one number left is not 24 gets no propose call (it has no
  move).
* Blank proposal lines are dropped; a value label is read from anywhere on the reply's last
  line (the code needs the line to be exactly the label).
* Prompts describe the line format instead of showing a worked example (small models copy
  the example's numbers); they are written for agot.
* Evidence: ``benchmarks/bench_tot_replay.py`` answers this search from the published Game
  of 24 log (gpt-4, 100 puzzles): 299 of the 300 first three steps produce the same candidates
  and values; at the end the same state ranks first on 76 puzzles, the others differing by
  the blank-line and no-move candidates above (first state solves 65 puzzles here, 62 in the
  log, where a blank-line candidate outranked a found answer three times).
* The answer is the best-valued final state. The paper's success rate counts an item solved
  when the first of the kept states is; the code's log also reports "any of the b".

Budgets: a budget stop ends the search at the step it happened in; the answer is the best state
of the last completed step (of the first step's partial ranking when the stop came that early;
a Game of 24 state that has not reached its answer line scores 0).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from agot.answers import extract_answer
from agot.config import check_count
from agot.errors import BudgetExceeded, ConfigError
from agot.graph import ThoughtGraph, ThoughtNode
from agot.prompts import tot
from agot.strategies.base import Outcome, RunContext, Strategy
from agot.strategies.search_graph import finish, gather_calls, note_call
from agot.strategies.tot_crosswords import crossword_clues
from agot.strategies.tot_dfs import (
    MAX_DEPTH,
    MAX_STATES,
    PER_STATE,
    PROPOSE_SAMPLES,
    CrosswordSearch,
)
from agot.strategies.tot_game24 import (
    answer_of,
    left_after,
    numbers_left,
    out_of_steps,
    puzzle_numbers,
    reached_target,
    single_number,
    value_label,
    value_of,
)
from agot.task import Task
from agot.types import Generation

Mode = Literal["auto", "game24", "crosswords", "sample"]
MODES: tuple[str, ...] = ("auto", "game24", "crosswords", "sample")

#: Bounds on the search's shape: beyond these a value is a typo, not an experiment.
MAX_BREADTH = 64
MAX_SAMPLES = 64
MAX_STEPS = 16

#: The method's defaults per form: (steps, breadth, value or vote samples).
GAME24_DEFAULTS = (4, 5, 3)
SAMPLE_DEFAULTS = (2, 1, 5)
#: Continuations per state in the sample/vote form; proposals per state for crosswords.
SAMPLES_DEFAULT = 5

_T = TypeVar("_T")
_VOTE = re.compile(r"(?i)best\s*choice\s*(?:is)?\s*[:：]?\s*[*#(\s]*(?:candidate\s*)?#?\s*(\d+)")


@dataclass(eq=False)
class _State:
    """A node of the search: the trajectory so far and where it came from."""

    text: str
    node: ThoughtNode | None = None
    #: The call that wrote this state's last step (what reading it depends on).
    call: str | None = None
    value: float | None = None


@dataclass
class _Step:
    """What one step of the search ran into (budget stops and failed calls)."""

    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    async def gather(self, calls: Sequence[Awaitable[_T]]) -> list[_T | None]:
        """Run ``calls`` concurrently; a failed or budget-stopped one gives None."""
        return await gather_calls(calls, self.errors, self._note_stop)

    def _note_stop(self, stop: BudgetExceeded) -> None:
        self.stopped = self.stopped or stop.reason


class ToT(Strategy):
    """Tree of Thoughts: BFS with propose + value (Game of 24) or sample + vote (other tasks).

    ``breadth`` (b), ``value_samples`` and ``steps`` default to the method's values for the
    form in use (Game of 24: 5, 3, 4; sample/vote: 1, 5 votes, 2); ``samples`` is the number
    of continuations per state in the sample/vote form (5) or of proposals per crossword board
    (8). Crosswords read ``breadth`` as candidates explored per state (3), ``steps`` as the
    board's word limit (10), ``max_states`` (100) and ``prune`` (on).
    """

    name = "tot"

    def __init__(
        self,
        *,
        mode: Mode = "auto",
        breadth: int | None = None,
        value_samples: int | None = None,
        steps: int | None = None,
        samples: int | None = None,
        max_states: int = MAX_STATES,
        prune: bool = True,
        temperature: float = 0.7,
        max_tokens: int = 512,
        **options: Any,
    ) -> None:
        """``options``: what every strategy takes (``budget``, ``models``, ``router``)."""
        if mode not in MODES:
            raise ConfigError(f"ToT mode {mode!r} not known: choose from {', '.join(MODES)}")
        for value, what, top in (
            (breadth, "ToT breadth", MAX_BREADTH),
            (value_samples, "ToT value samples", MAX_SAMPLES),
            (steps, "ToT steps", MAX_STEPS),
            (samples, "ToT samples", MAX_SAMPLES),
            (max_states, "ToT max_states", 10_000),
        ):
            if value is not None:
                check_count(value, what, maximum=top)
        super().__init__(temperature=temperature, max_tokens=max_tokens, **options)
        self.mode: Mode = mode
        self.breadth, self.value_samples, self.steps = breadth, value_samples, steps
        self.samples = samples
        self.max_states, self.prune = max_states, bool(prune)

    def describe(self) -> str:
        return (
            f"ToT(mode={self.mode}, breadth={self.breadth or 'default'}, value_samples="
            f"{self.value_samples or 'default'}, steps={self.steps or 'default'})"
        )

    def _shape(self, defaults: tuple[int, int, int]) -> tuple[int, int, int]:
        steps, breadth, evaluations = defaults
        return (
            self.steps or steps,
            self.breadth or breadth,
            self.value_samples or evaluations,
        )

    async def run(self, task: Task, ctx: RunContext) -> Outcome:
        numbers = puzzle_numbers(task.question) if self.mode in ("auto", "game24") else None
        clues = crossword_clues(task.question) if self.mode in ("auto", "crosswords") else None
        if self.mode == "game24" and numbers is None:
            raise ConfigError(
                "ToT mode game24 needs a question with four numbers (and 24): "
                f"{task.question[:80]!r}"
            )
        if self.mode == "crosswords" and clues is None:
            raise ConfigError(
                "ToT mode crosswords needs a question with the clues h1-h5 and v1-v5: "
                f"{task.question[:80]!r}"
            )
        graph = ThoughtGraph(task.question)
        if numbers is None and clues is not None:
            return await CrosswordSearch(
                ctx,
                graph,
                clues,
                params=self.params,
                samples=self.samples or PROPOSE_SAMPLES,
                per_state=self.breadth or PER_STATE,
                max_states=self.max_states,
                max_depth=self.steps or MAX_DEPTH,
                prune=self.prune,
            ).run()
        search: _Search
        if numbers is not None:
            search = _Game24Search(self, ctx, graph, " ".join(map(str, numbers)))
        else:
            search = _SampleVoteSearch(self, ctx, graph, task)
        return await search.run()


class _Search:
    """The BFS loop both forms share: expand, evaluate, keep the best ``breadth``."""

    form: str

    def __init__(self, strategy: ToT, ctx: RunContext, graph: ThoughtGraph) -> None:
        self.strategy, self.ctx, self.graph = strategy, ctx, graph
        self.params = strategy.params
        self.steps, self.breadth, self.evaluations = strategy._shape(self.defaults())
        self.errors: list[str] = []
        self.calls = {"expand": 0, "evaluate": 0}
        #: Calls of the step so far, the last step's (what selection waited for) and this
        #: step's expansion (what evaluation waited for): the ``depends_on`` of the next calls.
        self.step_ids: list[str] = []
        self.barrier: tuple[str, ...] = ()
        self.expanded: tuple[str, ...] = ()

    def defaults(self) -> tuple[int, int, int]:
        raise NotImplementedError

    async def expand(self, states: list[_State], step: int, run: _Step) -> list[_State]:
        raise NotImplementedError

    async def evaluate(self, candidates: list[_State], step: int, run: _Step) -> list[float]:
        raise NotImplementedError

    def answer(self, best: _State) -> tuple[str | None, str]:
        raise NotImplementedError

    async def generate(self, request: Any, kind: str) -> Generation:
        self.calls[kind] += 1
        generation = await self.ctx.generate(request)
        self.step_ids.append(generation.call_id)
        return generation

    async def run(self) -> Outcome:
        states = [_State("")]
        stopped: str | None = None
        history: list[dict[str, Any]] = []
        for step in range(self.steps):
            run = _Step()
            self.step_ids = []
            candidates = await self.expand(states, step, run)
            self.expanded = tuple(self.step_ids)
            values = await self.evaluate(candidates, step, run) if candidates else []
            self.barrier = tuple(self.step_ids)
            self.errors += run.errors
            for state, value in zip(candidates, values, strict=True):
                state.value = value
            # Greedy selection; sorted() is stable, so equal values keep the earlier state.
            ranked = sorted(
                range(len(candidates)), key=lambda i: candidates[i].value or 0.0, reverse=True
            )[: self.breadth]
            kept = [candidates[i] for i in ranked]
            for index, state in enumerate(candidates):
                if state.node is not None:
                    state.node.status = "answered" if index in ranked else "skipped"
            history.append(
                {
                    "step": step,
                    "candidates": len(candidates),
                    "values": [s.value for s in candidates],
                    "kept": ranked,
                }
            )
            if run.stopped:
                # A step cut short is not a fair ranking: keep the last completed step's states,
                # unless the cut came in the first step (then its partial ranking is all there is).
                stopped = run.stopped
                if step == 0 and kept:
                    states = kept
                break
            if kept:
                states = kept
            if not kept:
                break
        best = states[0]
        answer, raw = self.answer(best)
        return finish(
            self.graph,
            layer=len(history),
            question=self.graph.question,
            answer=answer,
            parents=[best.node.id] if best.node is not None else [],
            raw=raw,
            details={
                "form": self.form,
                "shape": {
                    "steps": self.steps,
                    "breadth": self.breadth,
                    "value_samples": self.evaluations,
                },
                "steps": history,
                "final_states": [s.text for s in states],
                "final_values": [s.value for s in states],
                "calls": dict(self.calls),
            },
            errors=self.errors,
            stopped=stopped,
        )

    def add_node(self, parent: _State, step: int, title: str, question: str) -> ThoughtNode:
        return self.graph.add_node(
            layer=step,
            title=title[:120],
            question=question,
            parents=[parent.node.id] if parent.node is not None else [],
        )


class _Game24Search(_Search):
    form = "game24"

    def __init__(self, strategy: ToT, ctx: RunContext, graph: ThoughtGraph, numbers: str) -> None:
        super().__init__(strategy, ctx, graph)
        self.numbers = numbers
        self.cache: dict[str, asyncio.Future[tuple[float, list[str | None]]]] = {}
        self.propose = ctx.use_prompt(tot.PROPOSE_24)
        self.finish = ctx.use_prompt(tot.FINISH_24)
        self.value = ctx.use_prompt(tot.VALUE_24)
        self.value_last = ctx.use_prompt(tot.VALUE_LAST_24)

    def defaults(self) -> tuple[int, int, int]:
        return GAME24_DEFAULTS

    def left(self, state: _State) -> str:
        return left_after(state.text, self.numbers)

    async def expand(self, states: list[_State], step: int, run: _Step) -> list[_State]:
        async def one(state: _State) -> tuple[list[str], Generation] | None:
            left = self.left(state)
            if reached_target(left):
                prompt = self.finish.request(
                    numbers=self.numbers,
                    steps=state.text.strip(),
                    request_kwargs=self.kwargs(state, "finish"),
                )
            elif single_number(left):
                return None  # one number, not 24: no move is left
            else:
                prompt = self.propose.request(
                    numbers=left, request_kwargs=self.kwargs(state, "propose")
                )
            generation = await self.generate(prompt, "expand")
            lines = [line.strip() for line in generation.text.splitlines() if line.strip()]
            return lines, generation

        proposals = await run.gather([one(state) for state in states])
        candidates = []
        for state, proposal in zip(states, proposals, strict=True):
            if proposal is None:
                continue
            lines, generation = proposal
            if state.node is not None:
                note_call(state.node, generation)
            for line in lines:
                node = self.add_node(state, step, line, f"numbers left: {self.left(state)}")
                node.created_by = generation.call_id
                candidates.append(_State(state.text + line + "\n", node, generation.call_id))
        return candidates

    def kwargs(self, state: _State, role: str, **more: Any) -> dict[str, Any]:
        return {
            "role": role,
            "node_id": state.node.id if state.node is not None else "root",
            "params": self.params,
            "depends_on": self.expanded if role == "value" else self.barrier,
            **more,
        }

    async def evaluate(self, candidates: list[_State], step: int, run: _Step) -> list[float]:
        seen: set[str] = set()

        async def one(state: _State, repeated: bool) -> float:
            node = state.node
            assert node is not None
            lines = state.text.strip().splitlines()
            if repeated:
                node.justification = "repeats an earlier candidate of this step: value 0"
                return 0.0
            if out_of_steps(state.text):
                node.justification = "four steps and no answer: value 0"
                return 0.0
            left = numbers_left(lines[-1])
            if left is None:
                template, fields = (
                    self.value_last,
                    {"numbers": self.numbers, "answer": answer_of(lines[-1])},
                )
            else:
                template, fields = self.value, {"numbers": left}
            key = template.user.format(**fields)
            future = self.cache.get(key)
            if future is None:
                future = asyncio.ensure_future(self.valuate(state, template, fields, run))
                self.cache[key] = future
                cached = False
            else:
                cached = True
            value, labels = await future
            shown = ", ".join(label or "?" for label in labels)
            node.justification = f"value {value:g} ({shown})" + (" [cached]" if cached else "")
            return value

        calls = []
        for state in candidates:
            calls.append(one(state, state.text in seen))
            seen.add(state.text)
        values = await run.gather(calls)
        return [v if v is not None else 0.0 for v in values]

    async def valuate(
        self, state: _State, template: Any, fields: dict[str, str], run: _Step
    ) -> tuple[float, list[str | None]]:
        node = state.node
        assert node is not None

        async def sample(index: int) -> str | None:
            generation = await self.generate(
                template.request(
                    **fields, request_kwargs=self.kwargs(state, "value", sample_index=index)
                ),
                "evaluate",
            )
            note_call(node, generation)
            return value_label(generation.text)

        labels = await run.gather([sample(i) for i in range(self.evaluations)])
        return value_of(labels), labels

    def answer(self, best: _State) -> tuple[str | None, str]:
        raw = best.text.strip()
        return (extract_answer(raw) if raw else None), raw


class _SampleVoteSearch(_Search):
    form = "sample"

    def __init__(self, strategy: ToT, ctx: RunContext, graph: ThoughtGraph, task: Task) -> None:
        super().__init__(strategy, ctx, graph)
        self.problem = task.render()
        self.think = ctx.use_prompt(tot.THINK)
        self.finish = ctx.use_prompt(tot.FINISH)
        self.vote = ctx.use_prompt(tot.VOTE)
        self.vote_calls: list[str] = []

    def defaults(self) -> tuple[int, int, int]:
        return SAMPLE_DEFAULTS

    async def expand(self, states: list[_State], step: int, run: _Step) -> list[_State]:
        template = self.finish if step == self.steps - 1 else self.think
        role = "finish" if step == self.steps - 1 else "propose"

        async def one(state: _State, index: int) -> Generation:
            return await self.generate(
                template.request(
                    problem=self.problem,
                    so_far=state.text.strip() or "(nothing yet)",
                    request_kwargs={
                        "role": role,
                        "node_id": state.node.id if state.node is not None else "root",
                        "params": self.params,
                        "sample_index": index,
                        "depends_on": self.barrier,
                    },
                ),
                "expand",
            )

        samples = self.strategy.samples or SAMPLES_DEFAULT
        pairs = [(state, i) for state in states for i in range(samples)]
        generations = await run.gather([one(state, i) for state, i in pairs])
        candidates = []
        for (state, _), generation in zip(pairs, generations, strict=True):
            if generation is None:
                continue
            text = generation.text.strip()
            node = self.add_node(state, step, _first_line(text), f"step {step + 1}")
            node.reasoning = text
            note_call(node, generation)
            node.answer_call = node.created_by = generation.call_id
            if step == self.steps - 1:
                node.answer = extract_answer(text)
            candidates.append(_State(state.text + text + "\n\n", node, generation.call_id))
        return candidates

    async def evaluate(self, candidates: list[_State], step: int, run: _Step) -> list[float]:
        if len(candidates) == 1:
            return [0.0]  # nothing to choose between: no vote
        choices = "\n\n".join(
            f"Candidate {i + 1}:\n{state.text.strip()}" for i, state in enumerate(candidates)
        )
        depends = self.expanded

        async def one(index: int) -> int | None:
            generation = await self.generate(
                self.vote.request(
                    problem=self.problem,
                    choices=choices,
                    request_kwargs={
                        "role": "vote",
                        "node_id": f"vote{step}",
                        "params": self.params,
                        "sample_index": index,
                        "depends_on": depends,
                    },
                ),
                "evaluate",
            )
            self.vote_calls.append(generation.call_id)
            return parse_vote(generation.text, len(candidates))

        votes = await run.gather([one(i) for i in range(self.evaluations)])
        counts = [0.0] * len(candidates)
        for vote in votes:
            if vote is not None:
                counts[vote] += 1
        for state, count in zip(candidates, counts, strict=True):
            if state.node is not None:
                state.node.justification = f"{count:g} of {len(votes)} votes"
        return counts

    def answer(self, best: _State) -> tuple[str | None, str]:
        raw = best.text.strip()
        return (extract_answer(raw) if raw else None), raw


def parse_vote(text: str, choices: int) -> int | None:
    """The 0-based candidate a vote names (its last ``best choice: N``), or None."""
    found = _VOTE.findall(text)
    if not found:
        return None
    number = int(found[-1])
    return number - 1 if 1 <= number <= choices else None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(empty)")


__all__ = ["MODES", "ToT", "parse_vote"]
