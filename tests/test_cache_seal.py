"""The response cache's seal (#25 item 9): AES-256-GCM under an HKDF key from the request.

A changed entry must be a miss, never a different reply (the old XOR seal decrypted a changed
entry into a changed reply), and neither the address (the file name, public) nor another
request's key opens an entry.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

from agot.cache import SEAL_VERSION, ResponseCache
from agot.types import BackendReply, GenerationRequest

REPLY = BackendReply(text="Answer: PRIVATE-REPLY-TEXT", prompt_tokens=3, completion_tokens=4)


def _entry(cache: ResponseCache, key: str) -> Path:
    return cache.directory / key[:2] / f"{key}.json"


def _stored(tmp_path: Path) -> tuple[ResponseCache, str, Path]:
    cache = ResponseCache(tmp_path / "cache")
    key = ResponseCache.key("scripted", "m", GenerationRequest.chat("private question"))
    cache.put(key, REPLY)
    return cache, key, _entry(cache, key)


def test_a_sealed_entry_reopens_for_its_request_only(tmp_path: Path) -> None:
    cache, key, path = _stored(tmp_path)
    assert cache.get(key) == REPLY
    entry = json.loads(path.read_text())
    assert entry["v"] == SEAL_VERSION and set(entry) == {"v", "nonce", "sealed"}
    assert (
        b"PRIVATE-REPLY" not in path.read_bytes() and b"private question" not in path.read_bytes()
    )
    other = ResponseCache.key("scripted", "m", GenerationRequest.chat("another question"))
    _entry(cache, other).parent.mkdir(parents=True, exist_ok=True)
    _entry(cache, other).write_bytes(path.read_bytes())  # the entry moved to another address
    assert cache.get(other) is None
    cache.put(key, REPLY)
    assert json.loads(path.read_text())["nonce"] != entry["nonce"]  # a fresh nonce per seal


@pytest.mark.parametrize("where", ["sealed", "nonce", "tag"])
def test_a_tampered_entry_is_a_miss(tmp_path: Path, where: str) -> None:
    cache, key, path = _stored(tmp_path)
    entry = json.loads(path.read_text())
    field = "nonce" if where == "nonce" else "sealed"
    data = bytearray(base64.b64decode(entry[field]))
    # One bit: in the tag, in the nonce, or inside the reply's text (where an unauthenticated
    # stream cipher would have decrypted into a valid, different reply).
    at = {"tag": -1, "nonce": 0, "sealed": len(REPLY.model_dump_json()) - 20}[where]
    data[at] ^= 0x01
    entry[field] = base64.b64encode(bytes(data)).decode()
    path.write_text(json.dumps(entry))
    assert cache.get(key) is None


def test_an_entry_of_the_old_xor_seal_or_garbage_is_a_miss(tmp_path: Path) -> None:
    cache, key, path = _stored(tmp_path)
    path.write_text(json.dumps({"sealed": base64.b64encode(b"x" * 64).decode()}))  # v1 shape
    assert cache.get(key) is None
    for junk in (b"", b"{", b"[]", b'{"v": 2, "nonce": "@@", "sealed": "@@"}'):
        path.write_bytes(junk)
        assert cache.get(key) is None
    cache.put(key, REPLY)  # a miss is rewritten in the current format
    assert cache.get(key) == REPLY


def test_the_key_is_not_derived_from_the_public_address(tmp_path: Path) -> None:
    from agot.cache import _derive_key

    key = ResponseCache.key("scripted", "m", GenerationRequest.chat("q"))
    assert len(key.secret) == 32
    assert key.secret != _derive_key(key.encode()) and key.secret != bytes.fromhex(key)
