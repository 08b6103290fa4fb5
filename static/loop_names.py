"""Statement-level name facts of a loop body (issue #17): what a statement binds, reads and jumps out with.

Shared by ``loop_region.py`` (which statements must stay in the loop) and ``loop_flow.py`` (what a region takes
and returns). Scopes are Python's: nested functions, classes and lambdas are not walked into.
"""

from __future__ import annotations

import ast

from hybridize.static.index import FuncInfo, dotted_name

LOOP_NODES = (ast.For, ast.While)
SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def walk_scope(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of ``body`` without descending into nested functions, classes or lambdas."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(reversed(body))
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, SCOPE_NODES):
            continue
        todo.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def child_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    out: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            out.append(value)
    for handler in getattr(stmt, "handlers", []) or []:
        out.append(handler.body)
    for case in getattr(stmt, "cases", []) or []:
        out.append(case.body)
    return out


def jump_in(stmt: ast.stmt) -> str:
    """The first return/break/continue/yield/await of this loop's level inside ``stmt`` (nested loops excluded)."""
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return):
            return "return"
        if isinstance(node, (ast.Break, ast.Continue)):
            return "break" if isinstance(node, ast.Break) else "continue"
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            return type(node).__name__.lower().replace("yieldfrom", "yield from")
        if isinstance(node, SCOPE_NODES):
            continue
        if isinstance(node, (*LOOP_NODES, ast.AsyncFor)) and node is not stmt:
            # break/continue inside a nested loop belong to it; return/yield still leave ours
            todo.extend(n for n in ast.walk(node) if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)))
            continue
        todo.extend(ast.iter_child_nodes(node))
    return ""


def stored_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def bound_names(stmt: ast.stmt) -> set[str]:
    """Names the statement binds in its own scope (assignments, ``with ... as``, walrus, nested defs' names)."""
    out: set[str] = set()
    for node in walk_scope([stmt]):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def loaded_names(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def step_counters(loop: ast.For | ast.While) -> set[str]:
    """Loop variables that are Python ints changing every step: ``for i in range(...)``, ``for i, b in enumerate``."""
    if not isinstance(loop, ast.For) or not isinstance(loop.iter, ast.Call):
        return set()
    fn = dotted_name(loop.iter.func)
    if fn == "range" and isinstance(loop.target, ast.Name):
        return {loop.target.id}
    if fn == "enumerate" and isinstance(loop.target, ast.Tuple) and loop.target.elts:
        first = loop.target.elts[0]
        return {first.id} if isinstance(first, ast.Name) else set()
    return set()


def module_binding_kinds(body: list[ast.stmt]) -> dict[str, set[str]]:
    """Module-level name -> how it is bound ("import", "def" for defs and classes, "value" otherwise)."""
    kinds: dict[str, set[str]] = {}
    for node in walk_scope(body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                kinds.setdefault((a.asname or a.name).split(".")[0], set()).add("import")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kinds.setdefault(node.name, set()).add("def")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            kinds.setdefault(node.id, set()).add("value")
    return kinds


def function_locals(func: FuncInfo) -> set[str]:
    """Names local to ``func`` or any function enclosing it (they become parameters of a module-level step)."""
    out: set[str] = set()
    f: FuncInfo | None = func
    while f is not None:
        node = f.node
        args = node.args
        out |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        out |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        if not isinstance(node, ast.Lambda):
            declared: set[str] = set()
            for sub in walk_scope(node.body):
                if isinstance(sub, ast.Global):
                    declared.update(sub.names)
            for stmt in node.body:
                out |= bound_names(stmt)
            out -= declared
        f = f.parent
    return out
