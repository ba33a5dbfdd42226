"""Reading structured (JSON) replies and asking again when they do not fit the schema."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from agot.errors import SchemaError
from agot.types import Message

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _candidates(text: str) -> list[str]:
    out = [text.strip()]
    out += [m.strip() for m in _FENCE.findall(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        out.append(text[start : end + 1])
    return out


def parse_structured(text: str, schema: type[BaseModel]) -> BaseModel:
    """Parse ``text`` as an instance of ``schema``: bare JSON, fenced JSON, or the outer ``{…}``."""
    problem = "no JSON object found"
    for candidate in _candidates(text):
        try:
            # strict=False admits raw newlines/tabs inside strings, common in model output
            data: Any = json.loads(candidate, strict=False)
        except json.JSONDecodeError as exc:
            problem = f"invalid JSON ({exc.msg} at char {exc.pos})"
            continue
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            problem = f"{where}: {first['msg']}"
    raise SchemaError(f"reply does not match schema {schema.__name__}: {problem}", raw=text)


def reask_messages(
    messages: tuple[Message, ...], bad_reply: str, error: SchemaError, schema: type[BaseModel]
) -> tuple[Message, ...]:
    """The conversation extended with the invalid reply and a request to fix it."""
    fix = (
        f"That reply was not valid: {error}. Reply again with only a JSON object matching this "
        f"JSON schema, no other text:\n{json.dumps(schema.model_json_schema())}"
    )
    return (
        *messages,
        Message(role="assistant", content=bad_reply[:2000]),
        Message(role="user", content=fix),
    )
