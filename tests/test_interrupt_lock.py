"""Ctrl-C during the traced run stops `profile` (partial profile saved, no planning, exit 130), and a second
`profile` on the same data dir is refused with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hybridize.cli import main
from hybridize.lock import exclusive
from hybridize.tracer.store import load_profile

SCRIPT = """
import os, signal, sys, time
import mod

mod.f(1)
os.kill(os.getppid(), signal.SIGINT)  # what a terminal's Ctrl-C does to hybridize
try:
    while True:  # stopped by the SIGINT hybridize passes on
        time.sleep(0.05)
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "mod.py").write_text("def f(x):\n    return x + 1\n")
    (tmp_path / "script.py").write_text(SCRIPT)
    return tmp_path


def test_ctrl_c_in_the_traced_run_saves_the_profile_and_does_not_plan(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "hybridize", "profile", "--no-warm-start", "--no-coverage",
                           "--root", str(project), "--", sys.executable, str(project / "script.py")],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "no planning was done" in proc.stderr and "Traceback" not in proc.stderr
    data = project / ".hybridize"
    assert not (data / "plan.json").exists()
    meta = load_profile(data).meta
    assert meta["interrupted"] is True and "Ctrl-C" in meta["notes"][0]
    assert any(f.function == "mod:f" for f in load_profile(data).functions)


def test_a_command_exiting_130_by_itself_is_not_an_interrupt(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["profile", "--no-measure", "--no-coverage", "--root", str(project), "--", sys.executable, "-c",
              "import sys; sys.exit(130)"])
    assert exc.value.code == 130
    assert load_profile(project / ".hybridize").meta["interrupted"] is False
    assert "no planning" not in capsys.readouterr().err


def test_a_second_profile_on_one_data_dir_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = project / ".hybridize"
    with exclusive(data, "profile.lock", "hybridize profile"):
        with pytest.raises(SystemExit) as exc:
            main(["profile", "--no-measure", "--root", str(project), "--", sys.executable, "-c", "pass"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "another `hybridize profile` is running on" in err
    assert not (data / "profile.db").exists()


def test_ctrl_c_while_planning_writes_the_plan_of_what_was_measured(project: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision for planning: a plan of what was measured before Ctrl-C, marked interrupted, exit 130."""
    import io

    from rich.console import Console

    from hybridize.plan import Plan
    from hybridize.planner import pipeline, session
    from hybridize.planner.candidates import Candidate
    from hybridize.planner.trials import FunctionResult, TrialResult
    from hybridize.project import Config

    (project / "script.py").write_text("import mod\n\nmod.f(1)\n")
    with pytest.raises(SystemExit):
        main(["profile", "--no-measure", "--no-coverage", "--root", str(project), "--", sys.executable,
              str(project / "script.py")])
    cand = Candidate("mod:f", "mod.py", 1, "convert", {"function": "mod:f", "tests": []}, None)
    monkeypatch.setattr(pipeline, "build_candidates", lambda *a, **k: ([cand], []))

    def run_trial(command: list[str], *, label: str, **kw: object) -> TrialResult:
        if label != "baseline":
            raise KeyboardInterrupt  # what the launcher raises when Ctrl-C stopped a trial run
        result = TrialResult(label, command, 0, 0.5)
        result.functions["mod:f"] = FunctionResult(calls=50, time_s=0.4, min_s=0.008)
        return result

    monkeypatch.setattr(session, "run_trial", run_trial)
    status = pipeline.run_after_profile(root=project, data_dir=project / ".hybridize", command=["python", "x.py"],
                                        perf_command=None, budget_s=None, scalene=False, config=Config(),
                                        console=Console(file=io.StringIO()))
    assert status == 130
    plan = Plan.load(project / ".hybridize" / "plan.json")
    assert plan.meta["interrupted"] is True
    assert any("interrupted" in n for n in plan.meta["notes"])
    assert [r.function for r in plan.rejected] == ["mod:f"] and not plan.recommendations
