"""Reading a GGUF file's header without loading the model (llama.cpp's model format).

The llama.cpp backend sizes its context window from the training context length recorded in
the header; reading it here costs a few kilobytes of I/O, where loading the model would cost
the whole file.
"""

from __future__ import annotations

import os
import struct
from typing import Any, BinaryIO

from agot.errors import ConfigError

_GGUF_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack("<" + fmt, data)[0]


def _read_str(f: BinaryIO) -> str:
    n = _read(f, "Q")
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data.decode("utf-8", "replace")


def _skip_value(f: BinaryIO, kind: int) -> Any:
    if kind in _GGUF_SCALARS:
        return _read(f, _GGUF_SCALARS[kind])
    if kind == _GGUF_STRING:
        return _read_str(f)
    if kind == _GGUF_ARRAY:
        item, count = _read(f, "I"), _read(f, "Q")
        if item in _GGUF_SCALARS:
            f.seek(count * struct.calcsize("<" + _GGUF_SCALARS[item]), os.SEEK_CUR)
        else:
            for _ in range(count):
                _skip_value(f, item)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def gguf_context_length(path: str | os.PathLike[str]) -> int | None:
    """The training context length in a GGUF header, read without loading the model.

    Raises ConfigError when the file is not GGUF at all; returns None when the header is
    unusual (old version, no context length), in which case the caller picks a default.
    """
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ConfigError(f"{path} is not a GGUF model file: pass llamacpp/<path.gguf>")
        try:
            if _read(f, "I") < 2:
                return None
            _read(f, "Q")  # tensor count
            n_kv = _read(f, "Q")
            arch: str | None = None
            lengths: dict[str, int] = {}
            for _ in range(n_kv):
                key, kind = _read_str(f), _read(f, "I")
                value = _skip_value(f, kind)
                if key == "general.architecture":
                    arch = str(value)
                elif key.endswith(".context_length") and isinstance(value, int):
                    lengths[key] = value
                if arch and f"{arch}.context_length" in lengths:
                    return lengths[f"{arch}.context_length"]
            return next(iter(lengths.values()), None)
        except (EOFError, ValueError, OverflowError):
            return None
