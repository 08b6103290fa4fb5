"""coverage.py interop: a profiled command that measures coverage itself (`pytest --cov`, `coverage run`) keeps
per-function line coverage (and per-test contexts) in the profile, read back from coverage.py's data file."""

from __future__ import annotations

import os
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest

from hybridize.tracer.coverage_data import measures_coverage, read_coverage
from hybridize.tracer.store import load_profile

from .conftest import PY, hybridize

pytest.importorskip("pytest_cov")

MOD = """
def half(x):
    if x > 100:
        return -1
    return x / 2


def unused(x):
    return x
"""
TEST = """
from covpkg.mod import half


def test_half():
    assert half(4) == 2


def test_half_again():
    assert half(6) == 3
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'covpkg'\n[tool.pytest.ini_options]\npythonpath = ['.']\n")
    (tmp_path / "covpkg").mkdir()
    (tmp_path / "covpkg" / "__init__.py").write_text("")
    (tmp_path / "covpkg" / "mod.py").write_text(textwrap.dedent(MOD))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text(textwrap.dedent(TEST))
    return tmp_path


def test_pytest_cov_keeps_coverage_and_tests_in_the_profile(tmp_path: Path) -> None:
    root = project(tmp_path)
    proc = hybridize("profile", "--no-measure", "--", PY, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     "--cov=covpkg", "--cov-context=test", "tests", cwd=root)
    assert proc.returncode == 0, proc.stderr
    prof = load_profile(root / ".hybridize")
    half = prof.by_name()["covpkg.mod:half"]
    # the `return -1` branch never ran: 2 of the 3 statements (coverage.py's numbers, not the tracer's, which is off)
    assert (half.lines_covered, half.lines_total) == (2, 3)
    assert prof.meta["coverage"] is True and prof.meta["coverage_files"][0].endswith(".coverage")
    assert set(half.tests) >= {"tests/test_mod.py::test_half", "tests/test_mod.py::test_half_again"}
    assert (root / ".coverage").is_file()  # the user's data is left where it was


def test_coverage_data_is_read_only_when_fresh_and_parallel_files_are_unioned(tmp_path: Path) -> None:
    coverage = pytest.importorskip("coverage")
    root = project(tmp_path)
    mod = str(root / "covpkg" / "mod.py")
    for suffix, lines in (("a", [3, 5]), ("b", [4])):
        data = coverage.CoverageData(basename=str(root / ".coverage"), suffix=suffix)
        data.add_lines({mod: lines})
        data.write()
    read = read_coverage(root, root, {}, since=time.time() - 5)
    assert read is not None and read.lines == {"covpkg/mod.py": {3, 4, 5}} and len(read.files) == 2
    assert read_coverage(root, root, {}, since=time.time() + 60) is None  # stale: an earlier run's data
    os.rename(root / ".coverage.a", root / "custom.cov")
    assert read_coverage(root, root, {"COVERAGE_FILE": "custom.cov"}, since=0).lines == {  # type: ignore[union-attr]
        "covpkg/mod.py": {3, 5}}
    (root / "broken.cov").write_bytes(b"not sqlite")
    assert read_coverage(root, root, {"COVERAGE_FILE": "broken.cov"}, since=0) is None
    with sqlite3.connect(root / "custom.cov") as con:  # still readable by coverage.py: nothing rewrote it
        assert con.execute("select count(*) from file").fetchone()[0] == 1


def test_which_commands_measure_coverage() -> None:
    assert measures_coverage(["pytest", "--cov=pkg", "tests"], {})
    assert measures_coverage(["pytest", "--cov", "tests"], {})
    assert measures_coverage(["coverage", "run", "-m", "pytest"], {})
    assert measures_coverage([PY, "-m", "coverage", "run", "-m", "pytest"], {})
    assert measures_coverage(["pytest"], {"COV_CORE_SOURCE": "pkg"})
    assert not measures_coverage(["pytest", "tests/test_coverage.py"], {})
    assert not measures_coverage(["coverage", "report"], {})
