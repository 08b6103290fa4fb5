"""Data flow of a loop region (issue #17): what a step extracted from it takes, returns and reads as globals.

Built on statement-level facts over ``ast``: ``loop_names.py`` (names bound and read, the enclosing scope's
locals) and ``loop_assign.py`` (names read before written); this module adds what is live after the region.
Used by ``loop_region.py`` to bound a region and by ``loops.py``'s callers through ``Region``. Conservative where
it must guess: a name may be returned that is not needed, never the reverse. The statement-level names are
re-exported here for ``loop_region.py``.
"""

from __future__ import annotations

import ast

from hybridize.static.index import FuncInfo
from hybridize.static.loop_assign import read_write_flow, updated_names
from hybridize.static.loop_names import (
    LOOP_NODES,
    SCOPE_NODES,
    bound_names,
    child_bodies,
    function_locals,
    jump_in,
    loaded_names,
    module_binding_kinds,
    step_counters,
    stored_names,
    walk_scope,
)

__all__ = ["LOOP_NODES", "SCOPE_NODES", "bound_names", "child_bodies", "data_flow", "function_locals", "jump_in",
           "live_after", "loaded_names", "module_binding_kinds", "read_write_flow", "step_counters", "stored_names",
           "stores_outside", "updated_names", "walk_scope"]


def data_flow(module_body: list[ast.stmt], stmts: list[ast.stmt], func: FuncInfo | None
              ) -> tuple[list[str], list[str], list[str]]:
    """``(params, returns, globals)`` of a region moved into a module-level step: names read before written that
    are bound in the script or an enclosing function come in, names it writes that are read later go out."""
    read_first, written, definite = read_write_flow(stmts)
    params: list[str] = []
    globals_: list[str] = []
    if func is None:
        kinds = module_binding_kinds(module_body)
        for name in sorted(read_first):
            k = kinds.get(name, set())
            if k and not k <= {"import", "def"}:
                params.append(name)
            else:
                globals_.append(name)
    else:
        local = function_locals(func)
        for name in sorted(read_first):
            (params if name in local else globals_).append(name)
    scope_body = module_body if func is None or isinstance(func.node, ast.Lambda) else func.node.body
    returns = sorted(live_after(scope_body, stmts, written))
    # A returned name the region may leave unassigned (set under an `if`) must come in too, so the step hands
    # back its old value; when nothing outside the region binds it, there is no old value to pass.
    outside = stores_outside(scope_body, stmts)
    if func is not None and not isinstance(func.node, ast.Lambda):
        a = func.node.args
        outside |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
    maybe = [n for n in returns if n not in definite and n not in params and n in outside]
    params = sorted([*params, *maybe])
    return params, returns, globals_


Path_ = tuple[tuple[int, int], ...]  # (id of a statement list, index in it) from the scope's body down


def live_after(scope_body: list[ast.stmt], region: list[ast.stmt], written: set[str]) -> set[str]:
    """The names of ``written`` whose value from the region can be read afterwards: later in the loop body, in the
    next iteration, after the loop, or by a nested function (always counted). A read is not ours when a store
    outside the region dominates it structurally (straight-line order in a common block, a ``for`` target, a
    ``with ... as``) and lies between the region and the read. Conservative: ``break``/exceptions are ignored, so
    a name may be returned that is not needed, never the reverse."""
    last = region[-1]
    end = (last.end_lineno or last.lineno, last.end_col_offset or 0)
    uses = _Uses(region, written)
    uses.walk(scope_body, ())
    live: set[str] = set()
    for name in written:
        for pos, path, nested in uses.loads.get(name, []):
            if nested:
                live.add(name)
                break
            stores = uses.stores.get(name, [])
            if pos > end:
                killed = any(end < spos < pos and _dominates(sp, path) for spos, sp in stores)
            else:  # before the region: read in a later iteration of a loop holding both
                loop = next((lp for lp in uses.loops if lp[0] <= pos <= lp[1]), None)
                if loop is None:
                    continue
                killed = any(loop[0] <= spos < pos and _dominates(sp, path) for spos, sp in stores)
            if not killed:
                live.add(name)
                break
    return live


def _dominates(store: Path_, load: Path_) -> bool:
    """Does the statement at path ``store`` run before ``load`` on every path (a later spot of a common block)?"""
    *head, (lst, idx) = store
    return (len(load) > len(head) and list(load[:len(head)]) == head and load[len(head)][0] == lst
            and load[len(head)][1] > idx)


class _Uses:
    """Loads and stores of ``written`` outside the region, with their positions and paths, and the loops around it."""

    def __init__(self, region: list[ast.stmt], written: set[str]) -> None:
        self.region = region
        self.region_ids = {id(s) for s in region}
        self.written = written
        self.loads: dict[str, list[tuple[tuple[int, int], Path_, bool]]] = {}  # name -> (pos, path, in nested def)
        self.stores: dict[str, list[tuple[tuple[int, int], Path_]]] = {}
        self.loops: list[tuple[tuple[int, int], tuple[int, int], Path_]] = []  # enclosing loops: (start, end, path)

    def walk(self, body: list[ast.stmt], path: Path_) -> None:
        for i, stmt in enumerate(body):
            if id(stmt) in self.region_ids:
                continue
            here = (*path, (id(body), i))
            pos = (stmt.lineno, stmt.col_offset)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                for name in _free_loads(stmt) & self.written:
                    self.loads.setdefault(name, []).append((pos, here, True))
                if not isinstance(stmt, ast.Lambda):
                    self.stores.setdefault(stmt.name, []).append((pos, here))
                continue
            bodies = child_bodies(stmt)
            self.names(stmt, bodies, pos, here)
            if isinstance(stmt, (ast.For, ast.While, ast.AsyncFor)) and _contains(stmt, self.region[0]):
                self.loops.append((pos, (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0), here))
            for b in bodies:
                self.walk(b, here)

    def names(self, stmt: ast.stmt, bodies: list[list[ast.stmt]], pos: tuple[int, int], here: Path_) -> None:
        """The statement's own loads and stores of ``written`` (not those of its nested bodies)."""
        inner = {id(n) for b in bodies for s in b for n in ast.walk(s)}
        for n in ast.walk(stmt):
            if id(n) in inner or not isinstance(n, ast.Name) or n.id not in self.written:
                continue
            if isinstance(n.ctx, ast.Load):
                self.loads.setdefault(n.id, []).append((pos, here, False))
            elif isinstance(n.ctx, ast.Store):
                binder = isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith))
                # a for target / with-as binds before its body runs: it dominates the body, not what follows
                spot = (*here, (id(stmt.body), -1)) if binder else here  # type: ignore[attr-defined]
                self.stores.setdefault(n.id, []).append(((pos[0], pos[1] + 1) if binder else pos, spot))


def _free_loads(node: ast.AST) -> set[str]:
    """Names a def / class / lambda reads from outside: loads minus each function's own parameters and locals
    (approximate: a name local to any function inside counts as local there)."""
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = sub.args
            local = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
            body = [sub.body] if isinstance(sub, ast.Lambda) else sub.body
            declared: set[str] = set()
            for n in (m for b in body for m in ast.walk(b)):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    local.add(n.id)
                elif isinstance(n, (ast.Global, ast.Nonlocal)):
                    declared.update(n.names)
            local -= declared
            out |= {n.id for b in body for n in ast.walk(b)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in local}
        elif isinstance(sub, ast.ClassDef):
            out |= {n.id for b in sub.body if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for n in ast.walk(b) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            out |= {n.id for d in [*sub.bases, *sub.decorator_list] for n in ast.walk(d) if isinstance(n, ast.Name)}
    return out


def stores_outside(scope_body: list[ast.stmt], region: list[ast.stmt]) -> set[str]:
    skip = {id(s) for s in region}
    out: set[str] = set()
    todo: list[ast.AST] = list(scope_body)
    while todo:
        node = todo.pop()
        if id(node) in skip:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        if not isinstance(node, SCOPE_NODES):
            todo.extend(ast.iter_child_nodes(node))
        elif not isinstance(node, ast.Lambda):
            out.add(node.name)
    return out


def _contains(outer: ast.stmt, inner: ast.stmt) -> bool:
    return any(n is inner for n in ast.walk(outer))
