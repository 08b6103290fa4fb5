"""Which workload the trial runs measure, and whether it is enough to judge on.

By default the performance command is the profiled command, usually the unit tests: each test calls a function a
handful of times, so tracing dominates every number, and a decision on them (above all removing a library's own
``tf.function``) says little about the library's users. So: an obvious performance suite in the project is found
and, when it is the only one and the user named no performance command, used (said at the top of the report);
when several are found they are only suggested; and when the tests are the workload and most candidates saw only
a handful of calls, the report says so first and names how to give a workload.

Discovery looks for: a ``perf_tests/``, ``benchmarks/``, ``benchmark/`` or ``perf/`` folder holding pytest files
(run with pytest); pytest-benchmark tests (a test taking the ``benchmark`` fixture) elsewhere; a ``bench.py``,
``benchmark.py`` or ``perf.py`` script at the root (run with python). Anything else (a folder of scripts, a
``run.py`` with options) is not guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SUITE_DIRS = ("perf_tests", "benchmarks", "benchmark", "perf")
SCRIPTS = ("bench.py", "benchmark.py", "perf.py")
SKIP_DIRS = {".git", ".hybridize", ".venv", "venv", "env", "node_modules", "build", "dist", "__pycache__", ".tox"}
THIN_CALLS = 5  # a candidate called at most this often per trace is judged mostly on its tracing
_BENCH_FIXTURE = re.compile(r"def\s+test\w*\s*\([^)]*\bbenchmark\b")
MAX_SCANNED = 2000  # python files read looking for pytest-benchmark tests


@dataclass(frozen=True)
class Suite:
    """A performance suite found in the project, with the command that runs it."""

    where: str  # relative path (a folder, a script, or the first of several benchmark test files)
    kind: str  # "pytest folder" | "pytest-benchmark tests" | "script"
    command: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.where} ({self.kind}: `{' '.join(self.command)}`)"


def _py_files(root: Path) -> Iterable[Path]:
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.is_dir():
                if p.name not in SKIP_DIRS and not p.name.startswith("."):
                    stack.append(p)
            elif p.suffix == ".py":
                yield p


def _is_test_file(p: Path) -> bool:
    return p.name.startswith("test_") or p.name.endswith("_test.py")


def discover_suites(root: Path) -> list[Suite]:
    """Every obvious performance suite under ``root`` (see the module docstring), in a stable order."""
    suites: list[Suite] = []
    for name in SUITE_DIRS:
        d = root / name
        if d.is_dir() and any(_is_test_file(p) for p in _py_files(d)):
            suites.append(Suite(name, "pytest folder", ("python", "-m", "pytest", "-q", name)))
    bench_files: list[str] = []
    for i, p in enumerate(_py_files(root)):
        if i >= MAX_SCANNED:
            break
        rel = p.relative_to(root).as_posix()
        if not _is_test_file(p) or rel.split("/")[0] in SUITE_DIRS:
            continue
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _BENCH_FIXTURE.search(text):
            bench_files.append(rel)
    if bench_files:
        suites.append(Suite(bench_files[0], "pytest-benchmark tests",
                            ("python", "-m", "pytest", "-q", *sorted(bench_files))))
    for name in SCRIPTS:
        if (root / name).is_file():
            suites.append(Suite(name, "script", ("python", name)))
    return suites


def choose_performance(root: Path | None, given: Sequence[str] | None) -> tuple[list[str] | None, str]:
    """(the discovered command to use, or None; a note for the report). Used only when the user named no
    performance command (``given``) and exactly one suite is found: several are only suggested."""
    if root is None or given:
        return None, ""
    suites = discover_suites(root)
    if len(suites) == 1:
        return list(suites[0].command), (f"performance command: `{' '.join(suites[0].command)}`, the only "
                                         f"performance suite found ({suites[0].where}, {suites[0].kind}); "
                                         "--perf or perf-command names another")
    if suites:
        return None, ("several performance suites found, none used: " + "; ".join(s.describe() for s in suites)
                      + "; pick one with --perf or perf-command in [tool.hybridize]")
    return None, ""


def calls_per_trace(calls: int, traces: int) -> int:
    """The calls one trace serves: tests that build a new object or shape each time trace on nearly every call,
    so many calls in all can still be a handful per trace (the graph's numbers are then mostly its tracing)."""
    return max(1, calls // traces) if traces > 0 and calls > 0 else calls


def thin_workload_note(perf: Sequence[str], test: Sequence[str], calls: Iterable[int]) -> str:
    """A warning when the unit tests are the workload and most exercised candidates saw only a handful of calls
    per trace (`calls_per_trace`)."""
    if list(perf) != list(test):
        return ""
    seen = [n for n in calls if n > 0]
    few = sum(1 for n in seen if n <= THIN_CALLS)
    if not seen or few * 2 <= len(seen):
        return ""
    return (f"thin workload: the performance command is the test command, and {few} of {len(seen)} measured "
            f"functions were called at most {THIN_CALLS} times per trace, so tracing dominates their numbers "
            "(removals are "
            "kept unless the evidence holds anyway); give a workload that calls them as users do: "
            "`hybridize profile --perf \"python bench.py\" -- <tests>` or `perf-command` in [tool.hybridize]")
