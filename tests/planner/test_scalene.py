"""Scalene command building and output parsing (no Scalene run: that is the pipeline's optional pass)."""

from __future__ import annotations

from pathlib import Path

from hybridize.planner.scalene import parse_shares, scalene_command


def test_command_for_script_module_and_pytest(tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    script = scalene_command(["python", "perf.py", "--quick"], out, tmp_path)
    module = scalene_command(["python", "-m", "pytest", "-q", "tests"], out, tmp_path)
    bare = scalene_command(["pytest", "-q"], out, tmp_path)
    if script is None:  # scalene not installed in this environment
        return
    assert script[-3:] == ["perf.py", "---", "--quick"] and "--cpu-only" in script
    assert module is not None and module[-5:] == ["-m", "pytest", "---", "-q", "tests"]
    assert bare is not None and bare[-4:] == ["-m", "pytest", "---", "-q"]
    assert scalene_command(["make", "bench"], out, tmp_path) is None


def test_parse_shares(tmp_path: Path) -> None:
    data = {"files": {str(tmp_path / "pkg" / "m.py"): {"functions": [
        {"line": "f", "lineno": 1, "n_cpu_percent_python": 30.0, "n_cpu_percent_c": 10.0},
        {"line": "A.g", "lineno": 8, "n_cpu_percent_python": 0.0, "n_cpu_percent_c": 0.0}]}}}
    shares = parse_shares(data, tmp_path)
    assert shares[("pkg/m.py", "f")]["python_share"] == 0.75
    assert shares[("pkg/m.py", "A.g")]["python_share"] is None
