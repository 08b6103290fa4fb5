#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up Python 3.11 and 3.12 environments (the tracer has a
# code path for each), lint and type-check once, run the tests under both interpreters and the benchmark
# workloads' own tests, then check that the benchmark harness runs (quick mode: two small workloads through
# the whole pipeline, nothing timed is asserted).
set -euo pipefail
cd "$(dirname "$0")/.."
py311=${HYBRIDIZE_PY311:-python3}
py312=${HYBRIDIZE_PY312:-}
if [ -z "$py312" ]; then
    if command -v pyenv >/dev/null 2>&1 && [ -x "$(pyenv root)/versions/3.12.1/bin/python3.12" ]; then
        py312="$(pyenv root)/versions/3.12.1/bin/python3.12"
    else
        py312=$(command -v python3.12 || true)
    fi
fi
[ -n "$py312" ] || { echo "Python 3.12 not found (set HYBRIDIZE_PY312)" >&2; exit 1; }

echo "== setting up .venv ($("$py311" --version)) and .venv312 ($("$py312" --version))"
bash scripts/setup.sh .venv "$py311" test
bash scripts/setup.sh .venv312 "$py312" test

echo "== ruff + mypy"
bash scripts/lint.sh .venv

status=0
for venv in .venv .venv312; do
    echo "== pytest under $("$venv/bin/python" --version)"
    "$venv/bin/python" -m pytest -q -n 2 tests "$@" || status=1
done
echo "== the benchmark workloads' own tests (each workload is a small project with its tests and oracle)"
.venv/bin/python -m pytest -q -n 2 -p no:cacheprovider perf_tests/workloads/tests || status=1
echo "== perf_tests smoke: the benchmark harness in quick mode (runs, no timing asserted)"
.venv/bin/python perf_tests/run.py --quick || status=1
exit $status
