"""AGoT on streamed replies: thoughts start while their proposal is written, prompts and
decisions stay those of the whole-reply run, retried streams are reconciled, and
``strategy.stream()`` gives typed events. All on the scripted backend with token timing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import agot
from agot.backends import LatencyModel, ScriptedBackend
from agot.critical_path import critical_path, longest_chain
from agot.dispatcher import Dispatcher
from agot.errors import TransientBackendError
from agot.events import (
    Done,
    FinalTextDelta,
    NestedGraphOpened,
    ThoughtAnswered,
    ThoughtAssessed,
    ThoughtProposed,
)
from agot.testing.agot_scripts import agot_script
from agot.types import BackendReply, GenerationRequest

QUESTION = "Why is the sky blue?"
#: Slow enough per token that a proposal of three thoughts is still written while the first
#: thought's assessment runs.
TIMING = LatencyModel(fixed_s=0.01, per_token_s=0.004)


def script() -> Any:
    return agot_script(fanout=3, complex_if=lambda n: n == "2", answer_at_layer=1)


def sent(backend: ScriptedBackend) -> Counter[tuple[str | None, str | None, str]]:
    """Every request sent, as (role, node, prompt text): a multiset, since concurrent calls
    arrive in whichever order the timing gives."""
    return Counter(
        (c.request.role, c.request.node_id, "\n".join(m.content for m in c.request.messages))
        for c in backend.calls
    )


async def solve(strategy: agot.AGoT, backend: ScriptedBackend, *, stream: bool) -> agot.Result:
    async with Dispatcher(backend, stream=stream) as d:
        return await strategy.solve(QUESTION, dispatcher=d)


async def test_streamed_run_sends_the_same_prompts_and_makes_the_same_graph() -> None:
    for speculate in (False, True):
        strategy = agot.AGoT(max_depth=1, max_layers=3, max_nodes=3, speculate=speculate)
        whole, live = (
            ScriptedBackend(script(), latency=TIMING),
            ScriptedBackend(script(), latency=TIMING),
        )
        plain = await solve(strategy, whole, stream=False)
        streamed = await solve(strategy, live, stream=True)
        assert sent(live) == sent(whole)
        assert streamed.answer == plain.answer == "final of final"
        assert streamed.graph == plain.graph or _shape(streamed) == _shape(plain)
        assert longest_chain(streamed.events) == longest_chain(plain.events)


def _shape(result: agot.Result) -> list[tuple[str, str | None, bool | None]]:
    graph = result.thought_graph()
    return sorted((n.id, n.answer, n.complex) for n in graph.nodes())


async def test_a_thought_starts_before_its_proposal_ends_and_the_trace_says_when() -> None:
    backend = ScriptedBackend(script(), latency=TIMING)
    result = await solve(agot.AGoT(max_layers=2), backend, stream=True)
    proposal = next(e for e in result.events if e.node_id == "layer0")
    first = next(e for e in result.events if e.role == "assess" and e.node_id == "1")
    assert first.start < proposal.end  # started while the proposal was still written
    assert first.depends_on[0] == proposal.call_id  # the token was resolved to the call
    readable = first.inputs_at[proposal.call_id]
    assert proposal.start < readable <= first.start
    # The critical path counts the assessment from when its thought was readable.
    length, path = critical_path(result.events)
    assert length <= result.details["figures"]["wall_s"] + 1e-6
    assert path[0] == proposal.call_id
    node = result.thought_graph().node("1")
    assert node.created_by == proposal.call_id and node.call_ids[0] == proposal.call_id


class Breaking(ScriptedBackend):
    """The first attempt at the top graph's first proposal breaks after ``cut`` words; the
    retry writes ``retry`` (default: the same reply again)."""

    def __init__(self, cut: int, retry: Any = None) -> None:
        base = script()

        def reply(request: GenerationRequest) -> object:
            if request.node_id == "layer0" and self.broke and retry is not None:
                return retry
            return base(request)

        super().__init__(reply, latency=TIMING)
        self.cut, self.broke = cut, False

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str | BackendReply]:
        first = request.node_id == "layer0" and not self.broke
        count = 0
        async for piece in super().stream(request):
            if first and isinstance(piece, str):
                count += 1
                if count > self.cut:
                    self.broke = True
                    raise TransientBackendError("connection reset mid-stream", status=502)
            yield piece


async def test_a_broken_stream_retried_keeps_the_thoughts_it_started() -> None:
    backend = Breaking(cut=28)  # two thoughts complete, the third being written
    result = await solve(agot.AGoT(max_layers=2), backend, stream=True)
    assert backend.broke
    assessed = Counter(e.node_id for e in result.events if e.role == "assess")
    assert all(n == 1 for n in assessed.values()) and set(assessed) >= {"1", "2", "3"}
    assert not any(e.discarded for e in result.events)
    proposal = next(e for e in result.events if e.node_id == "layer0")
    assert proposal.attempts == 2
    assert any("2 started thoughts kept" in w for w in proposal.warnings), proposal.warnings
    plain = ScriptedBackend(script(), latency=TIMING)
    await solve(agot.AGoT(max_layers=2), plain, stream=False)
    # The same prompts as a whole-reply run, the retried proposal sent twice.
    retried = next(k for k in sent(plain) if k[1] == "layer0")
    assert sent(backend) == sent(plain) + Counter({retried: 1})


async def test_a_retry_that_writes_other_thoughts_cancels_the_started_ones() -> None:
    other = {
        "strategy": "layer 0 plan",
        "thoughts": [
            {"title": "step step step 0.0", "content": "subproblem 0.0", "parents": []},
            {"title": "another idea", "content": "a different subproblem", "parents": []},
        ],
    }
    backend = Breaking(cut=28, retry=json.dumps(other))
    result = await solve(agot.AGoT(max_depth=0, max_layers=1), backend, stream=True)
    graph = result.thought_graph()
    assert [n.title for n in graph.layer(0)] == ["step step step 0.0", "another idea"]
    proposal = next(e for e in result.events if e.node_id == "layer0")
    assert any("1 started thoughts kept" in w and "1 cancelled" in w for w in proposal.warnings)
    used = [e for e in result.events if e.role == "solve" and not e.discarded]
    assert Counter(e.node_id for e in used) == {"1": 1, "2": 1}
    answer_2 = next(e for e in used if e.node_id == "2")
    assert "a different subproblem" in (answer_2.messages or [])[-1].content


async def test_agot_stream_gives_typed_events_and_the_result() -> None:
    backend = ScriptedBackend(script(), latency=TIMING)
    strategy = agot.AGoT(max_layers=2)
    events = [e async for e in strategy.stream(QUESTION, model=backend)]
    kinds = {type(e) for e in events}
    assert kinds == {
        ThoughtProposed,
        ThoughtAssessed,
        ThoughtAnswered,
        NestedGraphOpened,
        FinalTextDelta,
        Done,
    }
    done = events[-1]
    assert isinstance(done, Done) and done.result.answer == "final of final"
    text = "".join(e.text for e in events if isinstance(e, FinalTextDelta))
    assert text == "final of final"
    assert len([e for e in events if isinstance(e, FinalTextDelta)]) > 1  # as it was written
    opened = [e for e in events if isinstance(e, NestedGraphOpened)]
    assert [e.node_id for e in opened] == ["2"]
    proposed = [e.node_id for e in events if isinstance(e, ThoughtProposed)]
    assert len(proposed) == len(set(proposed)) == done.result.details["figures"]["thoughts"]
    assessed = {e.node_id for e in events if isinstance(e, ThoughtAssessed)}
    answered = {e.node_id for e in events if isinstance(e, ThoughtAnswered)}
    assert assessed <= set(proposed) and answered == set(proposed)


async def test_every_strategy_streams_its_final_text_and_result() -> None:
    for strategy in (agot.Direct(), agot.CoT(), agot.SelfConsistency(n=2)):
        backend = ScriptedBackend()
        events = [e async for e in strategy.stream(QUESTION, model=backend)]
        done = events[-1]
        assert isinstance(done, Done) and done.result.answer
        text = "".join(e.text for e in events if isinstance(e, FinalTextDelta))
        assert text.strip() and done.result.answer in text


def test_critical_path_counts_an_input_from_when_it_was_readable() -> None:
    from agot.testing.trace_events import trace_event

    proposal = trace_event("p", 0.0, 4.0)
    # Read at 1.0 from the proposal still being written; started and ended before it ended.
    early = trace_event("a", 1.0, 3.5, "p", inputs_at={"p": 1.0})
    late = trace_event("b", 4.0, 5.0, "p")
    final = trace_event("f", 5.0, 6.0, "p", "a", "b")
    events = [early, proposal, late, final]  # as recorded: the early call ended first
    length, path = critical_path(events)
    assert path == ["p", "b", "f"] and abs(length - 6.0) < 1e-9
    assert longest_chain(events) == 3
    # Counted from the proposal's end instead, the early call would lie on a 7.5 s path.
    blind = early.model_copy(update={"inputs_at": {}})
    assert critical_path([blind, proposal, late, final]) == (7.5, ["p", "a", "f"])
