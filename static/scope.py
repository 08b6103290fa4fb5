"""The scope model of one function: what its body binds, and which of those names alias outside objects.

A name is *outside* when it is a parameter, a free (closure / global) name, or a local bound to one of those
without a call in between (``x = self.buf``, ``for item in items``): writes through it mutate state the
function does not own. Names created inside (``buf = []``, call results) are not.
"""

from __future__ import annotations

import ast

from hybridize.static.astutil import FastVisitor, root_name, root_passes_calls, targets
from hybridize.static.model import Param
from hybridize.static.names import BUILTINS

Binding = tuple[str, ast.AST | None]  # (how, value): how in assign / unpack / aug / iter / with / fresh / def / import


class Scope(FastVisitor):
    """Pre-pass: names bound in the function (excluding nested defs), globals/nonlocals declared."""

    def __init__(self) -> None:
        self.bound: dict[str, list[Binding]] = {}  # name -> [(how, value)]
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.yields: list[int] = []
        self.loads: set[str] = set()
        self.calls: list[ast.Call] = []
        self.lines: dict[str, list[int]] = {}  # parallel to ``bound``: the line of each binding
        self.self_attrs: list[tuple[str, ast.expr, int]] = []  # self.X = value

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(node)
        self.generic_visit(node)

    def _self_attr(self, target: ast.AST, value: ast.expr | None, line: int) -> None:
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self" \
                and value is not None:
            self.self_attrs.append((target.attr, value, line))

    def _add(self, name: str, how: str, value: ast.AST | None, line: int) -> None:
        self.bound.setdefault(name, []).append((how, value))
        self.lines.setdefault(name, []).append(line)

    def bind(self, target: ast.AST, how: str, value: ast.AST | None) -> None:
        for t in targets(target):
            if isinstance(t, ast.Name):
                self._add(t.id, how, value, t.lineno)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._add(node.name, "def", None, node.lineno)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._add(node.name, "def", None, node.lineno)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._add(node.name, "def", None, node.lineno)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
            self._add(a.arg, "fresh", None, node.lineno)
        self.visit(node.body)

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._self_attr(t, node.value, node.lineno)
            if isinstance(t, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) \
                    and len(t.elts) == len(node.value.elts):
                for te, ve in zip(t.elts, node.value.elts, strict=True):
                    self.bind(te, "assign", ve)
            else:
                self.bind(t, "assign" if isinstance(t, ast.Name) else "unpack", node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.bind(node.target, "assign", node.value)
        self._self_attr(node.target, node.value, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._self_attr(node.target, node.value, node.lineno)
        if isinstance(node.target, ast.Name):
            self._add(node.target.id, "aug", None, node.lineno)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.bind(node.target, "assign", node.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self.bind(node.target, "iter", node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.bind(node.target, "fresh", None)
        self.generic_visit(node)

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self.bind(node.optional_vars, "with", node.context_expr)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._add(node.name, "fresh", None, node.lineno)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._add((a.asname or a.name).split(".")[0], "import", None, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            self._add(a.asname or a.name, "import", None, node.lineno)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.nonlocals.update(node.names)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.yields.append(node.lineno)
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.yields.append(node.lineno)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)


def param_list(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[Param]:
    a = node.args
    out: list[Param] = []
    positional = a.posonlyargs + a.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, default in zip(positional, defaults, strict=True):
        out.append(_param(arg, "positional", default))
    if a.vararg:
        out.append(_param(a.vararg, "var-positional", None))
    for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(_param(arg, "keyword-only", kw_default))
    if a.kwarg:
        out.append(_param(a.kwarg, "var-keyword", None))
    return out


def _param(arg: ast.arg, kind: str, default: ast.expr | None) -> Param:
    value = None
    if isinstance(default, ast.Constant) and isinstance(default.value, (int, float, str, bool)):
        value = default.value
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else None
    return Param(name=arg.arg, kind=kind, has_default=default is not None, default=value, annotation=ann)


def classify_names(scope: Scope, params: list[Param], local_names: set[str]
                   ) -> tuple[set[str], dict[str, list[tuple[int, bool]]]]:
    """outside = parameters, free names, and locals that alias them; fresh = created inside. Also, per binding of
    each name, (line, aliases outside?), for a flow-sensitive-enough answer at a given line."""
    param_names = {p.name for p in params}
    outside = {p.name for p in params if p.kind not in ("var-positional", "var-keyword")}
    bound = scope.bound
    outside |= {n for n in scope.loads if n not in local_names and n not in BUILTINS}
    outside |= scope.globals | scope.nonlocals
    for _ in range(3):
        changed = False
        for name, bindings in bound.items():
            if name in outside or name in param_names:
                continue
            for how, value in bindings:
                if _aliases(how, value, outside):
                    outside.add(name)
                    changed = True
                    break
        if not changed:
            break
    flags: dict[str, list[tuple[int, bool]]] = {}
    for name, bindings in bound.items():
        marks = []
        for (how, value), line in zip(bindings, scope.lines[name], strict=True):
            if how == "aug":
                continue  # `x += ...` keeps what x was
            marks.append((line, _aliases(how, value, outside)))
        flags[name] = marks
    return outside, flags


def _aliases(how: str, value: ast.AST | None, outside: set[str]) -> bool:
    """Does this binding make the name refer to an outside object (no call between it and the outside root)?"""
    if how in ("iter", "unpack", "with") and value is not None:
        return root_name(value) in outside and not (how == "iter" and isinstance(value, ast.Call)
                                                    and not isinstance(value.func, ast.Attribute))
    if how == "assign" and isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
        return root_name(value) in outside and not root_passes_calls(value)
    return False
