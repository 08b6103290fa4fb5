#!/usr/bin/env bash
# Create (or refresh) a virtual environment with hybridize installed editable plus the test/demo extras.
# usage: scripts/setup.sh [VENV_DIR] [PYTHON] [EXTRAS]     defaults: .venv python3 test
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=${2:-python3}
extras=${3:-test}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]" 2>&1 \
    | grep -v -e "is ignored: it is neither a file nor a directory" || true
"$venv/bin/python" -c "import hybridize, tensorflow" >/dev/null 2>&1 || {
    echo "setup of $venv failed" >&2; exit 1; }
