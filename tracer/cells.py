"""Notebook cells seen from inside a Jupyter kernel: which project notebook a cell's code came from.

A kernel (ipykernel >= 6, which nbconvert, nbclient and papermill start) compiles each cell under a file
name of its own, ``/tmp/ipykernel_<pid>/<hash>.py``, where the hash is of the cell's source text. Those
files are not project files, so without this map the tracer would ignore every notebook function. The
project's notebooks are read once, on the first cell file seen: each code cell's file name is computed with
ipykernel's own function (same process, same pid), and, as a fallback, the cell text is matched against
the source the kernel compiled (``linecache``). A cell file then maps to the notebook's path and to the
offset of the cell in the notebook's virtual module (``hybridize.notebook``), so records carry the same
identity and line numbers as the static analysis: ``nb.ipynb:train_step``, line ``marker + line in cell``.
"""

from __future__ import annotations

import fnmatch
import linecache
import os
import tokenize
from collections.abc import Callable
from pathlib import Path

from hybridize.errors import HybridizeError
from hybridize.notebook import SUFFIX, build_source, parse_notebook

_SKIP = {"site-packages", "dist-packages", "node_modules", "__pycache__", "build", "dist"}
MAX_NOTEBOOKS = 2000  # a folder of generated notebooks must not stall the first traced cell


def is_cell_file(filename: str) -> bool:
    """Cheap test for ipykernel's cell file names (``.../ipykernel_<pid>/<digits>.py``)."""
    return filename.endswith(".py") and os.path.basename(os.path.dirname(filename)).startswith("ipykernel_")


class CellFiles:
    """Maps kernel cell files to (notebook path relative to the root, line offset); built lazily, once."""

    def __init__(self, root: Path, include: list[str] | None = None, exclude: list[str] | None = None) -> None:
        self.root = Path(root)
        self.include = include or [str(self.root)]
        self.exclude = list(exclude or [])
        self._by_name: dict[str, tuple[str, int]] | None = None
        self._by_text: dict[str, tuple[str, int]] = {}
        self._found: dict[str, tuple[str, int] | None] = {}

    def lookup(self, filename: str) -> tuple[str, int] | None:
        """(notebook relpath, offset to add to a line of the cell) for a cell file of a project notebook."""
        if not is_cell_file(filename):
            return None
        if filename in self._found:
            return self._found[filename]
        if self._by_name is None:
            self._build()
        assert self._by_name is not None
        hit = self._by_name.get(filename)
        if hit is None:
            text = "".join(linecache.getlines(filename))
            hit = self._by_text.get(text.rstrip("\n")) if text else None
        self._found[filename] = hit
        return hit

    def relpath(self, filename: str) -> str | None:
        hit = self.lookup(filename)
        return hit[0] if hit is not None else None

    def offset(self, filename: str) -> int:
        """What to add to a line number of ``filename`` to get its line in the file the record names (0 if none)."""
        hit = self._found.get(filename) if is_cell_file(filename) else None
        return hit[1] if hit is not None else 0

    def _build(self) -> None:
        self._by_name = {}
        get_file_name: Callable[[str], str] | None = None
        try:
            from ipykernel.compiler import get_file_name
        except Exception:  # no ipykernel (or an old one): text matching only
            pass
        for path in self._notebooks():
            try:
                src = build_source(parse_notebook(path.read_bytes(), path.name))
            except Exception:
                continue  # unreadable or not a notebook: the static analysis reports it
            rel = path.relative_to(self.root).as_posix()
            for span in src.cells:
                raw = src.sources[span.index]
                entry = (rel, span.marker)
                self._by_text.setdefault(raw.rstrip("\n"), entry)
                if get_file_name is not None:
                    try:
                        self._by_name.setdefault(get_file_name(raw), entry)
                    except Exception:
                        pass

    def _notebooks(self) -> list[Path]:
        out: list[Path] = []
        for start in self.include:
            if start.endswith(SUFFIX) and os.path.isfile(start):  # `paths = ["nb.ipynb"]` in the config
                out.append(Path(start))
                continue
            for dirpath, dirnames, filenames in os.walk(start):
                dirnames[:] = sorted(d for d in dirnames if d not in _SKIP and not d.startswith(".")
                                     and not d.startswith("venv"))
                for fn in sorted(filenames):
                    if not fn.endswith(SUFFIX):
                        continue
                    path = Path(dirpath) / fn
                    rel = os.path.relpath(path, self.root).replace(os.sep, "/")
                    if rel.startswith("..") or any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.rstrip("/") + "/*")
                                                   for p in self.exclude):
                        continue
                    out.append(path)
                    if len(out) >= MAX_NOTEBOOKS:
                        return out
        return out


def module_text(path: Path) -> str:
    """The text line numbers refer to: the file's, or a notebook's virtual module (for the store's def lines)."""
    if path.name.endswith(SUFFIX):
        try:
            return build_source(parse_notebook(path.read_bytes(), path.name)).text
        except HybridizeError as exc:
            raise ValueError(str(exc)) from None
    with tokenize.open(path) as fh:  # the file's own encoding (a `# -*- coding: latin-1 -*-` cookie, a BOM)
        return fh.read()
