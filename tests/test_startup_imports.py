"""What a run imports before its first request: only what the chosen command and backend need
(each import is start-up time; see benchmarks/bench_http_client.py for the timings)."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_http_client_does_not_import_trio_yet_leaves_it_importable() -> None:
    loaded = _modules_after(
        "import importlib.util, sys\n"
        "import agot.backends.openai_http\n"
        "assert 'trio' not in sys.modules\n"
        "assert sys.modules['httpcore']\n"
        "if importlib.util.find_spec('trio'):\n"
        "    import trio\n"
        "    assert trio.run"
    )
    assert "httpcore" in loaded


def test_a_command_builds_only_its_own_flags() -> None:
    from agot.cli import COMMANDS, build_parser

    def flags(only: str | None, command: str) -> set[str]:
        parser = build_parser(only)
        sub = next(a for a in parser._actions if a.dest == "command")
        assert set(sub.choices) == set(COMMANDS)  # type: ignore[arg-type]
        return {a.dest for a in sub.choices[command]._actions}  # type: ignore[index]

    assert "tot_breadth" in flags("eval", "eval")
    assert "tot_breadth" in flags(None, "eval")  # agot --help: everything
    assert "tot_breadth" not in flags("report", "eval")
    loaded = _modules_after("from agot.cli import build_parser\nbuild_parser('report')")
    assert "agot.strategies.tree_of_thoughts" not in loaded
    assert "agot.kairanban" not in loaded
