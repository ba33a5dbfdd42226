"""An on-disk, content-addressed response cache.

The key is a SHA-256 over the backend, the model and everything in the request that determines
the reply (messages, schema, sampling params, sample index), so a re-run or ``--resume`` pays
nothing twice. Entries are written atomically (temp file + rename), so a crash never leaves a
torn entry. Only the reply text and token counts are stored: never keys or headers.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from agot.types import BackendReply, GenerationRequest


class ResponseCache:
    """Reply store under ``directory`` (``ab/abcdef….json``)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(backend: str, model: str, request: GenerationRequest) -> str:
        material = f"{backend}\x00{model}\x00{request.fingerprint()}"
        return hashlib.sha256(material.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> BackendReply | None:
        path = self._path(key)
        try:
            return BackendReply.model_validate_json(path.read_bytes())
        except (FileNotFoundError, ValueError):
            return None

    def put(self, key: str, reply: BackendReply) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(reply.model_dump(mode="json"), handle)
        os.replace(tmp, path)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json"))
