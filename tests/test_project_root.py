"""Every command finds the project the same way (``hybridize.project.resolve_project_root``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridize.cli import main
from hybridize.errors import HybridizeError
from hybridize.project import resolve_project_root


def _bare(tmp_path: Path) -> Path:
    """A folder with no project marker at or above it (else the test means nothing)."""
    bare = tmp_path / "bare"
    bare.mkdir()
    if any((p / m).exists() for p in (bare, *bare.parents) for m in ("pyproject.toml", "setup.py", "setup.cfg", ".git")):
        pytest.skip("the temporary folder lies inside a project")
    return bare


def test_root_given_must_be_a_folder(tmp_path: Path) -> None:
    assert resolve_project_root(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(HybridizeError, match="is not a directory"):
        resolve_project_root(tmp_path / "missing")
    (tmp_path / "f.py").write_text("")
    with pytest.raises(HybridizeError, match="is not a directory"):
        resolve_project_root(tmp_path / "f.py")


def test_marker_above_the_start_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "pkg").mkdir()
    assert resolve_project_root(None, tmp_path / "pkg") == tmp_path.resolve()


def test_a_folder_of_just_a_script_or_just_a_notebook_is_a_project(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    with pytest.raises(HybridizeError, match="no project root found"):
        resolve_project_root(None, bare)
    (bare / "train.ipynb").write_text("{}")
    assert resolve_project_root(None, bare, start_is_project=True) == bare.resolve()
    (bare / "train.py").write_text("")
    assert resolve_project_root(None, bare) == bare.resolve()


@pytest.mark.parametrize("args", [["check"], ["apply"], ["report"], ["functions"],
                                  ["profile", "--no-measure", "--", "python", "-c", "0"]])
def test_every_command_refuses_a_missing_root_in_one_line(args: list[str], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([args[0], "--root", str(tmp_path / "missing"), *args[1:]])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert info.value.code != 0 and len(lines) == 1 and lines[0].startswith("hybridize: error:"), err
    assert "is not a directory" in lines[0]
