#!/usr/bin/env bash
# Create (or refresh) a virtual environment with hybridize installed editable plus the test/demo extras.
# usage: scripts/setup.sh [VENV_DIR] [PYTHON] [EXTRAS]     defaults: .venv python3 test
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=${2:-python3}
extras=${3:-test}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || { echo "setup: cannot create $venv with $python" >&2; exit 1; }
fi
if ! "$venv/bin/python" -m pip install --disable-pip-version-check -e ".[$extras]" >"$log" 2>&1; then
    grep -v -e "is ignored: it is neither a file nor a directory" "$log" | tail -n 20 >&2
    echo "setup: pip install into $venv failed (output above)" >&2
    exit 1
fi
"$venv/bin/python" -c "import hybridize, tensorflow" >/dev/null 2>&1 || {
    echo "setup: $venv cannot import hybridize and tensorflow" >&2; exit 1; }
echo "setup: $venv ready ($("$venv/bin/python" --version))"
