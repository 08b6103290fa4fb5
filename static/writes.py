"""Side effects through assignment: writes to globals, nonlocals, attributes and items of objects the function
did not create (HY103-HY105). As a graph they happen once per trace, not once per call.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from hybridize.static.astutil import targets
from hybridize.static.index import dotted_name
from hybridize.static.names import CONSTRUCTOR_NAMES

if TYPE_CHECKING:
    from hybridize.static.state import FunctionState


def write_target(s: FunctionState, target: ast.expr, line: int) -> None:
    """An assignment / ``del`` target: a write to state the function does not own is reported (HY103-HY105)."""
    for t in targets(target):
        if isinstance(t, ast.Name):
            if t.id in s.scope.globals:
                s.report("HY103", line, f"global write: `{t.id}` is module state; the write happens once "
                                        f"per trace, not per call")
            elif t.id in s.scope.nonlocals:
                s.report("HY103", line, f"nonlocal write: `{t.id}` belongs to the enclosing function; the "
                                        f"write happens once per trace", closure_name=t.id)
        elif isinstance(t, ast.Attribute):
            root = s.outside_root(t.value)
            if root is not None and root == s.self_name and (
                    s.info.name in CONSTRUCTOR_NAMES or s.guarded_function or s.guard_depth):
                continue  # a constructor, or first-call initialisation (`@once`, `if self.w is None:`)
            if root is not None and memo(s, t):
                continue  # `if not f.checked: ... f.checked = True`: a run-once memo behaves the same
            if root is not None:
                what = "self" if root == s.self_name else f"`{root}`"
                s.report("HY104", line, f"attribute write `{ast.unparse(t)}` on {what} (not created here): "
                                        "set once per trace, later calls never update it",
                         closure_name=s.closure(root))
        elif isinstance(t, ast.Subscript):
            root = s.outside_root(t.value)
            if root is not None:
                s.report("HY105", line, f"item assignment `{ast.unparse(t)}` mutates `{root}` (not created "
                                        "here): happens once per trace", closure_name=s.closure(root))


def memo(s: FunctionState, target: ast.Attribute) -> bool:
    """Is this attribute write guarded by a test of the same attribute (a run-once memo)?"""
    text = dotted_name(target)
    if text is None:
        return False
    return any(dotted_name(n) == text for test in s.if_tests for n in ast.walk(test)
               if isinstance(n, ast.Attribute))


