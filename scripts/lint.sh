#!/usr/bin/env bash
# ruff + mypy. mypy cannot follow setuptools' package-dir mapping, so it checks a symlink tree that
# lays the stage folders out as the installed package (build/typecheck/hybridize/{tracer,static,...}).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
"$venv/bin/ruff" check hybridize tracer static planner rewriter tests perf_tests
tree=build/typecheck
rm -rf "$tree"; mkdir -p "$tree/hybridize"
for f in hybridize/*; do ln -s "$PWD/$f" "$tree/hybridize/$(basename "$f")"; done
for stage in tracer static planner rewriter; do ln -s "$PWD/$stage" "$tree/hybridize/$stage"; done
(cd "$tree" && "$OLDPWD/$venv/bin/mypy" --config-file "$OLDPWD/pyproject.toml" hybridize)
