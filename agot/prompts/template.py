"""A named, versioned prompt: system text plus a ``str.format`` user template.

Changing a prompt's wording means bumping its version, so results and caches made with the old
wording stay distinguishable (the version is part of every trace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agot.types import GenerationRequest


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    system: str
    user: str

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def request(
        self, *, request_kwargs: dict[str, Any] | None = None, **fields: Any
    ) -> GenerationRequest:
        """A request with this template's system prompt and the user template filled in.

        A template that opens with ``{task}`` (AGoT's, whose task block is the same in every
        step of a run) says so in ``cache_prefix``, for providers that mark cached prefixes."""
        kwargs = dict(request_kwargs or {})
        if self.user.startswith("{task}") and isinstance(fields.get("task"), str):
            kwargs.setdefault("cache_prefix", len(fields["task"]))
        return GenerationRequest.chat(self.user.format(**fields), system=self.system, **kwargs)
