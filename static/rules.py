"""Per-function rules: what in one function's own body would behave differently as a graph.

``FunctionRules`` walks one body in source order and hands each construct to its rule family: ``writes``
(assignments), ``control`` (loops, branches, try/raise/assert), ``calls`` (calls by name, call-graph edges),
``methods`` (method calls, computed callees), ``effects`` (library and builtin calls). What they share -- the
names (``scope``), the tensors (``tensors``), the guards around the current statement and the findings -- is one
``FunctionState``; the API tables are in ``names``. Nested functions and classes are analysed as functions of
their own; anonymous lambdas are part of the body they appear in. Interprocedural propagation is in
``propagate``, verdicts in ``engine``.
"""

from __future__ import annotations

import ast

from hybridize.static.astutil import FastVisitor
from hybridize.static.calls import call
from hybridize.static.control import (
    assert_check,
    control,
    for_header,
    function_findings,
    is_guard,
    isinstance_containers,
    loop_is_tensor,
    raise_check,
    return_check,
    try_check,
)
from hybridize.static.facts import Edge, FuncFacts
from hybridize.static.index import FuncInfo, Index, dotted_name
from hybridize.static.state import FunctionState
from hybridize.static.variables import creates_variables
from hybridize.static.writes import write_target

__all__ = ["Edge", "FuncFacts", "FunctionRules", "analyse_function", "creates_variables"]


class FunctionRules(FastVisitor):
    """The walk over one function body that emits findings and call edges (in source order)."""

    def __init__(self, index: Index, info: FuncInfo) -> None:
        self.s = FunctionState(index, info)

    def prepare(self) -> None:
        """Pre-pass (run for every function before any ``run``): names, and ``self.X = ...`` for the class."""
        self.s.prepare()

    def run(self) -> FuncFacts:
        s = self.s
        s.setup()
        function_findings(s)
        for stmt in s.body:
            self.visit(stmt)
        facts = s.facts
        for p in facts.params:
            if p.kind in ("var-positional", "var-keyword"):
                facts.assume(f"{'*' if p.kind == 'var-positional' else '**'}{p.name}: the kinds of forwarded "
                             "arguments are unknown (treated as possibly tensors)")
        return facts

    # ----- definitions and scopes ----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        from hybridize.static.decorators import tf_function_call

        for dec in node.decorator_list:
            if tf_function_call(dec, self.s.mod)[0]:
                self.s.facts.nested_hybrid.append((node.name, node.lineno))

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        return

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)  # anonymous lambdas run as part of this body (tf.map_fn(lambda ...))

    def visit_Global(self, node: ast.Global) -> None:
        return

    # ----- assignments ---------------------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            write_target(self.s, t, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        write_target(self.s, node.target, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            write_target(self.s, node.target, node.lineno)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            if isinstance(t, (ast.Subscript, ast.Attribute)):
                write_target(self.s, t, node.lineno)
        self.generic_visit(node)

    # ----- control flow --------------------------------------------------------------------------------------
    def visit_For(self, node: ast.For) -> None:
        s = self.s
        for_header(s, node)
        self.visit(node.iter)
        s.loops.append((node, loop_is_tensor(s, node)))
        for stmt in node.body:
            self.visit(stmt)
        s.loops.pop()
        for stmt in node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_While(self, node: ast.While) -> None:
        s = self.s
        control(s, node.test)
        s.shape_use(node.test, node.lineno, "`while` condition")
        self.visit(node.test)
        s.loops.append((node, loop_is_tensor(s, node)))
        for stmt in node.body:
            self.visit(stmt)
        s.loops.pop()
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_Return(self, node: ast.Return) -> None:
        return_check(self.s, node)
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        s = self.s
        control(s, node.test)
        s.shape_use(node.test, node.lineno, "`if` condition")
        self.visit(node.test)
        guard = is_guard(node.test)
        s.if_tests.append(node.test)
        s.guard_depth += guard
        containers = isinstance_containers(node.test)  # Python containers in the body, not tensors
        saved = (s.tensors, s.strong_tensors)
        if containers:
            s.tensors, s.strong_tensors = s.tensors - containers, s.strong_tensors - containers
        for stmt in node.body:
            self.visit(stmt)
        s.tensors, s.strong_tensors = saved
        s.if_tests.pop()
        for stmt in node.orelse:
            self.visit(stmt)
        s.guard_depth -= guard

    def visit_IfExp(self, node: ast.IfExp) -> None:
        control(self.s, node.test)
        self.s.shape_use(node.test, node.lineno, "conditional expression")
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        assert_check(self.s, node)
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        raise_check(self.s, node)
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        try_check(self.s, node)
        self.generic_visit(node)

    visit_TryStar = visit_Try  # type: ignore[assignment]

    # ----- expressions ---------------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        s = self.s
        if node.attr in ("trainable_variables", "trainable_weights") and isinstance(node.ctx, ast.Load) \
                and dotted_name(node.value) is not None \
                and not s.guarded_function:
            recv = dotted_name(node.value) or ast.unparse(node.value)
            called = any(text in (recv, f"{recv}.__call__", f"{recv}.call") and line <= node.lineno
                         for line, text in s.called_texts)
            if not called:
                s.report("HY308", node.lineno, f"`{recv}.{node.attr}` is read before `{recv}` is called in this "
                                               "function: a lazily built model has no variables at trace time")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        # Arguments first: nested calls happen before this one (matters for "called before" checks).
        for arg in node.args:
            self.visit(arg)
        for kw in node.keywords:
            self.visit(kw.value)
        if isinstance(node.func, ast.Attribute):
            self.visit(node.func.value)
        elif not isinstance(node.func, ast.Name):
            self.visit(node.func)
        text = dotted_name(node.func)
        if text is not None:
            self.s.called_texts.append((node.lineno, text))
        call(self.s, node)


def analyse_function(index: Index, info: FuncInfo) -> FuncFacts:
    """One function alone (tests); the engine runs ``prepare`` on all functions first."""
    rules = FunctionRules(index, info)
    rules.prepare()
    return rules.run()
