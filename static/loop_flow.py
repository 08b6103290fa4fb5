"""Data flow of a loop region (issue #17): what a step extracted from it takes, returns and reads as globals.

Statement-level facts over ``ast`` (names read before written, names bound, names live after the region, the
enclosing scope's locals) used by ``loop_region.py`` to bound a region and by ``loops.py``'s callers through
``Region``. Conservative where it must guess: a name may be returned that is not needed, never the reverse.
"""

from __future__ import annotations

import ast

from hybridize.static.index import FuncInfo, dotted_name

LOOP_NODES = (ast.For, ast.While)
SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_TRY: tuple[type[ast.Try], ...] = (ast.Try, *((getattr(ast, "TryStar"),) if hasattr(ast, "TryStar") else ()))  # noqa: B009


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


def updated_names(stmt: ast.stmt) -> set[str]:
    """Names the statement reads before it writes them (``n += 1``, ``h = cell(x, h)``)."""
    read_first, written, _ = read_write_flow([stmt])
    return read_first & written


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


def read_write_flow(stmts: list[ast.stmt]) -> tuple[set[str], set[str], set[str]]:
    """(names read before being definitely assigned, names assigned, names definitely assigned at the end) over
    ``stmts`` in execution order. Comprehension and lambda variables are their own scope's."""
    flow = _Flow()
    definite = flow.block(stmts, set())
    return flow.read_first, flow.written, definite


class _Flow:
    """The walk behind :func:`read_write_flow`; ``defined`` is the set of names definitely bound so far."""

    def __init__(self) -> None:
        self.read_first: set[str] = set()
        self.written: set[str] = set()

    def expr(self, node: ast.AST | None, defined: set[str]) -> None:
        if node is None:
            return
        own: set[str] = set()  # bound by a comprehension or lambda inside this expression
        for sub in ast.walk(node):
            if isinstance(sub, ast.comprehension):
                own |= stored_names(sub.target)
            elif isinstance(sub, ast.Lambda):
                a = sub.args
                own |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in defined
                    and sub.id not in own):
                self.read_first.add(sub.id)

    def store(self, target: ast.AST, defined: set[str]) -> None:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                defined.add(sub.id)
                self.written.add(sub.id)
            elif isinstance(sub, (ast.Attribute, ast.Subscript)):
                self.expr(sub.value, defined)
                if isinstance(sub, ast.Subscript):
                    self.expr(sub.slice, defined)

    def block(self, body: list[ast.stmt], defined: set[str]) -> set[str]:
        for s in body:
            self.stmt(s, defined)
        return defined

    def stmt(self, s: ast.stmt, defined: set[str]) -> None:
        if isinstance(s, ast.Assign):
            self.expr(s.value, defined)
            for t in s.targets:
                self.store(t, defined)
        elif isinstance(s, ast.AugAssign):
            if isinstance(s.target, ast.Name) and s.target.id not in defined:
                self.read_first.add(s.target.id)
            self.expr(s.value, defined)
            self.store(s.target, defined)
        elif isinstance(s, ast.AnnAssign):
            self.expr(s.value, defined)
            if s.value is not None:
                self.store(s.target, defined)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                self.expr(item.context_expr, defined)
                if item.optional_vars is not None:
                    self.store(item.optional_vars, defined)
            self.block(s.body, defined)
        elif isinstance(s, (ast.If, ast.For, ast.AsyncFor, ast.While, *_TRY)):
            self.branches(s, defined)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(s.name)
            self.written.add(s.name)
        else:  # expression statements and the rest: reads only (walrus counts as a write)
            for sub in ast.walk(s):
                if isinstance(sub, ast.NamedExpr):
                    self.store(sub.target, defined)
            self.expr(s, defined)

    def branches(self, s: ast.stmt, defined: set[str]) -> None:
        """Statements whose bodies may not run: only what every path binds is definite afterwards."""
        if isinstance(s, ast.If):
            self.expr(s.test, defined)
            a = self.block(s.body, set(defined))
            b = self.block(s.orelse, set(defined))
            defined |= a & b
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self.expr(s.iter, defined)
            inner = set(defined)
            self.store(s.target, inner)
            self.block(s.body, inner)
            self.block(s.orelse, set(defined))  # the body may not run: nothing it binds is definite afterwards
        elif isinstance(s, ast.While):
            self.expr(s.test, defined)
            self.block(s.body, set(defined))
            self.block(s.orelse, set(defined))
        elif isinstance(s, _TRY):
            self.block(s.body, set(defined))
            for h in s.handlers:
                self.expr(h.type, defined)
                if h.name:
                    self.written.add(h.name)
                self.block(h.body, set(defined))
            self.block(s.orelse, set(defined))
            self.block(s.finalbody, defined)


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
