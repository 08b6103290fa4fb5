"""Where the project is, where our data goes, and ``[tool.hybridize]`` configuration."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    tomllib = None

DATA_DIR_NAME = ".hybridize"
# A folder hybridize already keeps its data in is a project too (a folder of notebooks profiled as `hybridize profile nb.ipynb`).
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git", DATA_DIR_NAME)


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding a project marker; without one, ``start`` itself when it
    holds Python files (a folder of scripts, a notebook-style ``train.py``, is a project too)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    if any(here.glob("*.py")):
        return here
    raise HybridizeError(
        f"no project root found at or above {here} (looked for {', '.join(ROOT_MARKERS)}, and no .py file is in it); use --root"
    )


def resolve_project_root(root: str | Path | None, start: Path | None = None, *, start_is_project: bool = False) -> Path:
    """The project root every command works in: ``--root`` when given (it must be a folder), else the one found
    at or above ``start`` (default: the current folder). ``start_is_project``: a folder with no project marker and
    no .py file is still the project (a folder holding just a notebook)."""
    if root is not None:
        path = Path(root)
        if not path.is_dir():
            raise HybridizeError(f"project root {root} is not a directory")
        return path.resolve()
    try:
        return find_project_root(start)
    except HybridizeError:
        if start_is_project and start is not None:
            return start.resolve()
        raise


@dataclass
class Config:
    """``[tool.hybridize]`` of the project's pyproject.toml; every key optional."""

    paths: list[str] = field(default_factory=list)  # source folders/files to consider (default: whole root)
    exclude: list[str] = field(default_factory=list)  # glob patterns relative to the root
    perf_command: list[str] | None = None
    test_command: list[str] | None = None
    budget_s: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def load_config(root: Path) -> Config:
    path = root / "pyproject.toml"
    if tomllib is None or not path.is_file():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HybridizeError(f"cannot read {path}: {exc}") from None
    section = data.get("tool", {}).get("hybridize", {})
    if not isinstance(section, dict):
        raise HybridizeError(f"[tool.hybridize] in {path} must be a table")

    def as_cmd(value: Any) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            import shlex

            return shlex.split(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise HybridizeError(f"[tool.hybridize] commands must be a string or a list of strings, got {value!r}")

    budget = section.get("budget")
    return Config(
        paths=list(section.get("paths", [])),
        exclude=list(section.get("exclude", [])),
        perf_command=as_cmd(section.get("perf-command", section.get("perf_command"))),
        test_command=as_cmd(section.get("test-command", section.get("test_command"))),
        budget_s=float(budget) if budget is not None else None,
        raw=section,
    )


def data_dir(root: Path, override: Path | None = None, create: bool = False) -> Path:
    """The folder for profiles, plans and undo data; checked writable when ``create`` is set."""
    path = (override if override is not None else root / DATA_DIR_NAME).resolve()
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HybridizeError(f"cannot create data dir {path}: {exc.strerror}") from None
        if not os.access(path, os.W_OK):
            raise HybridizeError(f"data dir {path} is not writable")
    return path


def relpath(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with POSIX separators (the identity's ``file``)."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()
