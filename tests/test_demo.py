"""The demo's cheap parts (the whole demo is the README's first command, run by hand: minutes of TensorFlow)."""

from __future__ import annotations

from hybridize.commands.demo import _perf_seconds, examples_dir


def test_the_example_project_is_found_with_its_perf_command() -> None:
    root = examples_dir()
    assert (root / "perf.py").is_file() and (root / "tests").is_dir()
    assert "perf-command" in (root / "pyproject.toml").read_text()


def test_workload_time_is_the_wall_time_perf_prints_not_cpu_time() -> None:
    line = "perf: 4.97 s wall (5.20 s CPU), 90 steps, final loss=0.1"
    assert _perf_seconds("noise 1 s\n" + line, fallback=99.0) == 4.97
    assert _perf_seconds("no timing printed", fallback=12.5) == 12.5
