"""Helpers: analyse small source snippets written into a throw-away project."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridize.static import Analysis, FunctionReport, analyze


def write_project(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'snip'\n")
    for name, src in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(src))


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Analysis]:
    def run(files: dict[str, str] | str) -> Analysis:
        write_project(tmp_path, {"mod.py": files} if isinstance(files, str) else files)
        return analyze(tmp_path)

    return run


@pytest.fixture
def fn(project: Callable[..., Analysis]) -> Callable[[str, str], FunctionReport]:
    """``fn(src, "qualname")`` -> the report of ``mod:qualname``."""

    def run(src: str, qualname: str) -> FunctionReport:
        analysis = project(src)
        report = analysis.get(f"mod:{qualname}")
        assert report is not None, [f.function for f in analysis.functions]
        return report

    return run
