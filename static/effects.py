"""Library and builtin calls by family: clock (HY109), random numbers (HY108), logging (HY102), network (HY107)
and file I/O (HY106), eager-only reads (HY201-HY203), variable and layer creation (HY306/HY307), ``print``,
``next`` on Python iterators (HY110), dynamic attribute access (HY502). Tables are in ``names``.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from hybridize.static.index import dotted_name
from hybridize.static.names import (
    HOST_READ_NAMES,
    IO_EXACT,
    IO_PREFIXES,
    IO_SAFE,
    KERAS_NAMES,
    KERAS_PREFIXES,
    KNOWN_LIBS,
    LOG_METHODS,
    NET_PREFIXES,
    RANDOM_PREFIXES,
    RNG_CTORS,
    TIME_NAMES,
    VARIABLE_CTORS,
)

if TYPE_CHECKING:
    from hybridize.static.state import FunctionState


def external(s: FunctionState, fq: str, node: ast.Call, forwards: bool) -> None:
    """A call of the library function ``fq`` (a canonical dotted name)."""
    line = node.lineno
    top = fq.partition(".")[0]
    if fq in TIME_NAMES:
        s.report("HY109", line, f"`{fq}()` reads the clock once while tracing; the graph keeps that constant")
    elif fq.startswith(RANDOM_PREFIXES) and not fq.endswith(RNG_CTORS):
        s.report("HY108", line, f"`{fq}()` is a Python/NumPy random number: frozen into the graph as a "
                                "constant (use tf.random)")
    elif fq.startswith(("logging.", "absl.logging.")) or fq == "warnings.warn" or (
            fq.startswith("tensorflow.") and fq.endswith(tuple(f".logging.{m}" for m in LOG_METHODS))):
        s.report("HY102", line, f"`{fq}(...)` logs only while tracing")
    elif fq.startswith(NET_PREFIXES):
        s.report("HY107", line, f"`{fq}(...)` is network I/O: runs only while tracing")
    elif fq in IO_EXACT or (fq.startswith(IO_PREFIXES) and not fq.startswith(IO_SAFE)):
        s.report("HY106", line, f"`{fq}(...)` does file/process I/O: runs only while tracing")
    elif fq in HOST_READ_NAMES:
        s.report("HY201", line, f"`{fq}(...)` reads a concrete tensor value")
    elif fq in VARIABLE_CTORS:
        s.creation(node, f"`{fq}(...)` creates a variable", "HY306")
    elif (fq.startswith(KERAS_PREFIXES) and ".schedules." not in fq) or fq in KERAS_NAMES:
        s.creation(node, f"`{fq}(...)` creates a Keras layer/model/optimizer", "HY307")
    elif top == "numpy" and not fq.startswith("numpy.random."):
        values = [*node.args, *(k.value for k in node.keywords)]
        hit = next((a for a in values if s.tensorish(a) or s.array_param(a)), None)
        if hit is not None:
            s.report("HY202", line, f"`{fq}({ast.unparse(hit)[:40]})`: NumPy on a tensor fails in a graph "
                                    "(NotImplementedError); use the tf.* equivalent")
    elif top not in KNOWN_LIBS:
        s.facts.assume(f"`{top}` (external library, e.g. `{fq}`) assumed free of Python side effects")
    if forwards and top not in KNOWN_LIBS:
        s.report("HY503", line, f"`{fq}(...)` receives forwarded *args/**kwargs")


def builtin(s: FunctionState, name: str, node: ast.Call) -> None:
    """A call of the builtin ``name`` (not shadowed in the module)."""
    line = node.lineno
    args = node.args
    if name == "print":
        s.report("HY101", line, "print runs only while tracing (and shows symbolic tensors): use tf.print")
    elif name in ("open", "input", "exec", "eval", "breakpoint"):
        s.report("HY106", line, f"`{name}(...)` (I/O / interpreter) runs only while tracing")
    elif name == "next":
        it = args[0] if args else None
        if it is not None and s.outside_root(it) is not None and not _is_dataset_iterator(s, it):
            s.report("HY110", line, f"`next({ast.unparse(it)[:40]})`: a Python iterator gives the same element "
                                    "on every call of the graph (tf.data iterators are fine)")
    elif name in ("float", "int", "bool", "complex") and args and s.tensorish(args[0]):
        s.report("HY203", line, f"`{name}({ast.unparse(args[0])[:40]})` needs a concrete tensor value")
    elif name == "setattr" and args:
        root = s.outside_root(args[0])
        if root is not None:
            s.report("HY104", line, f"`setattr({ast.unparse(args[0])}, ...)` writes an attribute of an object "
                                    "not created here", closure_name=s.closure(root))
    elif name in ("getattr", "hasattr", "delattr") and len(args) >= 2 and not isinstance(args[1], ast.Constant):
        s.report("HY502", line, f"`{name}(..., {ast.unparse(args[1])[:30]})`: the attribute is chosen at run time")
        s.facts.assume(f"`{name}` with a dynamic name at line {line} assumed to reach graph-compatible code")
    elif name == "len" and args and isinstance(args[0], ast.Name) and args[0].id in s.strong_tensors:
        s.shape_use(ast.Subscript(value=ast.Attribute(value=args[0], attr="shape"), slice=ast.Constant(0)),
                    line, "`len()` of a tensor")


def _is_dataset_iterator(s: FunctionState, it: ast.expr) -> bool:
    """``next(it)`` where ``it = iter(ds)`` of a tf.data pipeline (or named like one)."""
    if _mentions_tf_data(s, it):
        return True
    if isinstance(it, ast.Call):  # next(iter(x))
        inner = it.args[0] if it.args else None
        return inner is not None and _mentions_tf_data(s, inner)
    if isinstance(it, ast.Name):
        for _how, value in s.scope.bound.get(it.id, []):
            if value is not None and isinstance(value, ast.expr) and _mentions_tf_data(s, value):
                return True
    return False


def _mentions_tf_data(s: FunctionState, node: ast.expr, depth: int = 0) -> bool:
    """Does the expression (or a local it is built from) come from a tf.data pipeline?"""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Attribute, ast.Name)):
            text = dotted_name(sub) or ""
            low = text.lower()
            if s.mod.resolve_dotted(text).startswith("tensorflow.data") or "dataset" in low \
                    or low in ("ds", "data") or low.endswith("_ds"):
                return True
        if isinstance(sub, ast.Name) and sub.id in s.scope.bound and depth < 3:
            for _, value in s.scope.bound[sub.id]:
                if isinstance(value, ast.expr) and value is not node and _mentions_tf_data(s, value, depth + 1):
                    return True
    return False
