"""An on-disk, content-addressed response cache.

The key is a SHA-256 over the backend, the model and everything in the request that determines
the reply (messages, schema, sampling params, sample index), so a re-run or ``--resume`` pays
nothing twice. Entries are written atomically (temp file + rename), so a crash never leaves a
torn entry. Only the reply text and token counts are stored: never keys or headers.

Replies are stored sealed, never in clear, with a maintained AEAD: AES-256-GCM from the
``cryptography`` package, under a key derived with HKDF-SHA256 from the request material (the
same bytes the address hashes), never from the address itself, which is the file's name and so
public. Whoever can rebuild the request (a re-run) can read its reply; a cache folder shared on
its own reveals no prompt and no reply, which matters when the prompts hold text that must not
appear in plain text (GPQA questions, private documents, echoed in a reply). Each entry has its
own random nonce, and its address is authenticated with it: an entry changed on disk, moved to
another address, or written by an older agot fails authentication and is a miss, never a
different reply. (The seal used to be a home-made XOR keystream without authentication, so a
changed entry decrypted into a changed reply.)

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
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agot.errors import ConfigError
from agot.registry import require_modules
from agot.types import BackendReply, GenerationRequest

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class ResponseCache:
    """Reply store under ``directory`` (``ab/abcdef….json``)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        # Imported here, not with agot: only a run with a cache needs the package.
        require_modules("the response cache", ["cryptography"], "pip install cryptography")
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
        key.secret = _derive_key(material)
        return key

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: CacheKey) -> BackendReply | None:
        path = self._path(key)
        try:
            entry = json.loads(path.read_bytes())
            if entry.get("v") != SEAL_VERSION:
                return None  # an older agot's entry: a miss, rewritten on the next put
            nonce = base64.b64decode(entry["nonce"], validate=True)
            sealed = base64.b64decode(entry["sealed"], validate=True)
            plain = _aead(key.secret).decrypt(nonce, sealed, _aad(key))
            return BackendReply.model_validate_json(plain)
        except Exception:  # unreadable, corrupt, or failing authentication (InvalidTag): a miss
            return None

    def put(self, key: CacheKey, reply: BackendReply) -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            nonce = os.urandom(NONCE_BYTES)
            sealed = _aead(key.secret).encrypt(nonce, reply.model_dump_json().encode(), _aad(key))
            entry = {
                "v": SEAL_VERSION,
                "nonce": base64.b64encode(nonce).decode("ascii"),
                "sealed": base64.b64encode(sealed).decode("ascii"),
            }
            with os.fdopen(fd, "w") as handle:
                json.dump(entry, handle)
            os.replace(tmp, path)
        except OSError:
            self.write_errors += 1
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json"))


class CacheKey(str):
    """An entry's address (a hash of the request) carrying the key that seals its reply."""

    secret: bytes = b""


#: The entry format: 2 is AES-256-GCM with an HKDF key (1, unversioned, was the XOR seal).
SEAL_VERSION = 2
#: AES-GCM's standard nonce size; random per entry (2^-32 collision odds need 2^32 entries
#: under one key, and a key serves one request).
NONCE_BYTES = 12
_HKDF_SALT = b"agot response cache v2"
_HKDF_INFO = b"reply seal"


def _derive_key(material: bytes) -> bytes:
    """A 256-bit key from the request material (HKDF-SHA256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        material
    )


def _aead(secret: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(secret)


def _aad(key: str) -> bytes:
    """What each entry authenticates besides its reply: its format and its address."""
    return f"agot-cache:{SEAL_VERSION}:{key}".encode()


#: What :class:`CacheCounts` warns once when a sampled call passes the cache by.
SAMPLED_NOT_CACHED = (
    "the response cache skips calls sampled at temperature > 0 (AGoT samples at 0.3, "
    "self-consistency at 0.7): pass cache_sampled=True (--cache-sampled) to cache them too, "
    "or set a seed"
)


@dataclass
class CacheCounts:
    """A dispatcher's cache traffic: replies answered from it (``hits``), calls it was asked
    for and did not hold (``misses``: paid, then stored), and sampled calls it was never asked
    for (``skipped``: without ``cache_sampled`` a reply at temperature > 0 is not reused,
    since a second sample is meant to differ). ``skipped`` is why a cached AGoT re-run can
    still pay for every call, so the first such call warns, once per dispatcher."""

    hits: int = 0
    misses: int = 0
    skipped: int = 0

    def skip(self) -> None:
        if not self.skipped:
            warnings.warn(SAMPLED_NOT_CACHED, UserWarning, stacklevel=3)
        self.skipped += 1

    def text(self) -> str:
        """``cache 3 hits, 5 misses, 12 sampled calls not cached`` (empty with no traffic)."""
        if not (self.hits or self.misses or self.skipped):
            return ""
        out = f"cache {self.hits} hits, {self.misses} misses"
        if self.skipped:
            out += f", {self.skipped} sampled calls not cached"
        return out
