"""A proposal read while it is written: thoughts start as soon as their objects are complete.

:class:`LiveLayer` watches the partial JSON of a streaming proposal. Once the strategy is
written (another key follows it) and a thought's object is closed (the next one has begun),
the thought joins the graph and starts its assessment (and, with ``speculate``, its answer)
while the rest of the proposal is still generated. Prompts stay those of the whole-reply run:
a thought's prompts show only what was written before it (see ``graph_text``'s ``upto``), and
each started thought remembers the proposal prefix it was read from (its *key*).

A stream that breaks and is retried starts over from its first token; thoughts already
started are kept while the new attempt writes them again with the same key, and cancelled
(their calls marked discarded, their nodes removed) where it writes something else; the final
parsed reply settles the rest. No thought is lost or run twice, and the proposal's trace event
says what happened.

Until the proposal's call ends its id is unknown, so a started thought depends on a token
standing for it; :meth:`LiveLayer.finish` records the call id and the time the thought was
readable, and :func:`resolve` puts both into the trace (``inputs_at``), so the critical path
counts from the moment a thought was available, not from the end of the whole proposal.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from agot.controller.schemas import ProposedThought
from agot.events import ThoughtProposed, emit
from agot.graph import ThoughtGraph, ThoughtNode
from agot.trace import TraceEvent

_serial = itertools.count(1)
#: A thought's key: the strategy and every thought written up to and including it.
Key = tuple[str, tuple[str, ...]]


@dataclass
class Settled:
    """What a (partial) proposal has finished writing."""

    strategy: str | None = None
    ready: bool = False
    thoughts: list[ProposedThought] = field(default_factory=list)


def settled(data: Any, *, done: bool) -> Settled:
    """The parts of a partial proposal (a dict from the partial JSON parser) that are complete:
    a value is complete when a later key has begun, or when the reply is ``done``."""
    if not isinstance(data, dict):
        return Settled()
    keys = list(data)

    def complete(key: str) -> bool:
        return key in data and (done or keys[-1] != key)

    out = Settled()
    if complete("strategy") and isinstance(data["strategy"], str):
        out.strategy = data["strategy"]
    out.ready = complete("ready") and data["ready"] is True
    raw = data.get("thoughts")
    if isinstance(raw, list):
        closed = raw if complete("thoughts") else raw[:-1]
        for item in closed:
            try:
                out.thoughts.append(ProposedThought.model_validate(item))
            except ValueError:
                break
    return out


@dataclass
class Started:
    key: Key
    node: ThoughtNode
    task: asyncio.Task[None]
    token: str


@dataclass
class Tokens:
    """Stand-ins for proposal calls still running: token -> (call id, readable at, kept)."""

    found: dict[str, tuple[str | None, float, bool]] = field(default_factory=dict)
    #: The tokens of each graph layer's proposals (``~<graph prefix>layer<n>``), so a finished
    #: proposal renames its own without scanning every token of the run.
    by_layer: dict[str, list[str]] = field(default_factory=dict)


class LiveLayer:
    """The thoughts of one streaming proposal, started as they are written."""

    def __init__(
        self,
        graph: ThoughtGraph,
        layer: int,
        *,
        wanted: Callable[[list[ProposedThought]], list[tuple[int, str, str, list[str]]]],
        count: Callable[[int], None],
        run: Callable[[ThoughtNode], Coroutine[Any, Any, None]],
        tokens: Tokens,
    ) -> None:
        self.graph, self.layer = graph, layer
        self._wanted, self._count, self._run = wanted, count, run
        self.tokens = tokens
        self.started: list[Started] = []
        self.restarts = 0
        self.kept_over_restart = 0
        self.dropped = 0
        self._marks: set[str] = set()
        #: (strategy, ready, thoughts settled) at the last update: a piece that settles
        #: nothing new needs no work.
        self._seen: tuple[str | None, bool, int] | None = None

    def restarted(self) -> None:
        """The stream starts over (a retry): what follows must write the started ones again."""
        self.restarts += 1
        self._marks = {s.token for s in self.started}
        self._seen = None

    async def update(self, part: Settled, *, done: bool) -> None:
        """Start the thoughts ``part`` completes; cancel started ones it contradicts."""
        seen = (part.strategy, part.ready, len(part.thoughts))
        if not done and seen == self._seen:
            return
        self._seen = seen
        if part.strategy is None:
            if done:
                await self._drop(0)
            return
        self.graph.strategies[self.layer] = part.strategy
        if part.ready:
            await self._drop(0)
            return
        keys: list[tuple[Key, tuple[int, str, str, list[str]]]] = []
        written = [t.model_dump_json() for t in part.thoughts]
        for spec in self._wanted(part.thoughts):
            keys.append(((part.strategy, tuple(written[: spec[0] + 1])), spec))
        same = 0
        while same < min(len(keys), len(self.started)) and keys[same][0] == self.started[same].key:
            same += 1
        for s in self.started[:same]:
            if s.token in self._marks:  # written again the same after a restart
                self._marks.discard(s.token)
                self.kept_over_restart += 1
        if same < len(self.started) and (done or same < len(keys)):
            await self._drop(same)
        for key, (_, title, question, parents) in keys[len(self.started) :]:
            self._start(key, title, question, parents)

    def _start(self, key: Key, title: str, question: str, parents: list[str]) -> None:
        layer_key = f"~{self.graph.prefix}layer{self.layer}"
        token = f"{layer_key}#{next(_serial)}"
        self.tokens.by_layer.setdefault(layer_key, []).append(token)
        node = self.graph.add_node(
            layer=self.layer, title=title, question=question, parents=parents, created_by=token
        )
        self._count(1)
        self.tokens.found[token] = (None, time.time(), True)
        emit(ThoughtProposed(node.id, self.layer, node.title, node.question, tuple(parents)))
        self.started.append(Started(key, node, asyncio.ensure_future(self._run(node)), token))

    async def _drop(self, keep: int) -> None:
        gone, self.started = self.started[keep:], self.started[:keep]
        for s in gone:
            s.task.cancel()
        await asyncio.gather(*(s.task for s in gone), return_exceptions=True)
        for s in reversed(gone):
            self.graph.dag.remove_node(s.node.id)
            self.graph.subgraphs.pop(s.node.id, None)
            _, at, _ = self.tokens.found[s.token]
            self.tokens.found[s.token] = (None, at, False)
        self._count(-len(gone))
        self.dropped += len(gone)

    def finish(self, call_id: str, events: list[TraceEvent]) -> list[ThoughtNode]:
        """The proposal's call ended as ``call_id``: its thoughts now name it; returns them."""
        found = self.tokens.found
        for token in self.tokens.by_layer.get(f"~{self.graph.prefix}layer{self.layer}", ()):
            _, at, kept = found[token]
            found[token] = (call_id, at, kept)
        for s in self.started:
            s.node.created_by = call_id
            s.node.call_ids.insert(0, call_id)
        if self.restarts:
            note = (
                f"stream restarted {self.restarts}x while thoughts were read from it: "
                f"{self.kept_over_restart} started thoughts kept (written the same again), "
                f"{self.dropped} cancelled"
            )
            for event in events:
                if event.call_id == call_id:
                    event.warnings.append(note)
        return [s.node for s in self.started]


def resolve(events: list[TraceEvent], tokens: Tokens) -> None:
    """Replace proposal tokens in the events' ``depends_on`` by the call ids, note when each
    input was readable (``inputs_at``), and mark calls of cancelled thoughts discarded."""
    for event in events:
        deps: list[str] = []
        for dep in event.depends_on:
            if dep not in tokens.found:
                deps.append(dep)
                continue
            call_id, at, kept = tokens.found[dep]
            if not kept:
                event.discarded = True
            if call_id is not None:
                deps.append(call_id)
                event.inputs_at[call_id] = min(at, event.inputs_at.get(call_id, at))
        event.depends_on = list(dict.fromkeys(deps))
