#!/usr/bin/env bash
# Set up .venv and run the whole pipeline on a copy of examples/ (profile, report, apply, measured speedup).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh .venv "${HYBRIDIZE_PYTHON:-python3}" test
exec .venv/bin/hybridize demo "$@"
