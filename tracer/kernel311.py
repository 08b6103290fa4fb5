"""Python 3.10/3.11: instrument the cells of project notebooks as a Jupyter kernel runs them.

The 3.11 back end instruments project files as they are imported; notebook cells are never imported, the
kernel compiles them itself. So when IPython's ``InteractiveShell`` is imported in this process, its
``run_ast_nodes`` (which receives each cell's syntax tree and its file name) is wrapped: the tree of a cell
of a project notebook (``tracer/cells.py``) gets the same function wrapping and line markers as a project
module. The cell's own line numbers are kept (the user's tracebacks do not change); records and line
markers add the cell's offset in the notebook's virtual module. Never raises into the kernel: any error is
counted and the cell runs uninstrumented.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

from hybridize.tracer.instrument311 import _Instrumenter, _ProjectTransformer

TARGET = "IPython.core.interactiveshell"


class _Shifted:
    """The hooks seen by the transformer of one cell: line markers name the notebook's virtual-module lines."""

    def __init__(self, hooks: _Instrumenter, offset: int) -> None:
        self.hooks = hooks
        self.offset = offset
        self.lines = hooks.lines

    def new_line(self, rel: str, line: int) -> int:
        return self.hooks.new_line(rel, line + self.offset)

    def new_slot(self) -> int:
        return self.hooks.new_slot()


def instrument_cell(nodes: Sequence[ast.stmt], cell_name: str, hooks: _Instrumenter) -> list[ast.stmt]:
    """The cell's statements, instrumented when the cell belongs to a project notebook (else unchanged)."""
    rel = hooks.rec.project_relpath(cell_name)
    if rel is None or not rel.endswith(".ipynb"):
        return list(nodes)
    transformer = _ProjectTransformer(_Shifted(hooks, hooks.rec.cells.offset(cell_name)), rel)  # type: ignore[arg-type]
    out: list[ast.stmt] = []
    for node in nodes:
        new = transformer.visit(node)
        ast.fix_missing_locations(new)
        out.append(new)
    return out


def _patch(module: Any, hooks: _Instrumenter) -> None:
    shell = getattr(module, "InteractiveShell", None)
    original = getattr(shell, "run_ast_nodes", None)
    if shell is None or original is None or getattr(original, "__hybridize__", False):
        return

    async def run_ast_nodes(self: Any, nodelist: Any, cell_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            nodelist = instrument_cell(nodelist, cell_name, hooks)
        except Exception as exc:
            hooks.rec.internal_error(exc)
        return await original(self, nodelist, cell_name, *args, **kwargs)

    run_ast_nodes.__hybridize__ = True  # type: ignore[attr-defined]
    run_ast_nodes.__wrapped__ = original  # type: ignore[attr-defined]
    shell.run_ast_nodes = run_ast_nodes


class _Finder(importlib.abc.MetaPathFinder):
    """Patches ``InteractiveShell`` right after its module is executed (only in processes that import IPython)."""

    def __init__(self, hooks: _Instrumenter) -> None:
        self.hooks = hooks

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET:
            return None
        try:
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
        except Exception as exc:
            self.hooks.rec.internal_error(exc)
            return None
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module
        hooks = self.hooks

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            try:
                _patch(module, hooks)
            except Exception as exc:
                hooks.rec.internal_error(exc)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def watch_ipython(hooks: _Instrumenter) -> None:
    """Instrument notebook cells in this process if it turns out to be a Jupyter kernel."""
    module = sys.modules.get(TARGET)
    if module is not None:
        _patch(module, hooks)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(hooks))
