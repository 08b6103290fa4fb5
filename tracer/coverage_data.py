"""coverage.py's data, read back after a profiled command that ran under it (``pytest --cov``, ``coverage run``).

Two line-coverage measurements in one process fight over the trace function, so when the command measures coverage
itself the tracer's own line coverage is off; the per-candidate lines covered (and, with per-test contexts, the tests)
then come from the data file coverage.py wrote. ``coverage`` stays optional: without it nothing here is read.

Only data written by this run is used (a stale ``.coverage`` from an earlier run would describe other code), the
user's files are only read (parallel ``.coverage.*`` files are unioned here, never combined or erased), and any
failure to read them just leaves coverage unknown, as before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hybridize.project import relpath

_PHASES = ("|run", "|setup", "|teardown")  # pytest-cov's --cov-context=test suffixes


def measures_coverage(command: list[str], environ: Mapping[str, str]) -> bool:
    """Whether ``command`` runs under coverage.py: pytest-cov's ``--cov``, ``coverage run``, ``python -m coverage``."""
    if any(a == "--cov" or a.startswith("--cov=") for a in command) or "COV_CORE_SOURCE" in environ:
        return True
    names = [Path(a).name for a in command[:4]]
    for i, name in enumerate(names):
        if name.startswith("coverage") and i + 1 < len(command) and command[i + 1] == "run":
            return True
        if name == "-m" and i + 2 < len(command) and command[i + 1] == "coverage" and command[i + 2] == "run":
            return True
    return False


@dataclass
class CoverageRead:
    """What coverage.py measured, keyed by project-relative file."""

    lines: dict[str, set[int]] = field(default_factory=dict)
    tests: dict[str, dict[int, set[str]]] = field(default_factory=dict)  # file -> line -> pytest node ids
    files: list[str] = field(default_factory=list)  # the data files read (absolute)


def data_files(cwd: Path, environ: Mapping[str, str]) -> list[Path]:
    """The data file coverage.py writes (``COVERAGE_FILE``, else the configured ``data_file``, else ``.coverage``,
    relative to the command's folder) and its parallel siblings ``<name>.*``."""
    name = environ.get("COVERAGE_FILE")
    if not name:
        name = _configured_data_file() or ".coverage"
    base = Path(name) if Path(name).is_absolute() else cwd / name
    found = [base] if base.is_file() else []
    if base.parent.is_dir():
        found += sorted(p for p in base.parent.glob(base.name + ".*") if p.is_file() and not p.name.endswith("-journal"))
    return found


def _configured_data_file() -> str | None:
    """``data_file`` from the coverage configuration of the working folder (the command's: it runs in ours)."""
    try:
        import coverage
    except ImportError:
        return None
    try:
        config = coverage.Coverage(config_file=True, data_file=None).config  # reads .coveragerc / setup.cfg / pyproject
    except Exception:
        return None
    value = getattr(config, "data_file", None)
    return None if not value or value == ".coverage" else str(value)


def read_coverage(root: Path, cwd: Path, environ: Mapping[str, str], since: float) -> CoverageRead | None:
    """The project's executed lines (and per-test contexts) from data files written at or after ``since``; None when
    coverage.py is not installed or wrote nothing in this run."""
    try:
        from coverage import CoverageData
    except ImportError:
        return None
    fresh = [p for p in data_files(cwd, environ) if _mtime(p) >= since - 1.0]
    if not fresh:
        return None
    out = CoverageRead()
    root = root.resolve()
    for path in fresh:
        try:
            data = CoverageData(basename=str(path), no_disk=False)
            data.read()
            contexts = {c for c in data.measured_contexts() if c}
            for measured in data.measured_files():
                full = Path(measured)
                if not full.is_absolute():
                    full = cwd / full
                rel = relpath(full, root)
                if rel.startswith("..") or not rel.endswith(".py"):
                    continue
                executed = data.lines(measured) or []
                out.lines.setdefault(rel, set()).update(executed)
                if contexts:
                    by_line = out.tests.setdefault(rel, {})
                    for line, names in data.contexts_by_lineno(measured).items():
                        ids = {_node_id(n) for n in names}
                        by_line.setdefault(line, set()).update(i for i in ids if i)
        except Exception:  # a corrupt, locked or newer-format file: coverage stays unknown for it
            continue
        out.files.append(str(path))
    return out if out.files else None


def _node_id(context: str) -> str:
    """A pytest node id from a ``--cov-context=test`` context (``tests/t.py::test_a|run``); "" for other contexts
    (``coverage run --dynamic-context`` names functions, not tests the planner could match)."""
    for phase in _PHASES:
        if context.endswith(phase):
            context = context[: -len(phase)]
    return context if "::" in context else ""


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
