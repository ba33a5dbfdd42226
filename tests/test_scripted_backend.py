"""The scripted backend: table lookup order, reply kinds, usage counts, latency, specs."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

import pytest
from pydantic import BaseModel

from agot.backends import Backend, resolve_backend
from agot.backends.scripted import (
    LatencyModel,
    ScriptedBackend,
    count_tokens,
    example_for_schema,
)
from agot.errors import BackendError, ConfigError, TransientBackendError
from agot.structured import parse_structured
from agot.types import BackendReply, GenerationRequest


def req(text: str = "hello", **kwargs: object) -> GenerationRequest:
    return GenerationRequest.chat(text, **kwargs)  # type: ignore[arg-type]


class Inner(BaseModel):
    name: str
    score: float


class Verdict(BaseModel):
    label: Literal["yes", "no"]
    count: int
    note: str | None
    tags: list[str]
    flag: bool
    inner: Inner


def test_is_a_backend() -> None:
    backend = ScriptedBackend()
    assert isinstance(backend, Backend)
    assert backend.name == "scripted"
    assert resolve_backend("scripted").name == "scripted"


async def test_default_replies() -> None:
    backend = ScriptedBackend()
    plain = await backend.generate(req())
    assert plain.text == "Answer: scripted"
    structured = await backend.generate(req(output_schema=Verdict))
    parsed = parse_structured(structured.text, Verdict)
    assert isinstance(parsed, Verdict)
    assert parsed.label == "yes"
    assert parsed.inner == Inner(name="scripted", score=0.0)


def test_example_for_schema_fills_every_field() -> None:
    example = example_for_schema(Verdict)
    assert example == {
        "label": "yes",
        "count": 0,
        "note": "scripted",
        "tags": [],
        "flag": False,
        "inner": {"name": "scripted", "score": 0.0},
    }
    assert Verdict.model_validate(example)


def test_example_for_schema_uses_field_aliases() -> None:
    """A schema whose JSON keys are aliases (the Kairanban distribution: fields p0.. spelled
    as their labels) gets those keys, so the default reply is parseable up to value rules."""
    from agot.errors import SchemaError
    from agot.kairanban.schemas import document_model

    schema = document_model(["bad", "so so", "good"])
    example = example_for_schema(schema)
    assert example == {
        "analysis": "scripted",
        "reasoning": "scripted",
        "distribution": {"bad": 0.0, "so so": 0.0, "good": 0.0},
    }
    # Keys and types are right; only the all-zero distribution breaks the sum rule.
    with pytest.raises(SchemaError, match="every probability is 0"):
        parse_structured(json.dumps(example), schema)
    valid = {**example, "distribution": {"bad": 0.2, "so so": 0.3, "good": 0.5}}
    assert parse_structured(json.dumps(valid), schema).distribution.as_dict()["good"] == 0.5


async def test_table_lookup_order() -> None:
    backend = ScriptedBackend(
        {
            "solve:capital": "Answer: Paris",
            "solve": "Answer: generic solve",
            "*": "Answer: anything",
        }
    )
    assert (await backend.generate(req("the capital of France", role="solve"))).text == (
        "Answer: Paris"
    )
    assert (await backend.generate(req("2+2", role="solve"))).text == "Answer: generic solve"
    assert (await backend.generate(req("the capital", role="vote"))).text == "Answer: anything"


async def test_role_text_key_matches_system_prompt_too() -> None:
    backend = ScriptedBackend({"solve:EXPERT": "Answer: from system"})
    reply = await backend.generate(req("q", system="You are an EXPERT.", role="solve"))
    assert reply.text == "Answer: from system"


async def test_unmatched_table_falls_back_to_default() -> None:
    backend = ScriptedBackend({"vote": "Answer: v"})
    assert (await backend.generate(req(role="solve"))).text == "Answer: scripted"


async def test_lists_are_consumed_and_last_repeats() -> None:
    backend = ScriptedBackend({"*": ["one", "two"]})
    texts = [(await backend.generate(req())).text for _ in range(4)]
    assert texts == ["one", "two", "two", "two"]


async def test_reply_kinds() -> None:
    model = Inner(name="n", score=1.5)

    async def later(request: GenerationRequest) -> str:
        await asyncio.sleep(0)
        return f"async {request.role}"

    backend = ScriptedBackend(
        {
            "a": {"x": 1},
            "b": model,
            "c": lambda request: f"echo {request.messages[-1].content}",
            "d": later,
            "e": BackendReply(text="exact", prompt_tokens=11, completion_tokens=7, cost=0.25),
        }
    )
    assert json.loads((await backend.generate(req(role="a"))).text) == {"x": 1}
    assert Inner.model_validate_json((await backend.generate(req(role="b"))).text) == model
    assert (await backend.generate(req("ping", role="c"))).text == "echo ping"
    assert (await backend.generate(req(role="d"))).text == "async d"
    exact = await backend.generate(req(role="e"))
    assert (exact.text, exact.prompt_tokens, exact.completion_tokens, exact.cost) == (
        "exact",
        11,
        7,
        0.25,
    )


async def test_function_script_sees_the_request() -> None:
    seen: list[int | None] = []

    def script(request: GenerationRequest) -> str:
        seen.append(request.sample_index)
        return f"Answer: {request.sample_index}"

    backend = ScriptedBackend(script)
    replies = [await backend.generate(req(sample_index=i)) for i in range(3)]
    assert [r.text for r in replies] == ["Answer: 0", "Answer: 1", "Answer: 2"]
    assert seen == [0, 1, 2]


async def test_exceptions_are_raised_and_in_flight_recovers() -> None:
    backend = ScriptedBackend(
        {
            "*": [
                TransientBackendError("busy", status=429, retry_after=1.0),
                BackendError("bad request", status=400),
                "ok",
            ]
        }
    )
    with pytest.raises(TransientBackendError) as transient:
        await backend.generate(req())
    assert transient.value.retry_after == 1.0
    with pytest.raises(BackendError, match="bad request"):
        await backend.generate(req())
    assert (await backend.generate(req())).text == "ok"
    assert backend.in_flight == 0
    assert len(backend.calls) == 3
    assert all(c.end >= c.start for c in backend.calls)


async def test_usage_counts() -> None:
    backend = ScriptedBackend({"*": "Answer: forty two."})
    reply = await backend.generate(req("How many, exactly?", system="Be brief."))
    assert reply.completion_tokens == count_tokens("Answer: forty two.") == 5
    assert reply.prompt_tokens == count_tokens("Be brief.") + count_tokens("How many, exactly?")
    assert reply.prompt_tokens == 3 + 5  # "Be brief." + "How many, exactly?"
    assert reply.finish_reason == "stop"


def test_latency_model_arithmetic() -> None:
    assert LatencyModel().delay(100) == 0.0
    assert LatencyModel(fixed_s=0.5, per_token_s=0.01).delay(10) == pytest.approx(0.6)


async def test_latency_model_delays_and_overlaps() -> None:
    backend = ScriptedBackend(latency=LatencyModel(fixed_s=0.05))
    await asyncio.gather(*(backend.generate(req()) for _ in range(5)))
    # Every call lasted at least the fixed delay, and they were all in flight together.
    assert all(c.end - c.start >= 0.05 for c in backend.calls)
    assert backend.max_in_flight == 5
    assert backend.in_flight == 0


def test_empty_reply_list_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'solve'"):
        ScriptedBackend({"solve": []})


async def test_from_spec_json_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"solve:capital": "Answer: Paris", "*": ["a", "b"]}))
    backend = resolve_backend(f"scripted/{table}")
    assert isinstance(backend, ScriptedBackend)
    assert backend.model == "scripted/table.json"
    assert (await backend.generate(req("capital?", role="solve"))).text == "Answer: Paris"
    assert (await backend.generate(req("x"))).text == "a"
    assert (await backend.generate(req("x"))).text == "b"


def test_from_spec_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match=r"nope\.json") as err:
        resolve_backend(f"scripted/{missing}")
    assert "not found" in str(err.value)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        resolve_backend(f"scripted/{bad}")
    wrong = tmp_path / "list.json"
    wrong.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        resolve_backend(f"scripted/{wrong}")


async def test_from_spec_with_latency(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "slow.json"
    spec.write_text(json.dumps({"replies": {"*": "Answer: slow"}, "latency": {"fixed_s": 0.05}}))
    backend = resolve_backend(f"scripted/{spec}")
    assert isinstance(backend, ScriptedBackend)
    assert backend.latency == LatencyModel(fixed_s=0.05)
    assert (await backend.generate(req())).text == "Answer: slow"
    assert backend.calls[0].end - backend.calls[0].start >= 0.05


@pytest.mark.parametrize(
    "latency", [{"fixed": 1}, {"fixed_s": "soon"}, ["fixed_s"]], ids=["key", "value", "type"]
)
def test_from_spec_bad_latency(tmp_path, latency: object) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "bad-latency.json"
    spec.write_text(json.dumps({"replies": {"*": "x"}, "latency": latency}))
    with pytest.raises(ConfigError, match="latency"):
        resolve_backend(f"scripted/{spec}")
