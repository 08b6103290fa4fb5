"""Definite assignment over a run of statements (issue #17): which names are read before being written.

A name read before it is surely bound must be passed into an extracted step; a name bound only on some paths is
not definite afterwards, so ``loop_flow.py`` also passes in its old value.
"""

from __future__ import annotations

import ast

from hybridize.static.loop_names import stored_names

_TRY: tuple[type[ast.Try], ...] = (ast.Try, *((getattr(ast, "TryStar"),) if hasattr(ast, "TryStar") else ()))  # noqa: B009


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


def updated_names(stmt: ast.stmt) -> set[str]:
    """Names the statement reads before it writes them (``n += 1``, ``h = cell(x, h)``)."""
    read_first, written, _ = read_write_flow([stmt])
    return read_first & written
