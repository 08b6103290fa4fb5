"""Existing ``tf.function`` objects seen from the tracer: unwrapping them to the project function, mapping AutoGraph's
generated code back to it, and binding a ``tf.function`` call's arguments to the function's parameter names.

TensorFlow is never imported here: objects are recognised by their type's module and attributes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from hybridize.identity import FunctionId
from hybridize.tracer.describe import InstanceOf
from hybridize.tracer.record import Record, param_names

if TYPE_CHECKING:
    from hybridize.tracer.state import Recorder


def unwrap(obj: Any) -> Any:
    """The Python function inside a ``tf.function``, bound method or decorator wrapper (at most 8 layers deep)."""
    for _ in range(8):
        inner = None
        for attr in ("python_function", "__func__", "__wrapped__", "_python_function"):
            try:
                inner = getattr(obj, attr, None)
            except Exception:
                inner = None
            if inner is not None:
                break
        if inner is None:
            return obj
        obj = inner
    return obj


def unwrap_code(obj: Any) -> CodeType | None:
    code = getattr(unwrap(obj), "__code__", None)
    return code if isinstance(code, CodeType) else None


def is_tf_function(obj: Any) -> bool:
    t = type(obj)
    return (t.__module__ or "").startswith("tensorflow") and hasattr(obj, "python_function") and \
        hasattr(obj, "experimental_get_tracing_count")


def resolve_autograph(recorder: Recorder, code: CodeType, frame: FrameType) -> Record | None:
    """The project function AutoGraph's generated ``tf__name`` (``code``, running in ``frame``) was converted from:
    the method of the first argument's class, the module global, or a function of that module and name seen before."""
    name = code.co_name[4:]
    glb = frame.f_globals
    candidates: list[Any] = []
    names = param_names(code)
    if names:
        first = frame.f_locals.get(names[0])
        if first is not None:
            owner = first if isinstance(first, type) else type(first)
            for klass in getattr(owner, "__mro__", ()):
                if name in klass.__dict__:
                    candidates.append(klass.__dict__[name])
                    break
    if name in glb:
        candidates.append(glb[name])
    for obj in candidates:
        target_code = unwrap_code(obj)
        if target_code is not None and target_code.co_name == name:
            rec = recorder.record_for(target_code, glb)
            if rec is not None:
                return rec
    # nested functions and anything else: the project code already seen with this module and name
    module = glb.get("__name__")
    for rec in list(recorder.records.values()):
        if rec.module == module and rec.code is not None and rec.code.co_name == name:
            return rec
    return None


def project_tf_functions(recorder: Recorder) -> Iterator[Any]:
    """The ``tf.function`` objects of the project's imported modules: module globals and their classes' attributes."""
    for mod in list(sys.modules.values()):
        file = getattr(mod, "__file__", None)
        if not isinstance(file, str) or recorder.project_relpath(file) is None:
            continue
        glb = getattr(mod, "__dict__", {})
        objs: list[Any] = []
        for value in list(glb.values()):
            if isinstance(value, type) and getattr(value, "__module__", None) == glb.get("__name__"):
                objs.extend(value.__dict__.values())
            else:
                objs.append(value)
        yield from (obj for obj in objs if is_tf_function(obj))


def bind_call(fn: Any, rec: Record, args: Any, kwds: Any) -> dict[str, Any]:
    """Map a tf.function call's ``*args, **kwds`` onto the Python function's parameter names (defaults filled in)."""
    out: dict[str, Any] = {}
    code = rec.code
    if code is None:
        return out
    py = getattr(fn, "python_function", None)
    positional = list(code.co_varnames[:code.co_argcount])
    bound = getattr(py, "__self__", None)
    if bound is not None and positional:
        out[positional.pop(0)] = bound
    elif positional and positional[0] in ("self", "cls") and "." in rec.qualname:
        # a tf.function on a method: TensorFlow calls it with the instance bound weakly, not in ``args``
        owner: Any = sys.modules.get(rec.module)
        for part in FunctionId.qualname_parts(rec.qualname)[:-1]:
            owner = getattr(owner, part, None)
        name = positional.pop(0)
        if isinstance(owner, type):
            out[name] = InstanceOf(owner)
    func = getattr(py, "__func__", py)
    defaults = getattr(func, "__defaults__", None) or ()
    if defaults:
        for name, value in zip(positional[len(positional) - len(defaults):], defaults, strict=False):
            out[name] = value
    out.update(getattr(func, "__kwdefaults__", None) or {})
    args = tuple(args) if isinstance(args, tuple | list) else ()
    for name, value in zip(positional, args, strict=False):
        out[name] = value
    names = rec.names
    n = code.co_argcount + code.co_kwonlyargcount
    if len(args) > len(positional) and code.co_flags & 0x4:
        out[code.co_varnames[n]] = args[len(positional):]
    extra = {}
    for key, value in (kwds.items() if isinstance(kwds, dict) else ()):
        if key in names:
            out[key] = value
        else:
            extra[key] = value
    if extra and code.co_flags & 0x8:
        out[names[-1]] = extra
    return out
