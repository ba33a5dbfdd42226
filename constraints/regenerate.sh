#!/usr/bin/env bash
# Rewrite constraints/ci.txt from the current .venv (after `pip install -e ".[dev]"`).
# Local wheel paths (`name @ file:///...`) become plain `name==version` pins.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Exact versions CI installs (pip install -c constraints/ci.txt ...)."
  echo "# Regenerate with constraints/regenerate.sh after changing dependencies."
  echo "# litellm 1.82.7, 1.82.8 and 1.107.x are compromised releases: never pin them."
  echo "setuptools==$(.venv/bin/python -c 'import setuptools; print(setuptools.__version__)')"
  .venv/bin/pip freeze --exclude-editable 2>/dev/null | grep -v '^agot' |
    sed -E 's/^([A-Za-z0-9_.-]+) @ file:.*\/[^/]+-([0-9][^-]*)-(py3|cp3).*$/\1==\2/' |
    # Local version labels (torch==2.13.0+cpu) exist only on this machine's wheels; the plain
    # version matches them here and installs the public build elsewhere.
    sed -E 's/^([A-Za-z0-9_.-]+==[^+]+)\+[A-Za-z0-9_.]+$/\1/'
} > constraints/ci.txt
if grep -Eiq '^litellm==1\.(82\.[78]|107\.)' constraints/ci.txt; then
  echo "refusing: a compromised litellm release is installed" >&2
  exit 1
fi
