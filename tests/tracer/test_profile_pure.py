"""End to end on a pure-Python project: exact counts, time, tests, coverage, processes, exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hybridize.tracer.state import LIGHT_AFTER
from hybridize.tracer.store import load_profile

from .conftest import PY, hybridize

Result = tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]


def test_exit_status_is_passed_on_and_outcomes_recorded(pure_profile: Result, pure_project: Path) -> None:
    proc, _ = pure_profile
    assert proc.returncode == 1, proc.stderr  # test_fails fails: pytest's status comes back
    assert "exited with status 1" in proc.stderr
    meta = load_profile(pure_project / ".hybridize").meta
    tests = meta["tests"]
    assert tests["tests/test_mod.py::test_fails"] == "failed"
    assert tests["tests/test_mod.py::test_skipped"] == "skipped"
    assert tests["tests/test_mod.py::test_error"] == "error"
    assert tests["tests/test_mod.py::test_busy"] == "passed"
    assert meta["exit_code"] == 1 and meta["internal_errors"] == 0
    assert meta["python"] == sys.version.split()[0]


def test_exact_counts_recursion_generators_coroutines(pure_profile: Result) -> None:
    fns = pure_profile[1]
    assert fns["purepkg.mod:fact"]["calls"] == 5
    assert fns["purepkg.mod:gen"]["calls"] == 1
    assert fns["purepkg.mod:coro"]["calls"] == 1
    assert fns["purepkg.mod:Box.get"]["calls"] == 2 and fns["purepkg.mod:Box.__init__"]["calls"] == 2
    assert fns["purepkg.mod:make_adder.<locals>.adder"]["calls"] == 1
    # leaf: 1 (defaults) + 3 (gen) + 1 (coro) + 300 (threads) + 5000 (busy) + 1 (child process) + 1 (fork) + 1 (fails)
    expected = 1 + 3 + 1 + 300 + 5000 + 1 + 1
    if hasattr(__import__("os"), "fork"):
        expected += 1
    assert fns["purepkg.mod:leaf"]["calls"] == expected
    assert fns["purepkg.mod:leaf"]["signatures_sampled"] is True  # busy, never a tensor: went light
    assert fns["purepkg.mod:child_work"]["calls"] == 1  # a subprocess of a test: its own shard
    for f in fns.values():
        assert f["eager_calls"] == f["calls"] and f["graph_calls"] == 0 and not f["hybrid"]


def test_time_signatures_tests_and_lines(pure_profile: Result) -> None:
    fns = pure_profile[1]
    fact = fns["purepkg.mod:fact"]
    assert fact["total_s"] > 0 and fact["line"] == 12
    assert [s["args"]["n"]["value"] for s in fact["signatures"]] == [5, 4, 3, 2, 1]
    get = fns["purepkg.mod:Box.get"]
    args = [s["args"] for s in get["signatures"]]
    assert {a["scale"]["value"] for a in args} == {2.0, 1}
    assert args[0]["self"] == {"kind": "object", "type": "purepkg.mod.Box"}
    assert any(a["opts"].get("keys") == ["flag"] for a in args)
    assert fns["purepkg.mod:in_threads"]["tests"] == ["tests/test_mod.py::test_threads"]
    assert set(fns["purepkg.mod:leaf"]["tests"]) >= {"tests/test_mod.py::test_busy", "tests/test_mod.py::test_fails"}
    assert fact["lines_covered"] == fact["lines_total"] == 1
    busy = fns["purepkg.mod:busy"]
    assert busy["lines_total"] == 1 and busy["lines_covered"] == 1
    assert sum(s["count"] for s in fns["purepkg.mod:fact"]["signatures"]) == 5
    assert LIGHT_AFTER < 5000


def test_xdist_workers_are_traced_and_merged(pure_project: Path, tmp_path: Path) -> None:
    data = tmp_path / "xdist-data"
    proc = hybridize("profile", "--no-measure", "--data-dir", str(data), "--", PY, "-m", "pytest", "-q", "-n", "2",
                     "-p", "no:cacheprovider", "tests/test_mod.py", "-k", "busy or recursion or threads", cwd=pure_project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prof = load_profile(data)
    assert prof.meta["processes"] >= 3  # controller + 2 workers
    fns = prof.by_name()
    assert fns["purepkg.mod:fact"].calls == 5
    assert fns["purepkg.mod:leaf"].calls == 1 + 300 + 5000
    assert prof.meta["tests"]["tests/test_mod.py::test_busy"] == "passed"


def test_any_python_command_and_its_exit_status(pure_project: Path, tmp_path: Path) -> None:
    data = tmp_path / "script-data"
    code = "import sys, purepkg.mod as m; m.fact(3); sys.exit(3)"
    proc = hybridize("profile", "--no-measure", "--no-coverage", "--data-dir", str(data), "--", PY, "-c", code,
                     cwd=pure_project)
    assert proc.returncode == 3, proc.stderr
    prof = load_profile(data)
    assert prof.by_name()["purepkg.mod:fact"].calls == 3 and prof.meta["tests"] == {}
    assert prof.by_name()["purepkg.mod:fact"].lines_covered is None and prof.meta["coverage"] is False
    assert prof.meta["exit_code"] == 3
    out = hybridize("functions", "--data-dir", str(data), cwd=pure_project)
    assert out.returncode == 0 and "purepkg.mod:fact" in out.stdout
    as_json = json.loads(hybridize("functions", "--json", "--data-dir", str(data), cwd=pure_project).stdout)
    assert [f["function"] for f in as_json] == [f.function for f in prof.functions]
