"""Text from users and programs is printed as text: Rich markup in paths, commands, names or output is shown
literally, never parsed (``[/x]`` used to raise MarkupError, ``[red]`` vanished)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from hybridize.cli import main
from hybridize.plan import Plan, Recommendation, Rejection, Settings


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert isinstance(exc.value.code, int)
    return exc.value.code, out, err


@pytest.mark.parametrize("fmt", ["table", "markdown", "html", "json"])
def test_report_shows_markup_in_plan_text_literally(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # the wide layout puts the rejected file:line in its own cell
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    rec = Recommendation(rank=1, id=1, function="pkg.m:[red]f", file="pkg[/x]/m.py", line=3, action="convert",
                         decorator="@tf.function", settings=Settings(), confidence="[red]high",
                         evidence={"notes": ["[/x] from a test id [red]"]})
    rej = Rejection("pkg.m:g", "pkg[/x]/[red]m.py", 9, "baseline-failed", "perf said [/x] and [red]boom")
    Plan(recommendations=[rec], rejected=[rej], meta={"notes": ["[/x]"]}).save(tmp_path / ".hybridize" / "plan.json")
    code, out, err = run(["report", "--root", str(tmp_path), "--format", fmt], capsys)
    assert code == 0, err
    assert "[/x]" in out and "[red]boom" in out and "[red]high" in out


SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def test_markdown_and_html_escape_test_ids_names_and_numbers() -> None:
    from hybridize.planner.report import render_html, render_markdown

    rec = Recommendation(rank=1, id=1, function=f"m:f`{SCRIPT}", file=f"{IMG}.py", line=3, action="convert",
                         decorator="@tf.function", settings=Settings(), confidence=SCRIPT,
                         evidence={"tests": [f"t.py::test[{IMG}]"], "results_check": SCRIPT, "results_detail": IMG,
                                   "static_verdict": IMG, "notes": [SCRIPT], "assumptions": [IMG]})
    rej = Rejection(f"m:{SCRIPT}", IMG, 9, SCRIPT, f"test id t.py::test[{IMG}] failed")
    plan = Plan(recommendations=[rec], rejected=[rej], perf_command=["pytest", f"`{SCRIPT}"])
    md = render_markdown(plan)
    outside_code = re.sub(r"`[^`\n]*`", "", md)  # a code span shows HTML as text; nothing may leave one
    assert "<script" not in outside_code and "<img" not in outside_code and "`" not in outside_code
    # Numbers from a plan built in code (the loader refuses them in plan.json) are escaped as well.
    for field in ("rank", "line", "calls"):
        setattr(rec, field, SCRIPT)
    rej.line = IMG  # type: ignore[assignment]
    page = render_html(plan)
    assert "<script" not in page and "<img" not in page


def test_profile_prints_a_data_dir_and_command_with_markup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "proj[red]"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "mod.py").write_text("def f(x):\n    return x\n")
    (root / "script.py").write_text("import sys\n\nimport mod\n\nprint(mod.f(sys.argv[1]))\n")
    data = root / "data[/x][red]"
    code, out, err = run(["profile", "--no-measure", "--no-coverage", "--root", str(root), "--data-dir", str(data),
                          "--", sys.executable, str(root / "script.py"), "[/x]"], capsys)
    assert code == 0, err
    assert f"profile in {data}" in err.replace("\n", "")
    code, out, err = run(["functions", "--root", str(root), "--data-dir", str(data)], capsys)
    assert code == 0, err
    assert "mod:f" in out and "[/x]" in out


def test_perf_output_with_markup_still_writes_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A performance command that fails at baseline printing `[/x]`: the plan is written, the output shown as is."""
    import io

    from rich.console import Console

    from hybridize.planner import pipeline, session
    from hybridize.planner.candidates import Candidate
    from hybridize.planner.trials import TrialResult
    from hybridize.project import Config

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "mod.py").write_text("def f(x):\n    return x\n")
    (tmp_path / "script.py").write_text("import mod\n\nmod.f(1)\n")
    code, _, err = run(["profile", "--no-measure", "--no-coverage", "--root", str(tmp_path), "--", sys.executable,
                        str(tmp_path / "script.py")], capsys)
    assert code == 0, err
    cand = Candidate("mod:f", "mod.py", 1, "convert", {"function": "mod:f", "tests": []}, None)
    monkeypatch.setattr(pipeline, "build_candidates", lambda *a, **k: ([cand], []))

    def failing_run(command: list[str], *, work_dir: Path, label: str, **kw: object) -> TrialResult:
        (work_dir / label).mkdir(parents=True, exist_ok=True)
        (work_dir / label / "output.log").write_text("Error: the model said [/x] and [red]no\n")
        return TrialResult(label, command, 1, 0.5)

    monkeypatch.setattr(session, "run_trial", failing_run)
    out = io.StringIO()
    status = pipeline.run_after_profile(root=tmp_path, data_dir=tmp_path / ".hybridize", command=["python", "x.py"],
                                        perf_command=None, budget_s=None, scalene=False, config=Config(),
                                        console=Console(file=out, width=200))
    assert status == 1
    plan = Plan.load(tmp_path / ".hybridize" / "plan.json")
    assert "[/x] and [red]no" in plan.rejected[0].detail
    assert "[/x] and [red]no" in out.getvalue()
