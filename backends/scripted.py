"""A deterministic backend for tests, docs and benchmarks.

Replies come from a user function or from a table keyed by request role and prompt content, and
an optional latency model (fixed + per-token delay) makes timing behave like a real server. It
records every call's start and end so tests can check concurrency from the outside.

Table keys, most specific first:

* ``"<role>:<text>"`` — the request's role is ``<role>`` and ``<text>`` occurs in its prompt;
* ``"<role>"`` — any request with that role;
* ``"*"`` — anything else.

A value is a reply (``str``; a ``dict`` or pydantic model, sent as JSON; a
:class:`~agot.types.BackendReply`, returned as is so a script can set token counts and cost; an
``Exception``, raised), a callable ``request -> reply`` (sync or async), or a list of those
consumed one per call (the last one repeats). With no script, requests with an output schema
get a minimal valid instance and plain requests get ``"Answer: scripted"``.

A :class:`FaultModel` makes the backend misbehave like a real server, reproducibly (seeded):
a fraction of calls raise a transient error (as a 429/500 would), hang, or return text that is
not JSON, before the script is consulted.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import re
import time
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel

from agot.backends.base import Capabilities
from agot.errors import ConfigError, TransientBackendError
from agot.types import BackendReply, GenerationRequest

Reply = str | dict[str, Any] | BaseModel | BackendReply | BaseException
ScriptFn = Callable[[GenerationRequest], Reply | Awaitable[Reply]]

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Rough token count (words and punctuation), used for scripted usage and latency."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class LatencyModel:
    """Simulated latency: ``fixed_s + per_token_s * completion_tokens``."""

    fixed_s: float = 0.0
    per_token_s: float = 0.0

    def delay(self, completion_tokens: int) -> float:
        return self.fixed_s + self.per_token_s * completion_tokens


@dataclass
class FaultModel:
    """Seeded faults: each call independently fails with these probabilities.

    ``transient``: raises :class:`~agot.errors.TransientBackendError` (status 500, as a 429 or
    5xx would); ``hang``: sleeps ``hang_s`` before replying (a stuck call, for timeouts);
    ``malformed``: replies with truncated JSON (a schema-checked call re-asks).
    """

    transient: float = 0.0
    hang: float = 0.0
    malformed: float = 0.0
    hang_s: float = 3600.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("transient", "hang", "malformed"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"fault rate {name} must be within [0, 1], got {value}")
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        """The fault for the next call (``transient``, ``hang``, ``malformed``) or None."""
        x = self._rng.random()
        for name in ("transient", "hang", "malformed"):
            rate = getattr(self, name)
            if x < rate:
                return name
            x -= rate
        return None


@dataclass
class CallRecord:
    request: GenerationRequest
    start: float
    end: float = 0.0


@dataclass
class _Cursor:
    values: list[Any]
    index: int = 0

    def next(self) -> Any:
        value = self.values[min(self.index, len(self.values) - 1)]
        self.index += 1
        return value


def example_for_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """A minimal instance of ``schema`` as JSON data (first literal, empty strings, zeros).

    Keys are the names the schema *accepts*: a field's validation alias (or alias) where it
    has one, since a model without ``populate_by_name`` rejects the Python name (the
    Kairanban distribution's fields ``p0, p1, ...`` are spelled as their labels in JSON). The
    values stay generic, so a schema with cross-field rules (a distribution that must sum
    to 1) gets well-formed but possibly invalid data: script such replies with a table.
    """
    out = {}
    for name, field_info in schema.model_fields.items():
        alias = field_info.validation_alias
        key = alias if isinstance(alias, str) else field_info.alias or name
        value = _example(field_info.annotation)
        min_len = next((m.min_length for m in field_info.metadata if hasattr(m, "min_length")), 0)
        if isinstance(value, list) and min_len:
            (item,) = typing.get_args(field_info.annotation) or (str,)
            value = [_example(item)] * min_len
        out[key] = value
    return out


def _example(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return args[0]
    if origin in (Union, types.UnionType):
        return _example(next(a for a in args if a is not type(None)))
    if origin in (list, tuple, set, frozenset):
        return []
    if origin is dict:
        return {}
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return example_for_schema(annotation)
    return {str: "scripted", int: 0, float: 0.0, bool: False}.get(annotation, None)


def _default_reply(request: GenerationRequest) -> Reply:
    if request.output_schema is not None:
        return example_for_schema(request.output_schema)
    return "Answer: scripted"


class ScriptedBackend:
    """Deterministic replies with an optional latency model; see the module docstring."""

    name = "scripted"

    def __init__(
        self,
        script: ScriptFn | Mapping[str, Any] | None = None,
        *,
        latency: LatencyModel | None = None,
        model: str = "scripted",
        capabilities: Capabilities | None = None,
        faults: FaultModel | None = None,
    ) -> None:
        self.model = model
        self.latency = latency or LatencyModel()
        self.faults = faults
        self.capabilities = capabilities or Capabilities(
            native_schema=False, max_context=None, default_concurrency=64
        )
        self._fn: ScriptFn | None = script if callable(script) else None
        self._table: dict[str, _Cursor] = {}
        if script is not None and not callable(script):
            for key, value in script.items():
                values = list(value) if isinstance(value, list) else [value]
                if not values:
                    raise ConfigError(f"scripted reply list for key {key!r} is empty")
                self._table[key] = _Cursor(values)
        self.calls: list[CallRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0

    @classmethod
    def from_spec(cls, spec: str, *, options: Any = None) -> ScriptedBackend:
        """``scripted`` (defaults) or ``scripted/<table.json>`` (a JSON table as above).

        The file is either the table itself or ``{"replies": {...table...}, "latency":
        {"fixed_s": 0.5, "per_token_s": 0.0}, "faults": {"transient": 0.1, "seed": 0}}``, so
        command-line runs (benchmarks, the eval resume and fault-storm tests) can simulate a
        slow or failing server.
        """
        if not spec:
            return cls()
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"scripted table {spec!r} not found: pass scripted/<file.json>")
        try:
            table = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"scripted table {spec!r} is not valid JSON: {exc}") from None
        if not isinstance(table, dict):
            raise ConfigError(f"scripted table {spec!r} must be a JSON object of key -> reply")
        latency = faults = None
        if set(table) <= {"replies", "latency", "faults"} and isinstance(
            table.get("replies"), dict
        ):
            spec_faults = table.get("faults") or {}
            try:
                faults = FaultModel(**spec_faults) if spec_faults else None
            except TypeError:
                raise ConfigError(
                    f"scripted table {spec!r}: faults takes transient, hang, malformed "
                    "(rates), hang_s and seed"
                ) from None
            timing = table.get("latency") or {}
            if not isinstance(timing, dict) or not set(timing) <= {"fixed_s", "per_token_s"}:
                raise ConfigError(
                    f"scripted table {spec!r}: latency must be an object with fixed_s and/or "
                    "per_token_s (seconds)"
                )
            try:
                latency = LatencyModel(**{k: float(v) for k, v in timing.items()})
            except (TypeError, ValueError):
                raise ConfigError(
                    f"scripted table {spec!r}: latency values must be numbers"
                ) from None
            table = table["replies"]
        return cls(table, latency=latency, model=f"scripted/{path.name}", faults=faults)

    def _lookup(self, request: GenerationRequest) -> Any:
        if self._fn is not None:
            return self._fn(request)
        prompt = "\n".join(m.content for m in request.messages)
        for key, cursor in self._table.items():
            role, sep, text = key.partition(":")
            if sep and role == request.role and text in prompt:
                return cursor.next()
        for key in (request.role, "*"):
            if key in self._table:
                return self._table[key].next()
        return _default_reply(request)

    async def generate(self, request: GenerationRequest) -> BackendReply:
        record = self._enter(request)
        try:
            reply = await self._produce(request)
            delay = self.latency.delay(reply.completion_tokens)
            if delay > 0:
                await asyncio.sleep(delay)
            return reply
        finally:
            self._leave(record)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str | BackendReply]:
        """The reply token by token at the latency model's pace: the first token after
        ``fixed_s`` (a hang fault before it), one more every ``per_token_s``, then the whole
        reply. Without a per-token delay the text comes as one piece (nothing to simulate).
        A subclass that overrides :meth:`generate` is streamed through it, as one piece."""
        if type(self).generate is not ScriptedBackend.generate:
            reply = await self.generate(request)
            if reply.text:
                yield reply.text
            yield reply
            return
        record = self._enter(request)
        try:
            started = time.perf_counter()
            reply = await self._produce(request)
            fixed = self.latency.fixed_s
            writing = self.latency.delay(reply.completion_tokens) - fixed
            pieces = _pieces(reply.text) if self.latency.per_token_s > 0 else [reply.text]
            await _sleep_until(started + fixed)
            for index, piece in enumerate(pieces):
                # An absolute schedule: the whole reply takes what generate() would.
                await _sleep_until(started + fixed + writing * (index + 1) / len(pieces))
                if piece:
                    yield piece
            yield reply
        finally:
            self._leave(record)

    def _enter(self, request: GenerationRequest) -> CallRecord:
        record = CallRecord(request=request, start=time.perf_counter())
        self.calls.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return record

    def _leave(self, record: CallRecord) -> None:
        self.in_flight -= 1
        record.end = time.perf_counter()

    async def _produce(self, request: GenerationRequest) -> BackendReply:
        """The reply, after any fault, without the latency model's delay."""
        fault = self.faults.draw() if self.faults is not None else None
        if fault == "transient":
            raise TransientBackendError("scripted fault: server error", status=500)
        if fault == "hang":
            await asyncio.sleep(self.faults.hang_s if self.faults else 0.0)
        if fault == "malformed":
            return BackendReply(text='{"answer": "trunc', prompt_tokens=1, completion_tokens=1)
        reply = self._lookup(request)
        if callable(reply) and not isinstance(reply, type):
            reply = reply(request)
        if inspect.isawaitable(reply):
            reply = await reply
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, BackendReply):
            # Sent as is: lets a script set usage, cost or finish_reason exactly.
            return reply
        if isinstance(reply, BaseModel):
            text = reply.model_dump_json()
        elif isinstance(reply, dict | list):
            text = json.dumps(reply)
        else:
            text = str(reply)
        completion = count_tokens(text)
        prompt_tokens = sum(count_tokens(m.content) for m in request.messages)
        return BackendReply(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion,
            cost=0.0,
            finish_reason="stop",
        )

    async def aclose(self) -> None:
        return None


_PIECE = re.compile(r"\s*\S+|\s+$")


def _pieces(text: str) -> list[str]:
    """``text`` in word-sized pieces (leading whitespace kept) that join back to it."""
    return _PIECE.findall(text)


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
