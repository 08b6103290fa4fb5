"""Scalene command building and output parsing (no Scalene run: that is the pipeline's optional pass)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from hybridize.planner import scalene
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


def _fake_scalene(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Stand in a Python one-liner for Scalene (not installed here); ``OUT`` is where it writes its JSON."""
    monkeypatch.setattr(scalene, "scalene_command",
                        lambda perf, out, root: [sys.executable, "-c", code.replace("OUT", repr(str(out)))])


def test_shares_are_read_from_the_run_and_mapped_onto_candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"files": {str(tmp_path / "m.py"): {"functions": [
        {"line": "A.g", "lineno": 3, "n_cpu_percent_python": 9.0, "n_cpu_percent_c": 1.0}]}}}
    _fake_scalene(monkeypatch, f"import json; open(OUT, 'w').write(json.dumps({data!r}))")
    cand = SimpleNamespace(function="m:A.g", file="m.py")
    shares = scalene.scalene_shares(tmp_path, ["python", "perf.py"], tmp_path, Console(file=io.StringIO()), [cand])
    assert shares["m:A.g"]["python_share"] == 0.9


def test_a_failing_or_slow_scalene_is_one_line_and_no_shares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    _fake_scalene(monkeypatch, "import sys; print('scalene: cannot attach', file=sys.stderr); sys.exit(1)")
    assert scalene.scalene_shares(tmp_path, ["python", "perf.py"], tmp_path, Console(file=out, width=200)) == {}
    assert "scalene failed (scalene: cannot attach)" in out.getvalue()
    _fake_scalene(monkeypatch, "import time; time.sleep(30)")
    assert scalene.scalene_shares(tmp_path, ["python", "perf.py"], tmp_path, Console(file=out), timeout_s=1) == {}
    assert "scalene: timed out" in out.getvalue()
