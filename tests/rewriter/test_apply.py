"""apply_plan / undo_last / the CLI on throwaway projects: every gate, backups, undo, verify."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from hybridize.cli import main
from hybridize.errors import HybridizeError
from hybridize.plan import Plan, Recommendation, Settings, file_sha256
from hybridize.rewriter import apply as rw
from hybridize.rewriter import backup, edits, source

MOD = b"import tensorflow as tf\r\n\r\n\r\ndef f(x):\r\n    return x * 2\r\n\r\n\r\n@tf.function\r\ndef g(x):\r\n    return x"
OTHER = "import tensorflow as tf\n\n\ndef h(x):  # caf\u00e9\n    return x\n"


def rec(id: int, function: str, file: str = "pkg/mod.py", action: str = "convert", **settings: object) -> Recommendation:
    return Recommendation(rank=id, id=id, function=function, file=file, line=1, action=action,  # type: ignore[arg-type]
                          decorator="", settings=Settings(**settings))  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_bytes(MOD)
    os.chmod(pkg / "mod.py", 0o754)
    (pkg / "other.py").write_text(OTHER, encoding="utf-8")
    return tmp_path


def make_plan(root: Path, recs: list[Recommendation]) -> Plan:
    hashes = {p: file_sha256(root / p) for p in ("pkg/mod.py", "pkg/other.py")}
    return Plan(recommendations=recs, file_hashes=hashes, project_root=str(root))


def apply(root: Path, plan: Plan, **kw: object) -> rw.ApplyResult:
    return rw.apply_plan(root, root / ".hybridize", plan, **kw)  # type: ignore[arg-type]


def test_apply_edits_keep_crlf_mode_and_undo_restores_bytes(project: Path) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f", reduce_retracing=True), rec(2, "pkg.mod:g", action="dehybridize"),
                               rec(3, "pkg.other:h", file="pkg/other.py", jit_compile=True)])
    result = apply(project, plan)
    assert [o.status for o in result.outcomes] == ["applied"] * 3 and result.written
    mod = project / "pkg/mod.py"
    assert mod.read_bytes() == (b"import tensorflow as tf\r\n\r\n\r\n@tf.function(reduce_retracing=True)\r\ndef f(x):\r\n"
                                b"    return x * 2\r\n\r\n\r\ndef g(x):\r\n    return x")
    assert stat.S_IMODE(mod.stat().st_mode) == 0o754
    want_other = OTHER.replace("def h", "@tf.function(jit_compile=True)\ndef h")
    assert (project / "pkg/other.py").read_text(encoding="utf-8") == want_other
    assert "+@tf.function(reduce_retracing=True)" in result.diff and "-@tf.function\n" in result.diff
    assert not list(project.glob("pkg/.*tmp"))  # no temporary files left behind

    again = apply(project, plan)  # a second apply of the same plan: not stale, nothing to do
    assert [o.status for o in again.outcomes] == ["unchanged"] * 3 and not again.written

    assert sorted(rw.undo_last(project, project / ".hybridize")) == ["pkg/mod.py", "pkg/other.py"]
    assert mod.read_bytes() == MOD and stat.S_IMODE(mod.stat().st_mode) == 0o754
    assert (project / "pkg/other.py").read_text(encoding="utf-8") == OTHER
    with pytest.raises(HybridizeError, match="nothing to undo"):
        rw.undo_last(project, project / ".hybridize")


def test_successive_applies_undo_in_reverse_order(project: Path) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.other:h", file="pkg/other.py")])
    apply(project, plan, ids=[1])
    after_first = (project / "pkg/mod.py").read_bytes()
    second = apply(project, plan, ids=[2])
    assert second.written and second.changed_files == ["pkg/other.py"]
    assert rw.undo_last(project, project / ".hybridize") == ["pkg/other.py"]
    assert (project / "pkg/mod.py").read_bytes() == after_first
    assert rw.undo_last(project, project / ".hybridize") == ["pkg/mod.py"]
    assert (project / "pkg/mod.py").read_bytes() == MOD


def test_stale_file_is_refused_and_the_rest_applied(project: Path) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.other:h", file="pkg/other.py")])
    (project / "pkg/other.py").write_text(OTHER + "# edited\n", encoding="utf-8")
    result = apply(project, plan)
    assert [(o.id, o.status, o.code) for o in result.outcomes] == [(1, "applied", ""), (2, "refused", "stale")]
    assert "changed since the plan was made" in result.outcomes[1].message
    assert (project / "pkg/other.py").read_text(encoding="utf-8") == OTHER + "# edited\n"


def test_strict_applies_nothing_when_anything_is_refused(project: Path) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.mod:gone")])
    result = apply(project, plan, strict=True)
    assert not result.written and [o.code for o in result.refused] == ["function-missing"]
    assert (project / "pkg/mod.py").read_bytes() == MOD
    assert not (project / ".hybridize/backups").exists()


@pytest.mark.parametrize(("file", "code"), [
    ("../outside.py", "outside-root"),
    ("/etc/hostname", "outside-root"),
    ("pkg/missing.py", "file-missing"),
])
def test_paths_outside_or_missing_are_refused(project: Path, file: str, code: str) -> None:
    (project.parent / "outside.py").write_text("def f(x):\n    return x\n")
    plan = make_plan(project, [rec(1, "m:f", file=file)])
    plan.file_hashes[file] = "0" * 64
    result = apply(project, plan)
    assert [o.code for o in result.refused] == [code]
    assert (project.parent / "outside.py").read_text() == "def f(x):\n    return x\n"


def test_symlink_leaving_the_root_is_refused(project: Path) -> None:
    target = project.parent / "elsewhere.py"
    target.write_text("def f(x):\n    return x\n")
    (project / "pkg/link.py").symlink_to(target)
    plan = make_plan(project, [rec(1, "pkg.link:f", file="pkg/link.py")])
    plan.file_hashes["pkg/link.py"] = file_sha256(target)
    assert [o.code for o in apply(project, plan).refused] == ["outside-root"]


def test_unparsable_file_and_missing_hash_are_refused(project: Path) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.other:h", file="pkg/other.py")])
    (project / "pkg/mod.py").write_bytes(b"def f(:\n")
    plan.file_hashes["pkg/mod.py"] = file_sha256(project / "pkg/mod.py")
    del plan.file_hashes["pkg/other.py"]
    result = apply(project, plan)
    assert [(o.id, o.code) for o in result.refused] == [(1, "parse-error"), (2, "no-hash")]
    assert all("\n" not in o.message for o in result.refused)
    assert not result.written


def test_unwritable_file_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_access = os.access
    target = project / "pkg/mod.py"
    monkeypatch.setattr(source.os, "access", lambda p, m: False if Path(p) == target else real_access(p, m))
    result = apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert [o.code for o in result.refused] == ["not-writable"] and target.read_bytes() == MOD


def test_diff_only_writes_nothing(project: Path) -> None:
    result = apply(project, make_plan(project, [rec(1, "pkg.mod:f")]), diff_only=True)
    assert not result.written and (project / "pkg/mod.py").read_bytes() == MOD
    assert result.diff.startswith("--- a/pkg/mod.py\n+++ b/pkg/mod.py\n")
    assert "+@tf.function\n" in result.diff and "\r" not in result.diff


def test_selection_by_top_and_id(project: Path) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.other:h", file="pkg/other.py"), rec(3, "pkg.mod:g")])
    assert [r.id for r in rw.select(plan, None, 2)] == [1, 2]
    assert [r.id for r in rw.select(plan, [3, 1], None)] == [1, 3]
    with pytest.raises(HybridizeError, match="no recommendation with id 9"):
        rw.select(plan, [9], None)


def test_undo_refuses_when_the_file_was_edited_after_apply(project: Path) -> None:
    apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    mod = project / "pkg/mod.py"
    mod.write_bytes(mod.read_bytes() + b"\r\n# mine\r\n")
    with pytest.raises(HybridizeError, match="changed since that apply"):
        rw.undo_last(project, project / ".hybridize")
    assert mod.read_bytes().endswith(b"# mine\r\n")
    rw.undo_last(project, project / ".hybridize", force=True)
    assert mod.read_bytes() == MOD


def test_verify_undoes_a_failing_apply(project: Path) -> None:
    data = project / ".hybridize"
    apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert rw.verify(project, data, [sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert (project / "pkg/mod.py").read_bytes() == MOD
    apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert rw.verify(project, data, [sys.executable, "-c", "pass"]) == 0
    assert (project / "pkg/mod.py").read_bytes() != MOD


def test_verify_undoes_when_the_command_is_missing_or_runs_past_its_timeout(project: Path) -> None:
    data = project / ".hybridize"
    apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert rw.verify(project, data, ["surely-not-a-program-here"]) == 127
    assert (project / "pkg/mod.py").read_bytes() == MOD
    apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert rw.verify(project, data, [sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=1) == 124
    assert (project / "pkg/mod.py").read_bytes() == MOD


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_cli_diff_apply_verify_undo(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.other:h", file="pkg/other.py")])
    plan.save(project / ".hybridize" / "plan.json")
    root = ["--root", str(project)]
    rc, out, _ = _cli(["apply", *root, "--top", "1", "--diff"], capsys)
    assert rc == 0 and "+@tf.function" in out and "would apply #1" in out
    assert (project / "pkg/mod.py").read_bytes() == MOD

    rc, out, err = _cli(["apply", *root, "--id", "2", "--verify", "--", sys.executable, "-c", "raise SystemExit(1)"], capsys)
    assert rc == 1 and "undone" in err
    assert (project / "pkg/other.py").read_text(encoding="utf-8") == OTHER

    rc, out, _ = _cli(["apply", *root, "--json"], capsys)
    assert rc == 0 and json.loads(out)["changed_files"] == ["pkg/mod.py", "pkg/other.py"]
    rc, out, _ = _cli(["apply", *root, "--undo"], capsys)
    assert rc == 0 and "restored pkg/mod.py" in out
    assert (project / "pkg/mod.py").read_bytes() == MOD

    rc, _, err = _cli(["apply", *root, "--id", "7"], capsys)
    assert rc == 2 and err.startswith("hybridize: error: no recommendation with id 7") and "Traceback" not in err
    rc, _, err = _cli(["apply", *root, "pytest"], capsys)
    assert rc == 2 and "needs --verify" in err
    rc, _, err = _cli(["apply", "--root", str(project), "--plan", str(project / "nope.json")], capsys)
    assert rc == 2 and "no plan at" in err


def test_cli_reports_refusals_with_nonzero_status(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.mod:gone")])
    plan.save(project / ".hybridize" / "plan.json")
    rc, _, err = _cli(["apply", "--root", str(project), "--strict"], capsys)
    assert rc == 1 and "refused   #2 convert pkg.mod:gone" in err and "nothing written" in err
    assert (project / "pkg/mod.py").read_bytes() == MOD


def test_unified_diff_marks_a_missing_final_newline() -> None:
    diff = rw.unified_diff("m.py", b"def f(x):\r\n    return x", b"@tf.function\r\ndef f(x):\r\n    return x")
    assert diff == ("--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,3 @@\n+@tf.function\n def f(x):\n     return x\n"
                    "\\ No newline at end of file\n")


def test_absolute_path_inside_the_root_is_backed_up_under_its_relative_name(project: Path) -> None:
    absolute = str(project / "pkg" / "mod.py")
    plan = make_plan(project, [rec(1, "pkg.mod:f", file=absolute)])
    plan.file_hashes[absolute] = file_sha256(project / "pkg/mod.py")
    result = apply(project, plan)
    assert result.written and result.changed_files == ["pkg/mod.py"]
    assert (Path(result.backup or "") / "files" / "pkg" / "mod.py").read_bytes() == MOD
    assert [o.status for o in apply(project, plan).outcomes] == ["unchanged"]
    assert rw.undo_last(project, project / ".hybridize") == ["pkg/mod.py"]
    assert (project / "pkg/mod.py").read_bytes() == MOD


def test_a_second_concurrent_apply_is_refused(project: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    data = project / ".hybridize"
    data.mkdir()
    with open(data / rw.LOCK_FILE, "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(HybridizeError, match="another `hybridize apply` is running"):
            apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert (project / "pkg/mod.py").read_bytes() == MOD
    assert apply(project, make_plan(project, [rec(1, "pkg.mod:f")])).written


def test_a_rewriter_bug_refuses_one_recommendation(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(edits, "dehybridize", boom)
    result = apply(project, make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.mod:g", action="dehybridize")]))
    assert [(o.id, o.status, o.code) for o in result.outcomes] == [(1, "applied", ""), (2, "refused", "internal")]


def test_a_failed_write_restores_every_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = backup.write_bytes_atomic
    calls: list[Path] = []

    def flaky(path: Path, data: bytes, mode: int | None = None) -> None:
        calls.append(path)
        if path == project / "pkg" / "other.py":
            raise OSError(28, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(backup, "write_bytes_atomic", flaky)
    plan = make_plan(project, [rec(1, "pkg.mod:f"), rec(2, "pkg.other:h", file="pkg/other.py")])
    with pytest.raises(HybridizeError, match="every file was restored"):
        apply(project, plan)
    assert (project / "pkg/mod.py").read_bytes() == MOD
    assert (project / "pkg/other.py").read_text(encoding="utf-8") == OTHER
    assert not list((project / ".hybridize/backups").iterdir())
    assert project / "pkg" / "mod.py" in calls  # it was written, then put back


def test_a_failed_backup_changes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "write_bytes_atomic_mkdir", no_space)
    with pytest.raises(HybridizeError, match=r"cannot save backups.*nothing was changed"):
        apply(project, make_plan(project, [rec(1, "pkg.mod:f")]))
    assert (project / "pkg/mod.py").read_bytes() == MOD
    assert not list((project / ".hybridize/backups").iterdir())
