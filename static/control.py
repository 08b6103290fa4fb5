"""Control flow that AutoGraph converts differently from Python: loops over tensors (HY205), ``return`` in a tensor
loop (HY303), ``try`` around tensor ops (HY304), ``raise`` under a tensor condition (HY305), ``assert`` on a tensor
(HY204), static shapes in conditions (HY206, in ``state``); and which parameters drive Python control flow. Also
the findings about the function as a whole (generators HY301, set-up methods HY310, a Keras ``call`` HY311).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from hybridize.static.names import SETUP_METHODS, is_keras_class

if TYPE_CHECKING:
    from hybridize.static.state import FunctionState


def function_findings(s: FunctionState) -> None:
    """What the function is, before what its body does."""
    info = s.info
    facts = s.facts
    if info.cls is not None and info.name in SETUP_METHODS:
        facts.add("HY310", info.line, f"`{info.name}` sets up the object: as a tf.function it would run "
                                      "once per input signature, so later objects stay half-built")
    if info.cls is not None and info.name == "call" and any(is_keras_class(b) for b in s.index.all_bases(info.cls)):
        facts.add("HY311", info.line, f"`{info.qualname}` is the `call` of a Keras layer/model: "
                                      "convert the function that calls the model instead")
    for line in s.scope.yields[:1]:
        facts.add("HY301", line, "generator: `yield` makes this a generator, which AutoGraph refuses")


def loop_is_tensor(s: FunctionState, node: ast.For | ast.AsyncFor | ast.While) -> bool:
    """A loop AutoGraph turns into a tf.while_loop (over tf.range or a tensor condition)."""
    if isinstance(node, ast.While):
        return s.tensorish(node.test)
    it = node.iter
    if isinstance(it, ast.Call):
        fq = s.resolve_func(it.func)
        if fq == "tensorflow.range":
            return True
    return s.tensorish(it)


def is_guard(test: ast.expr) -> bool:
    """`if self.w is None:`, `if not self.built:`: first-call initialisation follows."""
    text = ast.unparse(test)
    return ("None" in text or "hasattr" in text or "built" in text or "initialized" in text
            or "initialised" in text or "_created" in text)


def control(s: FunctionState, test: ast.AST) -> None:
    """Record parameters whose *value* decides a branch / loop bound (``if training:``, ``range(n)``); not
    ``x is None``, ``isinstance(x, ...)``, ``len(x)``, ``x.shape`` (those are trace-time facts)."""
    if isinstance(test, ast.Name):
        if test.id in s.param_names and test.id != s.self_name and test.id not in s.facts.control_params:
            s.facts.control_params.append(test.id)
        return
    if isinstance(test, ast.Attribute):
        return
    if isinstance(test, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in test.ops):
        return
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id in (
            "isinstance", "hasattr", "callable", "len", "type", "getattr"):
        return
    for child in ast.iter_child_nodes(test):
        control(s, child)


def for_header(s: FunctionState, node: ast.For | ast.AsyncFor) -> None:
    """A Python ``for`` over a tensor (HY205), a loop bound from a static shape, and ``range(param)``."""
    it = node.iter
    fq = s.resolve_func(it.func) if isinstance(it, ast.Call) else None
    if isinstance(it, ast.Name) and it.id in s.tensors:
        s.report("HY205", node.lineno, f"Python `for` over tensor `{it.id}`: iterates the first dimension "
                                       "(unrolled or a tf.while_loop); fails if that dimension is unknown")
    if fq in ("range", "builtins.range") or (fq is None and isinstance(it, ast.Call)):
        s.shape_use(it, node.lineno, "loop bound")
    if fq in ("range", "builtins.range") and isinstance(it, ast.Call):
        for arg in it.args:
            control(s, arg)


def return_check(s: FunctionState, node: ast.Return) -> None:
    if any(is_tensor for _, is_tensor in s.loops):
        s.report("HY303", node.lineno, "`return` inside a tensor loop (tf.range / a tensor condition): "
                                       "AutoGraph raises NotImplementedError")


def isinstance_containers(test: ast.expr) -> set[str]:
    """``if isinstance(x, (list, tuple)):``: names that are Python containers, not tensors, in the body."""
    return {t.args[0].id for t in ast.walk(test) if isinstance(t, ast.Call) and isinstance(t.func, ast.Name)
            and t.func.id == "isinstance" and len(t.args) == 2 and isinstance(t.args[0], ast.Name)
            and not isinstance(test, ast.UnaryOp)}


def assert_check(s: FunctionState, node: ast.Assert) -> None:
    if s.tensorish(node.test):
        s.report("HY204", node.lineno, f"`assert {ast.unparse(node.test)[:60]}` on a tensor: a graph tensor "
                                       "has no truth value (use tf.debugging.assert_*)")
    else:
        s.shape_use(node.test, node.lineno, "assert")


def raise_check(s: FunctionState, node: ast.Raise) -> None:
    for test in s.if_tests:
        if s.tensorish(test):
            s.report("HY305", node.lineno, f"`raise` under the tensor condition `{ast.unparse(test)[:60]}`: "
                                           "AutoGraph leaves that `if` to Python, so every trace fails")
            break


def try_check(s: FunctionState, node: ast.Try) -> None:
    if node.handlers:
        for stmt in node.body:
            hit = next((n for n in ast.walk(stmt) if isinstance(n, ast.Call) and s.tensorish(n)), None)
            if hit is not None:
                s.report("HY304", node.lineno, "`try/except` around tensor work: ops fail at run time, "
                                               "outside the try, so the handler never runs")
                break
