#!/usr/bin/env bash
# The Python client the Wyoming tests drive: the `wyoming` package from PyPI, as Home Assistant uses it.
# Pure Python, no dependencies: the venv takes about a second. Re-run safe.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=test/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import wyoming' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'wyoming==1.10.2'
fi
"$venv/bin/python" -c 'import importlib.metadata as m; print("test venv: wyoming", m.version("wyoming"))'
