"""Is a function already a ``tf.function``, and with which arguments?

Recognises ``@tf.function``, ``@tensorflow.function``, import aliases (``import tensorflow as t``,
``from tensorflow import function``), ``tf.compat.v2.function``, stacked decorators, decorator
factories (``jit = tf.function(jit_compile=True)``) and ``f = tf.function(f)`` assignments.
"""

from __future__ import annotations

import ast
from typing import Any

from hybridize.static.index import FuncInfo, ModuleInfo, dotted_name

TF_FUNCTION_NAMES = {"tensorflow.function", "tensorflow.compat.v2.function", "tensorflow.compat.v1.function",
                     "tensorflow.python.eager.def_function.function",
                     "tensorflow.python.eager.polymorphic_function.polymorphic_function.function"}
# tf.function(func, input_signature, autograph, jit_compile, reduce_retracing, ...): positional order.
POSITIONAL = ["func", "input_signature", "autograph", "jit_compile", "reduce_retracing", "experimental_implements",
              "experimental_autograph_options", "experimental_attributes", "experimental_relax_shapes"]


def is_tf_function_ref(expr: ast.expr, mod: ModuleInfo) -> bool:
    text = dotted_name(expr)
    return text is not None and mod.resolve_dotted(text) in TF_FUNCTION_NAMES


def tf_function_call(expr: ast.expr, mod: ModuleInfo) -> tuple[bool, ast.Call | None]:
    """(is it tf.function, the Call carrying its arguments if any) for a decorator or wrapper expression."""
    if is_tf_function_ref(expr, mod):
        return True, None
    if isinstance(expr, ast.Call) and is_tf_function_ref(expr.func, mod):
        return True, expr
    if isinstance(expr, ast.Name) and expr.id in mod.tf_factories:
        factory = mod.tf_factories[expr.id]
        if is_tf_function_ref(factory.func, mod):
            return True, factory
    return False, None


def parse_args(call: ast.Call | None) -> dict[str, Any]:
    """The tf.function keyword arguments as JSON-able values (source text when not a literal)."""
    if call is None:
        return {}
    out: dict[str, Any] = {}
    # The first positional argument of tf.function is always `func` (the wrapped function or None).
    for name, value in zip(POSITIONAL[1:], call.args[1:], strict=False):
        out[name] = _value(name, value)
    for kw in call.keywords:
        if kw.arg is None:
            out["**"] = ast.unparse(kw.value)
        else:
            out[kw.arg] = _value(kw.arg, kw.value)
    return out


def _value(name: str, node: ast.expr) -> Any:
    if name == "input_signature":
        return _signature(node)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.unparse(node)


def _signature(node: ast.expr) -> Any:
    """``[tf.TensorSpec(shape=[None, 3], dtype=tf.float32), ...]`` -> list of {shape, dtype, name}; else text."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return ast.unparse(node)
    specs: list[Any] = []
    for elt in node.elts:
        if not (isinstance(elt, ast.Call) and (dotted_name(elt.func) or "").endswith("TensorSpec")):
            return ast.unparse(node)
        spec: dict[str, Any] = {"shape": None, "dtype": "float32"}
        fields = ["shape", "dtype", "name"]
        for fname, arg in zip(fields, elt.args, strict=False):
            spec[fname] = arg
        for kw in elt.keywords:
            if kw.arg in fields:
                spec[kw.arg] = kw.value
        for key in fields:
            value = spec.get(key)
            if isinstance(value, ast.AST):
                if key == "dtype":
                    text = dotted_name(value)
                    spec[key] = text.rsplit(".", 1)[-1] if text else ast.unparse(value)
                else:
                    try:
                        lit = ast.literal_eval(value)
                        spec[key] = list(lit) if isinstance(lit, tuple) else lit
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        spec[key] = ast.unparse(value)
        if spec.get("name") is None:
            spec.pop("name", None)
        specs.append(spec)
    return specs


def hybrid_info(func: FuncInfo) -> tuple[bool, dict[str, Any], list[int]]:
    """(is hybrid, decorator_args, lines where it is made hybrid)."""
    mod = func.module
    node = func.node
    decorators = [] if isinstance(node, ast.Lambda) else node.decorator_list
    for dec in decorators:
        yes, call = tf_function_call(dec, mod)
        if yes:
            return True, parse_args(call), [dec.lineno]
    for line, call in func.wrapped_by:
        if is_tf_function_ref(call.func, mod):
            return True, parse_args(call), [line]
        # functools.partial(tf.function, ...)(f) and friends are not recognised: rare.
    return False, {}, []
