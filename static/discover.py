"""Which files static analysis reads: ``.py`` files and notebooks under the given paths, minus excludes and tool
folders (version control, caches, virtual environments, build output)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from hybridize.project import relpath
from hybridize.static.notebooks import is_source_file

SKIP_DIRS = {".git", ".hg", ".svn", ".hybridize", "__pycache__", "node_modules", "site-packages", ".tox", ".nox",
             "build", "dist", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".eggs"}


def discover(root: Path, paths: list[Path] | None, exclude: list[str] | tuple[str, ...]) -> list[Path]:
    """The .py files and notebooks to analyse: ``paths`` (files or folders) or the whole root, minus excludes."""
    root = root.resolve()
    starts = [p if p.is_absolute() else (root / p) for p in (paths or [root])]
    files: list[Path] = []
    seen: set[Path] = set()
    patterns = list(exclude)

    def excluded(path: Path) -> bool:
        rel = relpath(path, root)
        return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*") for pat in patterns)

    for start in starts:
        start = start.resolve()
        if start.is_file():
            if start not in seen and not excluded(start):
                seen.add(start)
                files.append(start)
            continue
        if not start.is_dir():
            from hybridize.errors import HybridizeError

            raise HybridizeError(f"no such file or folder: {start}")
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                                 and not d.startswith("venv") and not excluded(Path(dirpath) / d))
            for fn in sorted(filenames):
                if is_source_file(fn):
                    p = Path(dirpath) / fn
                    if p not in seen and not excluded(p):
                        seen.add(p)
                        files.append(p)
    return files
