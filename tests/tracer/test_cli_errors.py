"""Every user error: one line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hybridize.cli import main
from hybridize.tracer.store import Aggregate, load_profile

from .conftest import PY, hybridize


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def one_line_error(code: int, err: str, needle: str) -> None:
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hybridize: error:") and needle in lines[0], err
    assert "Traceback" not in err


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_no_command_after_dashes(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(*run_cli(["profile", "--no-measure", "--"], capsys)[::2], "no command given")
    one_line_error(*run_cli(["profile", "--no-measure"], capsys)[::2], "no command given")


def test_test_command_from_config_when_none_given(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n\n[tool.hybridize]\n'
                                         'test-command = "no-such-test-runner-xyz -q"\n')
    one_line_error(*run_cli(["profile", "--no-measure"], capsys)[::2], "command not found: no-such-test-runner-xyz")


def test_command_not_found(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["profile", "--no-measure", "--", "no-such-program-xyz", "-q"], capsys)
    one_line_error(code, err, "command not found: no-such-program-xyz")
    code, _, err = run_cli(["profile", "--no-measure", "--", "./missing/prog"], capsys)
    one_line_error(code, err, "command not found")


def test_project_root_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["profile", "--no-measure", "--root", str(tmp_path / "nope"), "--", PY, "-c", "0"], capsys)
    one_line_error(code, err, "is not a directory")
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.chdir(bare)
    if not any((p / m).exists() for p in (bare, *bare.parents) for m in ("pyproject.toml", "setup.py", "setup.cfg", ".git")):
        code, _, err = run_cli(["functions"], capsys)
        one_line_error(code, err, "no project root found")


def test_data_dir_not_writable(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / "afile").write_text("x")
    code, _, err = run_cli(["profile", "--no-measure", "--data-dir", str(proj / "afile" / "data"), "--", PY, "-c", "0"],
                           capsys)
    one_line_error(code, err, "data dir")


def test_missing_and_old_profiles(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(*run_cli(["functions"], capsys)[::2], "no profile at")
    data = proj / ".hybridize"
    data.mkdir()
    con = sqlite3.connect(data / "profile.db")
    con.execute("PRAGMA user_version = 0")
    con.execute("CREATE TABLE functions (x)")
    con.commit()
    con.close()
    one_line_error(*run_cli(["functions", "--json"], capsys)[::2], "schema version 0")
    (data / "profile.db").write_bytes(b"\x00garbage" * 64)
    one_line_error(*run_cli(["functions"], capsys)[::2], "unreadable")


def test_combine_errors_and_corrupt_shards(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(*run_cli(["combine"], capsys)[::2], "nothing to combine")
    one_line_error(*run_cli(["combine", str(proj / "nowhere")], capsys)[::2], "no such file")
    shards = proj / "ci-shards"
    shards.mkdir()
    good = {"format": 1, "functions": [], "tests": {"t::a": "passed"}}
    (shards / "shard-1.json").write_text(json.dumps(good))
    (shards / "shard-2.json").write_text(json.dumps(good)[:10])
    other = proj / "other"
    other.mkdir()
    Aggregate(proj).write(other, {"command": ["pytest"], "exit_code": 0})
    code, out, err = run_cli(["combine", str(shards), str(other)], capsys)
    assert code == 0 and "combined 2 source(s)" in out
    assert "skipped a corrupt or truncated shard (shard-2.json" in err and "Traceback" not in err
    assert load_profile(proj / ".hybridize").meta["tests"] == {"t::a": "passed"}


def test_timeout_stops_the_whole_command(proj: Path) -> None:
    proc = hybridize("profile", "--no-measure", "--timeout", "2", "--", PY, "-c", "import time; time.sleep(60)", cwd=proj,
                     timeout=60)
    assert proc.returncode == 124, proc.stderr
    assert "timed out" in proc.stderr and "Traceback" not in proc.stderr
