"""Redaction for an eval run: which text of an item is private, and the write points' hooks.

A dataset spec marked ``private`` (GPQA), or a run with ``redact=True`` (``agot eval
--redact``, for user data), keeps every item's question, option texts, context and any text
the loader declared private (``metadata["private_text"]``, a string or a list) out of
everything the run writes: results rows, traces (graph, prompts, replies, any field), and so
the summary and ``agot show``/``agot view``, which read those. Item ids that would carry the
text are replaced by hashes. The matching rules are :mod:`agot.redact`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from agot.evals.records import EvalRecord
from agot.redact import Redactor, redacting, safe_item_id
from agot.result import Result


def item_secrets(record: EvalRecord) -> list[str]:
    """The texts of ``record`` that must not be written: question, options, context, and
    whatever the loader put under ``metadata["private_text"]``."""
    texts = [record.question, *(record.choices or []), record.context or ""]
    extra: Any = record.metadata.get("private_text")
    if isinstance(extra, str):
        texts.append(extra)
    elif isinstance(extra, list | tuple):
        texts.extend(str(t) for t in extra)
    return [t for t in texts if t]


class RunRedaction:
    """The redactors of one run, one per item; a no-op when the run needs none."""

    def __init__(self, namespace: str, *, enabled: bool) -> None:
        self.namespace, self.enabled = namespace, enabled
        self._redactors: dict[str, Redactor] = {}

    def prepare(self, records: Sequence[EvalRecord]) -> list[EvalRecord]:
        """``records`` with secret-free ids, each item's redactor built."""
        if not self.enabled:
            return list(records)
        out = []
        for record in records:
            secrets = item_secrets(record)
            item_id = safe_item_id(record.id, secrets)
            if item_id != record.id:
                record = record.model_copy(update={"id": item_id})
            self._redactors[item_id] = Redactor(secrets, namespace=self.namespace, item_id=item_id)
            out.append(record)
        return out

    def __call__(self, item_id: str, value: Any) -> Any:
        """``value`` (a JSON-like object) with item ``item_id``'s private text replaced."""
        redactor = self._redactors.get(item_id) if self.enabled else None
        return redactor(value) if redactor is not None else value

    def running(self, item_id: str) -> AbstractContextManager[None]:
        """A block in which text cut short while item ``item_id`` runs (a server's error
        body) is redacted before it is cut (:func:`agot.redact.redact_private`)."""
        return redacting(self._redactors.get(item_id) if self.enabled else None)

    def trace_bytes(self, item_id: str, result: Result) -> bytes:
        """The trace file's content: the Result as JSON, redacted when the run redacts."""
        if not self.enabled:
            return result.model_dump_json().encode("utf-8")
        import json

        data = self(item_id, result.model_dump(mode="json"))
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
