"""The README's async example is a script that runs as written (on the scripted model here,
since the embedded model takes a minute to load; the code is otherwise the README's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", text, re.S)
    assert found, f"no python block after <!-- {marker} --> in README.md"
    return found.group(1)


def test_async_example_runs_as_a_script(tmp_path):
    code = _block("async-example")
    assert "asyncio.run(main())" in code and '"local"' in code
    script = tmp_path / "example.py"
    script.write_text(
        code.replace('"local"', '"scripted"').replace("~/.cache/agot", str(tmp_path / "cache"))
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("[")
