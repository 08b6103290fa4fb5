"""Pass-through wrappers: functions whose body only forwards their arguments to another callable.

Decorators' inner wrappers (``wrapper(*args, **kwargs)``), ``once``-style guards, name-scope wrappers and a
metaclass ``__call__`` do no tensor work of their own: converting one only moves the callee into a graph
that the callee's own conversion gives more directly, and in practice such plumbing crashes under
``tf.function`` (it receives callables and classes) and then costs bisection runs. They are decided from
the source, before any run, so no trial is wasted on them.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from hybridize.tracer.cells import module_text

if TYPE_CHECKING:
    from hybridize.static.model import FunctionReport

# Calls that do numeric work: a function making one is not plumbing, whatever else it forwards.
NUMERIC_ROOTS = ("tf", "tensorflow", "np", "numpy", "jnp", "jax", "keras", "ops", "K", "snt", "tnp", "math")
SCOPE_CALLS = ("name_scope", "variable_scope", "device", "control_dependencies")


def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    a = fn.args
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    return set(names)


def _forwards(call: ast.Call, params: set[str]) -> bool:
    """``callee(*args, **kwargs)``: a parameter spread into the call (positional or keyword)."""
    spread = [s.value for s in call.args if isinstance(s, ast.Starred)]
    spread += [k.value for k in call.keywords if k.arg is None]
    return any(isinstance(v, ast.Name) and v.id in params for v in spread)


def pass_through_reason(source: str) -> str | None:
    """Why the function in ``source`` (its ``def`` first) is a pass-through wrapper, or None when it is not."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if fn is None:
        return None
    params = _params(fn)
    spread = {v.id for call in ast.walk(fn) if isinstance(call, ast.Call)
              for v in [*(s.value for s in call.args if isinstance(s, ast.Starred)),
                        *(k.value for k in call.keywords if k.arg is None)] if isinstance(v, ast.Name)}
    forwarded: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.For | ast.While | ast.AsyncFor):
            return None  # composing callees in a loop (a Sequential) is work worth a graph
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            rebinds = {t.id for t in targets if isinstance(t, ast.Name)} & params & spread
            if rebinds and node.value is not None and any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
                return None  # the arguments are transformed before forwarding (`args = map(merge, args)`)
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        root = name.split(".", 1)[0]
        if root in NUMERIC_ROOTS and not name.endswith(SCOPE_CALLS):
            return None  # does numeric work itself
        if _forwards(node, params):
            forwarded.append(name or "a callable")
    if not forwarded:
        return None
    return (f"only forwards its arguments to {', '.join(dict.fromkeys(forwarded))} (a wrapper with no tensor work "
            "of its own): convert the wrapped function instead")


def pass_through_detail(root: Path | None, report: FunctionReport | None) -> str | None:
    """:func:`pass_through_reason` for a static report's function, read from its file (None when unreadable)."""
    if root is None or report is None or not report.file:
        return None
    try:
        lines = module_text(root / report.file).splitlines()  # a notebook: its cells in order
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    start = report.line
    end = report.end_line
    if start <= 0 or end < start:
        return None
    return pass_through_reason("\n".join(lines[start - 1:end]))
