"""Apply as a transaction: a process killed at any step of a multi-file apply is rolled back by the next command.

Each case forks a child that runs the apply and dies (``os._exit``, no cleanup, like kill -9) at one named
step, or is interrupted there (KeyboardInterrupt, like Ctrl-C); the parent then runs ``apply --undo`` or
``apply`` again without ``--force`` and checks every file, the backups and the temporary files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hybridize.errors import HybridizeError
from hybridize.plan import Plan, Recommendation, Settings, file_sha256
from hybridize.rewriter import apply as rw
from hybridize.rewriter import backup, journal

FILES = {f"pkg/m{i}.py": f"import tensorflow as tf\n\n\ndef f{i}(x):\n    return x + {i}\n" for i in range(3)}
STEPS = ["journal", *(f"backup {f}" for f in FILES), "manifest",
         *(s for f in FILES for s in (f"replace {f}", f"replaced {f}")), "state", "commit"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "pkg").mkdir()
    for rel, text in FILES.items():
        (tmp_path / rel).write_text(text)
    return tmp_path


def make_plan(root: Path) -> Plan:
    recs = [Recommendation(rank=i, id=i, function=f"pkg.m{i}:f{i}", file=rel, line=4, action="convert", decorator="",
                           settings=Settings(reduce_retracing=True)) for i, rel in enumerate(FILES)]
    return Plan(recommendations=recs, file_hashes={rel: file_sha256(root / rel) for rel in FILES})


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".hybridize" not in p.parts}


def die_at(root: Path, plan: Plan, at: str, *, in_rename: bool = False) -> None:
    """Run the apply in a forked child that exits abruptly at step ``at`` (``in_rename``: inside the atomic
    write of the next file, after its temporary file exists)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:
            def hook(name: str) -> None:
                if name != at:
                    return
                if not in_rename:
                    os._exit(9)

                def dying_replace(src: object, dst: object) -> None:
                    os._exit(9)
                os.replace = dying_replace  # type: ignore[assignment]

            journal.step_hook = hook
            rw.apply_plan(root, root / ".hybridize", plan)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, f"the child did not reach step {at!r}"


def expected_after(root: Path, plan: Plan) -> dict[str, bytes]:
    clone = {rel: data for rel, data in snapshot(root).items()}
    for rec in plan.recommendations:
        clone[rec.file] = FILES[rec.file].replace(f"def f{rec.id}", f"@tf.function(reduce_retracing=True)\ndef f{rec.id}"
                                                  ).encode()
    return clone


@pytest.mark.parametrize("at", STEPS)
def test_killed_apply_is_rolled_back_by_undo(project: Path, at: str) -> None:
    before = snapshot(project)
    plan = make_plan(project)
    die_at(project, plan, at)
    if at == "commit":  # killed after the last write but before the commit: still rolled back, never half
        assert snapshot(project) != before
    restored = rw.undo_last(project, project / ".hybridize")  # no --force needed
    assert snapshot(project) == before
    changed_before_kill = {"replaced", "state", "commit"}
    if at.split()[0] in changed_before_kill:
        assert restored
    assert not journal.journal_path(project / ".hybridize").exists()
    with pytest.raises(HybridizeError, match="nothing to undo"):
        rw.undo_last(project, project / ".hybridize")


@pytest.mark.parametrize("at", [s for s in STEPS if s.startswith("replace ")])
def test_killed_inside_a_rename_leaves_no_temp_file_after_recovery(project: Path, at: str) -> None:
    before = snapshot(project)
    plan = make_plan(project)
    die_at(project, plan, at, in_rename=True)
    assert any(p.name.endswith(".hybridize-tmp") for p in (project / "pkg").iterdir())
    result = rw.apply_plan(project, project / ".hybridize", plan)  # the next apply recovers, then applies
    assert result.recovered is not None and result.written
    assert [o.status for o in result.outcomes] == ["applied"] * len(FILES)
    assert snapshot(project) == expected_after(project, plan)
    assert not any(p.name.endswith(".hybridize-tmp") for p in (project / "pkg").iterdir())
    rw.undo_last(project, project / ".hybridize")
    assert snapshot(project) == before


@pytest.mark.parametrize("at", ["replaced pkg/m0.py", "replaced pkg/m1.py", "state"])
def test_rerun_apply_after_a_kill_is_not_stale(project: Path, at: str) -> None:
    plan = make_plan(project)
    die_at(project, plan, at)
    result = rw.apply_plan(project, project / ".hybridize", plan)
    assert result.recovered is not None and result.recovered.restored
    assert [o.status for o in result.outcomes] == ["applied"] * len(FILES)
    assert snapshot(project) == expected_after(project, plan)


def test_ctrl_c_mid_apply_restores_in_process(project: Path) -> None:
    before = snapshot(project)

    def hook(name: str) -> None:
        if name == "replaced pkg/m1.py":
            raise KeyboardInterrupt

    journal.step_hook = hook
    try:
        with pytest.raises(KeyboardInterrupt):
            rw.apply_plan(project, project / ".hybridize", make_plan(project))
    finally:
        journal.step_hook = None
    assert snapshot(project) == before
    assert not journal.journal_path(project / ".hybridize").exists()
    assert not any(p.name.endswith(".hybridize-tmp") for p in (project / "pkg").iterdir())


def test_io_error_names_the_file_that_failed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(project)
    real = backup.write_bytes_atomic

    def failing(path: Path, data: bytes, mode: int | None = None) -> None:
        if path.name == "m1.py" and data != FILES["pkg/m1.py"].encode():
            raise OSError(28, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(backup, "write_bytes_atomic", failing)
    with pytest.raises(HybridizeError, match=r"writing pkg/m1\.py failed \(No space left on device\); every file"):
        rw.apply_plan(project, project / ".hybridize", make_plan(project))
    assert snapshot(project) == before


def test_a_file_edited_after_the_crash_is_kept(project: Path) -> None:
    plan = make_plan(project)
    die_at(project, plan, "replaced pkg/m1.py")
    (project / "pkg/m0.py").write_text("# my edit\n")
    restored = rw.undo_last(project, project / ".hybridize")
    assert restored == ["pkg/m1.py"]
    assert (project / "pkg/m0.py").read_text() == "# my edit\n"
    assert (project / "pkg/m1.py").read_text() == FILES["pkg/m1.py"]


def test_cli_after_a_kill_diff_waits_and_undo_names_kept_files(project: Path, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    from hybridize.cli import main

    plan = make_plan(project)
    plan.save(project / ".hybridize" / "plan.json")
    die_at(project, plan, "replaced pkg/m1.py")
    (project / "pkg/m0.py").write_text("# my edit\n")
    with pytest.raises(SystemExit) as exc:
        main(["apply", "--diff", "--root", str(project)])
    assert exc.value.code == 2 and "an interrupted apply is pending" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["apply", "--undo", "--root", str(project)])
    out, err = capsys.readouterr()
    assert exc.value.code == 0
    assert out == "restored pkg/m1.py\n" and "kept pkg/m0.py (edited since" in err
