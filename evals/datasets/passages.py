"""Context passages: reading the layouts multi-hop sets use, and rendering them for a prompt.

HotpotQA's official JSON stores ``context`` as ``[[title, [sentence, ...]], ...]`` and
``supporting_facts`` as ``[[title, sent_id], ...]``; the Hugging Face conversions store the
same data column-wise (``{"title": [...], "sentences": [[...]]}`` and
``{"title": [...], "sent_id": [...]}``; 2WikiMultihopQA's conversion says ``content`` for
``sentences``). MuSiQue uses a list of ``{"title", "paragraph_text"}`` objects. All of them
become a list of :class:`Passage` here, so the loaders and the prompt agree on one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field


class Passage(BaseModel):
    title: str
    sentences: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(s.strip() for s in self.sentences if s and s.strip())


def parse_context(context: Any) -> list[Passage]:
    """Passages from a list-of-pairs, a column dict, or a list of paragraph objects."""
    if not context:
        return []
    if isinstance(context, dict):
        titles = list(context.get("title") or context.get("titles") or [])
        bodies = context.get("sentences") or context.get("content") or context.get("text") or []
        return [
            Passage(title=str(t), sentences=_sentences(b))
            for t, b in zip(titles, bodies, strict=False)
        ]
    passages = []
    for item in context:
        if isinstance(item, dict):
            title = str(item.get("title", ""))
            body = (
                item.get("paragraph_text")
                or item.get("sentences")
                or item.get("content")
                or item.get("text")
                or ""
            )
            passages.append(Passage(title=title, sentences=_sentences(body)))
        elif isinstance(item, Sequence) and len(item) == 2:
            passages.append(Passage(title=str(item[0]), sentences=_sentences(item[1])))
    return passages


def parse_supporting_facts(facts: Any) -> list[tuple[str, int]]:
    """``[(title, sentence index), ...]`` from the list-of-pairs or the column layout."""
    if not facts:
        return []
    if isinstance(facts, dict):
        titles = facts.get("title") or []
        ids = facts.get("sent_id") or facts.get("sent_ids") or []
        return [(str(t), int(i)) for t, i in zip(titles, ids, strict=False)]
    return [(str(t), int(i)) for t, i in facts]


def render_passages(passages: Sequence[Passage]) -> str:
    """One block per passage: its title on a line, then its text."""
    return "\n\n".join(f"Title: {p.title}\n{p.text}" for p in passages)


def _sentences(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body]
    return [str(s) for s in body or []]
