"""Python 3.10/3.11: instrument the cells of project notebooks as a Jupyter kernel runs them.

The 3.11 back end instruments project files as they are imported; notebook cells are never imported, so the
cell's syntax tree gets the same function wrapping and line markers as a project module, through
``tracer/kernel.py``. The cell keeps its own line numbers (the user's tracebacks do not change); records
and line markers add the cell's offset in the notebook's virtual module.
"""

from __future__ import annotations

import ast

from hybridize.tracer.importhook import _Instrumenter, _ProjectTransformer
from hybridize.tracer.kernel import on_project_cells


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


def instrument_cell(nodes: list[ast.stmt], hooks: _Instrumenter, rel: str, offset: int) -> list[ast.stmt]:
    """The statements of a project notebook's cell, instrumented."""
    transformer = _ProjectTransformer(_Shifted(hooks, offset), rel)  # type: ignore[arg-type]
    out: list[ast.stmt] = []
    for node in nodes:
        new = transformer.visit(node)
        ast.fix_missing_locations(new)
        out.append(new)
    return out


def watch_ipython(hooks: _Instrumenter) -> None:
    """Instrument notebook cells in this process if it turns out to be a Jupyter kernel."""
    on_project_cells(hooks.rec.cells, lambda nodes, _name, rel, offset: instrument_cell(nodes, hooks, rel, offset),
                     hooks.rec.internal_error)
