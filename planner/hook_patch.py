"""Finding each target in its executed module and putting the replacement there: the module or class attribute,
or, when that attribute is the function's own decorators' wrapper, the closure cell or attribute the wrapper
calls (where ``hybridize apply`` would put ``@tf.function``). Failures are recorded, never raised."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from hybridize.identity import FunctionId
from hybridize.planner.hook_state import HookState
from hybridize.planner.hook_targets import is_tf_function, wrap_target


def patch_module(state: HookState, module: types.ModuleType) -> None:
    for target in state.targets.get(module.__name__, []):
        name = str(target["function"])
        if name in state.placed:
            continue
        try:
            _patch_target(state, module, target, name)
        except Exception as exc:  # never break the user's import
            state.hook_errors.append(f"{name}: {type(exc).__name__}: {exc}")


def _patch_target(state: HookState, module: types.ModuleType, target: dict[str, Any], name: str) -> None:
    qualname = FunctionId.qualname_of(name)
    parts = FunctionId.qualname_parts(qualname)
    if FunctionId.is_nested_qualname(qualname):
        state.hook_errors.append(f"{name}: nested function, cannot be reached from its module")
        return
    owner: Any = module
    for part in parts[:-1]:
        owner = getattr(owner, part)
    attr = parts[-1]
    raw = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
    is_method = isinstance(owner, type)
    rewrap: Callable[[Any], Any] = lambda f: f  # noqa: E731
    if isinstance(raw, staticmethod):
        raw, rewrap, is_method = raw.__func__, staticmethod, False
    elif isinstance(raw, classmethod):
        state.hook_errors.append(f"{name}: classmethod, not wrapped")
        return
    if getattr(raw, "__hybridize_trial__", False):
        return
    if is_profiled(raw, module.__name__, qualname):
        setattr(owner, attr, rewrap(wrap_target(state, target, raw, is_method)))
        state.patched.append(name)
        return
    # the attribute is the function's own decorators' wrapper: `hybridize apply` puts @tf.function
    # under them, so the trial wraps the inner reference and the outer decorators keep running
    found = find_inner(raw, module.__name__, qualname)
    if found is None:
        why = (f"the module attribute is a {type(raw).__name__} wrapping it (another decorator) and no "
               "closure cell or attribute holding the original was found: the conversion apply would make "
               "cannot be tried in memory")
        state.unreachable[name] = why
        state.hook_errors.append(f"{name}: not reachable: {why}")
        return
    put, inner = found
    if getattr(inner, "__hybridize_trial__", False):
        return
    put(wrap_target(state, target, inner, is_method, bound=False))
    state.patched.append(name)


def is_profiled(obj: Any, module: str, qualname: str) -> bool:
    """Whether ``obj`` (a function or tf.function) is the profiled function itself, judged by its code object
    (``functools.wraps`` copies ``__qualname__`` onto a wrapper, but not ``__code__``)."""
    fn = obj.python_function if is_tf_function(obj) else obj
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return False
    name_ok = (code.co_qualname == qualname if hasattr(code, "co_qualname")
               else code.co_name == FunctionId.short_name(qualname))
    return name_ok and getattr(fn, "__module__", module) == module


def find_inner(raw: Any, module: str, qualname: str) -> tuple[Callable[[Any], None], Any] | None:
    """Where a decorator's wrapper keeps the profiled function: a closure cell or a callable object's attribute
    (searched through ``__wrapped__`` chains, a few levels deep). Returns (setter, the function) or None.
    ``__wrapped__`` itself is only followed, never replaced: the wrapper does not call through it."""
    queue: list[tuple[Any, int]] = [(raw, 0)]
    seen: set[int] = set()
    while queue:
        obj, depth = queue.pop(0)
        if id(obj) in seen or depth > 6:
            continue
        seen.add(id(obj))
        found = _in_closure(obj, module, qualname, queue, depth) or _in_attributes(obj, module, qualname, queue, depth)
        if found is not None:
            return found
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            queue.append((wrapped, depth + 1))
    return None


Found = tuple[Callable[[Any], None], Any]


def _in_closure(obj: Any, module: str, qualname: str, queue: list[tuple[Any, int]], depth: int) -> Found | None:
    """The profiled function in one of ``obj``'s closure cells; other callables found are queued."""
    for cell in getattr(obj, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if is_profiled(content, module, qualname):
            def put_cell(value: Any, cell: Any = cell) -> None:
                cell.cell_contents = value
            return put_cell, content
        if callable(content):
            queue.append((content, depth + 1))
    return None


def _in_attributes(obj: Any, module: str, qualname: str, queue: list[tuple[Any, int]], depth: int) -> Found | None:
    """The profiled function as an attribute of a callable object (not of a function, class or module)."""
    if isinstance(obj, types.FunctionType | type | types.ModuleType):
        return None
    for key, value in list(getattr(obj, "__dict__", {}).items()):
        if key == "__wrapped__":
            continue
        if is_profiled(value, module, qualname):
            def put_attr(new: Any, owner: Any = obj, key: str = key) -> None:
                setattr(owner, key, new)
            return put_attr, value
        if callable(value) and not isinstance(value, type):
            queue.append((value, depth + 1))
    return None
