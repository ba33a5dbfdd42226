"""An on-disk, content-addressed response cache.

The key is a SHA-256 over the backend, the model and everything in the request that determines
the reply (messages, schema, sampling params, sample index), so a re-run or ``--resume`` pays
nothing twice. Entries are written atomically (temp file + rename), so a crash never leaves a
torn entry. Only the reply text and token counts are stored: never keys or headers.

Replies are stored sealed, never in clear: each is XORed with a SHA-256 counter-mode keystream
whose secret is a second hash of the same request material. Whoever can rebuild the request
(a re-run) can read its reply; a cache folder shared on its own reveals no prompt and no reply,
which matters when the prompts hold text that must not appear in plain text (GPQA questions,
private documents, echoed in a reply).

A cache is an optimisation, so once it is open nothing in it can fail a run: an unreadable or
corrupt entry is a miss, and an entry that cannot be written (a full disk, a directory where
the file should be) is skipped. What can be checked up front is: a ``directory`` that is a
file, or cannot be created, is a :class:`~agot.errors.ConfigError` before any call is made.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path

from agot.errors import ConfigError
from agot.types import BackendReply, GenerationRequest


class ResponseCache:
    """Reply store under ``directory`` (``ab/abcdef….json``)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        if self.directory.exists() and not self.directory.is_dir():
            raise ConfigError(f"cache {str(directory)!r} is a file, not a directory")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create cache directory {str(directory)!r}: {exc.strerror or exc}"
            ) from None
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise ConfigError(f"cache directory {str(directory)!r} is not writable")
        #: Entries that could not be written (counted, never raised).
        self.write_errors = 0

    @staticmethod
    def key(backend: str, model: str, request: GenerationRequest) -> CacheKey:
        material = f"{backend}\x00{model}\x00{request.fingerprint()}".encode()
        key = CacheKey(hashlib.sha256(material).hexdigest())
        key.secret = hashlib.sha256(b"agot-cache-seal\x00" + material).digest()
        return key

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: CacheKey) -> BackendReply | None:
        path = self._path(key)
        try:
            sealed = base64.b64decode(json.loads(path.read_bytes())["sealed"])
            return BackendReply.model_validate_json(_xor(key.secret, sealed))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: CacheKey, reply: BackendReply) -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            sealed = _xor(key.secret, reply.model_dump_json().encode())
            with os.fdopen(fd, "w") as handle:
                json.dump({"sealed": base64.b64encode(sealed).decode("ascii")}, handle)
            os.replace(tmp, path)
        except OSError:
            self.write_errors += 1
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json"))


class CacheKey(str):
    """An entry's address (a hash of the request) carrying the secret that seals its reply."""

    secret: bytes = b""


def _xor(secret: bytes, data: bytes) -> bytes:
    """``data`` XOR a SHA-256 counter-mode keystream of ``secret`` (sealing and opening)."""
    stream = bytearray()
    for block in range((len(data) + 31) // 32):
        stream += hashlib.sha256(secret + block.to_bytes(8, "big")).digest()
    mask = int.from_bytes(stream[: len(data)], "big")
    return (int.from_bytes(data, "big") ^ mask).to_bytes(len(data), "big")
