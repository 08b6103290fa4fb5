"""Definition-time placement of the trial conversions inside a Jupyter kernel (notebook targets).

A kernel compiles each cell itself, so neither the import hook nor ``runmain`` sees notebook code. Instead the
trial hook registers a cell transform with :mod:`hybridize.tracer.kernel`: before a project cell runs, its
statements get the same placement decorator scripts get (:mod:`hybridize.planner.placement`), so a function is
wrapped as its cell defines it; a later cell finds the wrapped function, and a cell that redefines it is wrapped
again. The decorator is put in the kernel's user namespace (where cell code resolves its globals), and notebook
targets (``nb.ipynb:train_step``) never reach ``importlib``.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path
from typing import Any

from hybridize.identity import FunctionId
from hybridize.planner import placement

SUFFIX = ".ipynb"


def notebook_modules(state: Any) -> list[str]:
    """The target modules that are notebooks (named by their path relative to the root)."""
    return [m for m in state.targets if m.endswith(SUFFIX)]


def _user_namespace() -> dict[str, Any] | None:
    """The namespace cell code runs in (the kernel shell's), or None outside a kernel."""
    get_ipython = getattr(builtins, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    ns = getattr(shell, "user_ns", None)
    return ns if isinstance(ns, dict) else None


def transform_for(state: Any) -> Any:
    """The cell transform: the placement decorator on each target ``def`` of a project notebook's cell."""

    def transform(nodes: list[ast.stmt], cell_name: str, notebook: str, offset: int) -> list[ast.stmt]:
        qualnames = [FunctionId.qualname_of(str(t["function"])) for t in state.targets.get(notebook, [])]
        if not qualnames:
            return nodes
        ns = _user_namespace()
        if ns is None:
            return nodes
        placer = placement._Placer(qualnames)
        tree = placer.visit(ast.Module(body=list(nodes), type_ignores=[]))
        if not placer.placed and not placer.skipped:
            return nodes
        ns[placement.DECORATOR] = placement.decorator(state, notebook)
        state.placed.update(FunctionId.format_name(notebook, q) for q in placer.placed)
        for qualname, why in placer.skipped.items():
            message = f"{FunctionId.format_name(notebook, qualname)}: {why}"
            if message not in state.hook_errors:
                state.hook_errors.append(message)
        return list(tree.body)

    return transform


def install(state: Any) -> None:
    """Register the cell transform when some targets live in notebooks (a no-op in a process with no kernel)."""
    if not notebook_modules(state):
        return
    from hybridize.tracer.cells import CellFiles
    from hybridize.tracer.kernel import on_project_cells

    config = state.config
    root = Path(str(config.get("root") or "."))
    cells = CellFiles(root, config.get("include"), config.get("exclude"))

    def on_error(exc: BaseException) -> None:
        state.hook_errors.append(f"notebook cell placement: {type(exc).__name__}: {exc}")

    on_project_cells(cells, transform_for(state), on_error)
