"""Workload awareness: an obvious performance suite is found (used only when it is the only one and the user named
none), and a plan measured on a handful of calls per function says so first."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from hybridize.plan import Plan
from hybridize.planner.pipeline import performance_command
from hybridize.planner.report import print_table, render_markdown
from hybridize.planner.workload import calls_per_trace, choose_performance, discover_suites, thin_workload_note
from hybridize.project import Config


def _write(root: Path, rel: str, text: str = "") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_discovers_folders_benchmark_fixtures_and_scripts(tmp_path: Path) -> None:
    _write(tmp_path, "benchmarks/test_speed.py", "def test_speed():\n    pass\n")
    _write(tmp_path, "tests/test_unit.py", "def test_unit():\n    pass\n")
    _write(tmp_path, "tests/test_bench.py", "def test_fast(benchmark):\n    benchmark(sum, [1])\n")
    _write(tmp_path, "bench.py", "print(1)\n")
    _write(tmp_path, "perf/run.py", "")  # scripts only, no tests: not guessed at
    suites = {s.where: (s.kind, s.command) for s in discover_suites(tmp_path)}
    assert suites == {"benchmarks": ("pytest folder", ("python", "-m", "pytest", "-q", "benchmarks")),
                      "tests/test_bench.py": ("pytest-benchmark tests", ("python", "-m", "pytest", "-q",
                                                                         "tests/test_bench.py")),
                      "bench.py": ("script", ("python", "bench.py"))}


def test_the_only_suite_is_used_several_are_only_suggested_and_a_given_command_wins(tmp_path: Path) -> None:
    tests = ["python", "-m", "pytest", "-q", "tests"]
    assert performance_command(Config(), tests, None, tmp_path) == tests  # nothing found: the tests
    _write(tmp_path, "perf_tests/test_perf.py", "def test_p():\n    pass\n")
    assert performance_command(Config(), tests, None, tmp_path) == ["python", "-m", "pytest", "-q", "perf_tests"]
    command, note = choose_performance(tmp_path, None)
    assert command is not None and "the only performance suite found (perf_tests" in note
    assert performance_command(Config(), tests, ["python", "mine.py"], tmp_path) == ["python", "mine.py"]
    assert choose_performance(tmp_path, ["python", "mine.py"]) == (None, "")
    _write(tmp_path, "benchmark.py")
    command, note = choose_performance(tmp_path, None)
    assert command is None and note.startswith("several performance suites found, none used")
    assert "perf_tests" in note and "benchmark.py" in note and "--perf" in note
    assert performance_command(Config(), tests, None, tmp_path) == tests


def test_thin_workload_is_named_only_when_the_tests_are_the_workload_and_most_calls_are_few() -> None:
    tests = ["pytest", "tests"]
    note = thin_workload_note(tests, tests, [1, 2, 2, 40, 0])
    assert note.startswith("thin workload") and "3 of 4" in note and "--perf" in note and "perf-command" in note
    assert thin_workload_note(tests, tests, [1, 40, 50]) == ""  # most saw many calls
    assert thin_workload_note(["python", "bench.py"], tests, [1, 2, 3]) == ""  # a real workload was given


def test_many_calls_that_each_trace_anew_are_a_thin_workload() -> None:
    """Unit tests that build a new model per test: 165 calls on 93 traces serve ~1 call per trace (tf-keras-vis)."""
    assert [calls_per_trace(165, 93), calls_per_trace(36, 1), calls_per_trace(40, 0), calls_per_trace(0, 3)] == [1, 36, 40, 0]
    tests = ["pytest", "tests"]
    per_trace = [calls_per_trace(c, t) for c, t in [(165, 93), (177, 98), (174, 93), (36, 12), (36, 1)]]
    assert "4 of 5" in thin_workload_note(tests, tests, per_trace)
    assert thin_workload_note(tests, tests, [165, 177, 174, 36, 36]) == ""  # the same counts, traces ignored


def test_the_report_says_it_first() -> None:
    plan = Plan(recommendations=[], rejected=[], file_hashes={}, project_root="/p", perf_command=["pytest"],
                created="now", meta={"workload_notes": ["thin workload: the performance command is the test command"]})
    console = Console(record=True, width=100)
    print_table(plan, console)
    text = console.export_text()
    assert text.splitlines()[0].startswith("hybridize: thin workload")
    assert "**Workload:** thin workload" in render_markdown(plan)
