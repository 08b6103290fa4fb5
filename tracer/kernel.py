"""Jupyter kernels: run code of ours on the syntax tree of each project notebook cell before it executes.

A kernel compiles every cell itself (it is never imported), so import hooks cannot see notebook code. When
IPython's ``InteractiveShell`` module is imported in this process, its ``run_ast_nodes`` (which receives the
cell's statements *and* its file name, unlike ``ast_transformers``) is wrapped once; each registered transform
then sees the statements of the cells that belong to a project notebook (``tracer/cells.py``), with the
notebook's path and the cell's offset in its virtual module, and returns the statements to run. Users of it:
the 3.10/3.11 tracer (``kernel311``: instrumentation) and, later, trial runs (conversions placed as each
cell defines its functions). A transform that raises is reported to its ``on_error`` and skipped for that
cell: the cell always runs.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hybridize.tracer.cells import CellFiles

TARGET = "IPython.core.interactiveshell"

# (statements, cell file name, notebook path relative to the root, offset of the cell's lines) -> statements
CellTransform = Callable[[list[ast.stmt], str, str, int], list[ast.stmt]]


@dataclass
class _Entry:
    cells: CellFiles
    transform: CellTransform
    on_error: Callable[[BaseException], None]


_ENTRIES: list[_Entry] = []


def apply_transforms(nodes: list[ast.stmt], cell_name: str) -> list[ast.stmt]:
    """The cell's statements after every registered transform that claims this cell."""
    for entry in list(_ENTRIES):
        try:
            hit = entry.cells.lookup(cell_name)
            if hit is not None:
                nodes = entry.transform(list(nodes), cell_name, hit[0], hit[1])
        except Exception as exc:
            entry.on_error(exc)
    return nodes


def _patch(module: Any) -> None:
    shell = getattr(module, "InteractiveShell", None)
    original = getattr(shell, "run_ast_nodes", None)
    if shell is None or original is None or getattr(original, "__hybridize__", False):
        return

    async def run_ast_nodes(self: Any, nodelist: Any, cell_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            nodelist = apply_transforms(list(nodelist), cell_name)
        except Exception:  # pragma: no cover - apply_transforms reports its own errors
            pass
        return await original(self, nodelist, cell_name, *args, **kwargs)

    run_ast_nodes.__hybridize__ = True  # type: ignore[attr-defined]
    run_ast_nodes.__wrapped__ = original  # type: ignore[attr-defined]
    shell.run_ast_nodes = run_ast_nodes


class _Finder(importlib.abc.MetaPathFinder):
    """Patches ``InteractiveShell`` right after its module is executed (only processes that import IPython)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET:
            return None
        try:
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
        except Exception:
            return None
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            try:
                _patch(module)
            except Exception as exc:
                for entry in _ENTRIES:
                    entry.on_error(exc)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def on_project_cells(cells: CellFiles, transform: CellTransform, on_error: Callable[[BaseException], None]) -> None:
    """Register ``transform`` for the cells of ``cells``' notebooks, in this process, if it is a Jupyter kernel."""
    _ENTRIES.append(_Entry(cells, transform, on_error))
    module = sys.modules.get(TARGET)
    if module is not None:
        _patch(module)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
