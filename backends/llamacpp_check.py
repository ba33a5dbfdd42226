"""Whether llama.cpp's native CPU kernels survive on this machine, checked once per build.

Why this exists: llama-cpp-python compiles llama.cpp for the CPU it is installed on
(``GGML_NATIVE``). A CPU may *list* instruction sets its OS or hypervisor does not let a process
use (AMX and AVX-512 on some virtual machines): a native build then dies with ``SIGSEGV`` on the
first prompt of two or more tokens, inside the repacked (AMX / AVX-512) weight layouts that
llama.cpp builds at load time. A segmentation fault cannot be caught in the process it kills,
so it would end agot with no message and, in a test run, take pytest down with it.

So the first CPU load of a model by a given llama.cpp build on a given CPU runs one multi-token
prompt and a few generated tokens in a **child process** and records the verdict:

* ``native``: the build works as it is; load it unchanged (no cost after the first check).
* ``no-extra-buffers``: the repacked layouts crash but the plain ones work; load with
  ``use_extra_bufts=False``, which keeps every other native kernel (AVX-512 included) and drops
  only the repacked weights.
* ``crash``: both die; loading raises a :class:`~agot.errors.ConfigError` naming the signal and
  the portable rebuild (:data:`PORTABLE_REBUILD`), before any work is lost.

Verdicts are cached as JSON under the user's cache folder, keyed by the llama.cpp build (version
and the shared libraries' size and modification time), the CPU (its listed flags) and the model
file, so a rebuild, a new CPU or another model is checked again. ``AGOT_LLAMACPP_CHECK=0`` skips
the check (load natively, as before); GPU offload is not checked (the child would claim a
second copy of GPU memory).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from agot.errors import ConfigError

Verdict = Literal["native", "no-extra-buffers", "crash"]

#: How to rebuild llama-cpp-python without CPU-specific kernels (AVX2/FMA/F16C, which every
#: x86-64 CPU of the last decade has); also in the README's "CPUs" section.
PORTABLE_REBUILD = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON '
    '-DGGML_BMI2=ON" pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python'
)
#: Environment switch: "0" trusts the native build without checking it.
CHECK_ENV = "AGOT_LLAMACPP_CHECK"
#: Seconds one child may take (loading and a 40-token prompt take about a second on 2 cores).
CHILD_TIMEOUT_S = 180.0
#: What a child that ran past CHILD_TIMEOUT_S reports.
TIMED_OUT = "timed out"
#: Cache file format version: bump when the meaning of a verdict changes.
_FORMAT = 1

#: The text the child evaluates in one batch (the path that crashed): a dozen-odd tokens.
_CHECK_PROMPT = b"Check the kernels: the quick brown fox jumps over the lazy dog, twice."
_PATCH_LOCK = threading.Lock()


def construct_llama(kwargs: dict[str, Any]) -> Any:
    """``llama_cpp.Llama(**kwargs)``, where ``use_extra_bufts=False`` really reaches llama.cpp.

    ``Llama()`` has no such argument (it swallows unknown keywords silently), so for that one
    load its source of default model parameters is wrapped to return them with the repacked
    buffer types off; a lock keeps two loads from interleaving the wrap.
    """
    import llama_cpp
    import llama_cpp.llama_cpp as low

    kwargs = dict(kwargs)
    extra = kwargs.pop("use_extra_bufts", None)
    if extra is not False:
        return llama_cpp.Llama(**kwargs)
    with _PATCH_LOCK:
        original = low.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = without_extra_buffers
        try:
            return llama_cpp.Llama(**kwargs)
        finally:
            low.llama_model_default_params = original


def _child_main() -> None:
    """What the check process runs: load, evaluate a multi-token prompt in one batch, decode a
    few tokens, print a line of JSON. A crash ends this process, not agot."""
    kwargs = json.loads(sys.argv[1])
    llm = construct_llama(kwargs)
    tokens = llm.tokenize(_CHECK_PROMPT)
    out = llm.create_completion(tokens, max_tokens=4, temperature=0.0)
    print(json.dumps({"prompt_tokens": len(tokens), "text": out["choices"][0]["text"]}))


@dataclass(frozen=True)
class ChildOutcome:
    """How one check process ended: its exit code (negative: killed by that signal)."""

    returncode: int
    stderr_tail: str = ""

    @property
    def crashed(self) -> bool:
        """Killed by a signal (a native crash), as opposed to a Python error or success."""
        return self.returncode < 0 and not self.timed_out

    @property
    def timed_out(self) -> bool:
        return self.stderr_tail == TIMED_OUT

    def describe(self) -> str:
        if self.timed_out:
            return f"no answer within {CHILD_TIMEOUT_S:.0f} s"
        if self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        tail = self.stderr_tail.strip().splitlines()
        return f"exit code {self.returncode}" + (f" ({tail[-1][:200]})" if tail else "")


Runner = Callable[[dict[str, Any]], ChildOutcome]


def run_child(kwargs: dict[str, Any]) -> ChildOutcome:
    """Run the multi-token check with ``Llama(**kwargs)`` in a fresh interpreter."""
    # The child sees the modules this process sees, from a neutral folder (a source checkout
    # in the working directory would shadow the installed package).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    code = "from agot.backends.llamacpp_check import _child_main; _child_main()"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(kwargs)],
            cwd=tempfile.gettempdir(),
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ChildOutcome(-int(signal.SIGKILL), TIMED_OUT)
    return ChildOutcome(done.returncode, done.stderr[-2000:])


# -- the cache key ------------------------------------------------------------------------------
def _cpu_fingerprint() -> str:
    """The CPU as llama.cpp's native build saw it: its model name and listed flags."""
    parts = [platform.machine(), platform.processor()]
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text(errors="replace")
        for line in text.splitlines():
            key = line.split(":", 1)[0].strip()
            if key in ("flags", "Features", "model name"):
                parts.append(" ".join(sorted(set(line.split(":", 1)[1].split()))))
            if key in ("flags", "Features"):
                break  # the first processor describes them all
    return "\n".join(parts)


def _build_fingerprint() -> str:
    """The installed llama.cpp build: version plus each shared library's size and mtime."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    parts: list[str] = []
    for folder in (spec.submodule_search_locations or []) if spec else []:
        lib = Path(folder) / "lib"
        for path in sorted(lib.glob("*")) if lib.is_dir() else []:
            with contextlib.suppress(OSError):
                st = path.stat()
                parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
        with contextlib.suppress(OSError):
            parts.append((Path(folder) / "__init__.py").read_text(errors="replace")[-400:])
    return "\n".join(parts)


def check_key(model_path: Path, kwargs: dict[str, Any]) -> str:
    """One cache key for (build, CPU, model file, the load options that pick kernels)."""
    st = model_path.stat()
    picked = {k: kwargs.get(k) for k in ("use_extra_bufts", "n_gpu_layers", "type_k", "type_v")}
    material = "\n".join(
        [
            _build_fingerprint(),
            _cpu_fingerprint(),
            f"{model_path.resolve()}:{st.st_size}:{st.st_mtime_ns}",
            json.dumps(picked, sort_keys=True, default=str),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def default_cache_file() -> Path:
    """``$AGOT_CACHE_DIR`` or ``$XDG_CACHE_HOME/agot`` or ``~/.cache/agot``, then the file."""
    root = os.environ.get("AGOT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "agot"
    )
    return Path(root) / "llamacpp-check.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    verdicts = data.get("verdicts")
    return verdicts if isinstance(verdicts, dict) else {}


def _write_cache(path: Path, key: str, entry: dict[str, Any]) -> None:
    """Add one verdict atomically (a temp file renamed over the old one); failures are ignored:
    without a cache the check simply runs again next time."""
    verdicts = _read_cache(path)
    verdicts[key] = entry
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".llamacpp-check-")
        with os.fdopen(fd, "w") as handle:
            json.dump({"format": _FORMAT, "verdicts": verdicts}, handle, indent=1)
        os.replace(tmp, path)


# -- the check ----------------------------------------------------------------------------------
def native_kernel_verdict(
    model_path: Path,
    kwargs: dict[str, Any],
    *,
    cache_file: Path | None = None,
    runner: Runner | None = None,
) -> tuple[Verdict, str]:
    """The verdict for loading ``model_path`` with ``Llama(**kwargs)`` on this machine, and a
    one-line reason. Runs at most two child processes, once per cache key."""
    cache_file = cache_file or default_cache_file()
    runner = runner or run_child
    key = check_key(model_path, kwargs)
    cached = _read_cache(cache_file).get(key)
    if isinstance(cached, dict) and cached.get("verdict") in get_args(Verdict):
        return cached["verdict"], str(cached.get("reason", ""))
    # A small context is enough to exercise the kernels and keeps the check fast.
    probe = {**kwargs, "n_ctx": 256, "verbose": False}
    first = runner(probe)
    if not first.crashed:
        # Success, or an ordinary error (a bad model file, a slow machine) that the real load
        # reports itself: not a verdict about the kernels, so it is cached only on success.
        if first.returncode == 0:
            _write_cache(cache_file, key, {"verdict": "native", "reason": "checked"})
        return "native", "native kernels ran a multi-token prompt"
    verdict: Verdict
    if probe.get("use_extra_bufts") is False:
        verdict, reason = "crash", f"llama.cpp died with {first.describe()}"
    else:
        second = runner({**probe, "use_extra_bufts": False})
        if second.returncode == 0:
            verdict = "no-extra-buffers"
            reason = (
                f"the repacked (AMX/AVX-512) weight layouts died with {first.describe()}; "
                "loading without them"
            )
        else:
            verdict = "crash"
            reason = (
                f"llama.cpp died with {first.describe()}, and with {second.describe()} "
                "without its repacked weight layouts"
            )
            if second.timed_out:
                return verdict, reason  # not cached: a slow machine may pass next time
    _write_cache(cache_file, key, {"verdict": verdict, "reason": reason})
    return verdict, reason


def safe_load_kwargs(model_path: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` adjusted so ``Llama(**kwargs)`` cannot crash this process on a CPU whose
    listed instruction sets do not work; raises :class:`ConfigError` when no setting works."""
    if os.environ.get(CHECK_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return kwargs
    if kwargs.get("n_gpu_layers", 0) != 0:
        return kwargs
    verdict, reason = native_kernel_verdict(model_path, kwargs)
    if verdict == "native":
        return kwargs
    if verdict == "no-extra-buffers":
        return {**kwargs, "use_extra_bufts": False}
    raise ConfigError(
        f"the embedded model cannot run on this CPU: {reason} (the llama.cpp build uses "
        f"instructions this machine lists but does not allow); rebuild it portably: "
        f"{PORTABLE_REBUILD}"
    )
