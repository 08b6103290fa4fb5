"""Definition-time placement of the trial conversions: each chosen function is wrapped as it is *defined*.

The trial hook's first way (patching a module's namespace after the module executed) misses every call a module
makes while it executes: a training script's ``for step ...:`` loop at module level, or an imported module whose
import runs the workload. Here the module's source is compiled from an AST in which each chosen ``def`` gets one
more decorator, ``__hybridize_place__(qualname, is_method, bound)``, placed where ``hybridize apply`` would put
``@tf.function``: innermost (under the function's own decorators), or just above an existing ``tf.function``
decorator (which is then the object timed, retuned or made eager). The decorator hands the function to the trial
hook's wrapper. The AST keeps the original file name and line numbers, so tracebacks, ``inspect.getsource``,
linecache and AutoGraph see the file as it is; nothing is written to disk or ``__pycache__``.

Used for the main program (through :mod:`hybridize.tracer.runmain`) and for every imported target module whose
source is available; post-execution patching stays the fallback (extension modules, no source).
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable, Collection
from typing import Any

from hybridize.identity import LOCALS, FunctionId

DECORATOR = "__hybridize_place__"
_TF_FUNCTION_NAMES = {"function", "tf_function"}


def _is_tf_function(node: ast.expr) -> bool:
    """``@tf.function``, ``@tf.function(...)``, ``@function`` (``from tensorflow import function``) and the like."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr == "function"
    return isinstance(node, ast.Name) and node.id in _TF_FUNCTION_NAMES


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


class _Placer(ast.NodeTransformer):
    """Adds the placement decorator to the ``def`` of each wanted qualname (nested functions included)."""

    def __init__(self, wanted: Collection[str]) -> None:
        self.wanted = set(wanted)
        self.placed: list[str] = []
        self.skipped: dict[str, str] = {}
        self._stack: list[tuple[str, bool]] = []  # (name, is a class)

    def _qualname(self, name: str) -> str:
        parts: list[str] = []
        for scope, is_class in self._stack:
            parts.append(scope)
            if not is_class:
                parts.append(LOCALS)
        return FunctionId.join_qualname(*parts, name)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._stack.append((node.name, True))
        self.generic_visit(node)
        self._stack.pop()
        return node

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        qualname = self._qualname(node.name)
        in_class = bool(self._stack) and self._stack[-1][1]
        if qualname in self.wanted:
            self._place(node, qualname, in_class)
        self._stack.append((node.name, False))
        self.generic_visit(node)
        self._stack.pop()
        return node

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def _place(self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, in_class: bool) -> None:
        names = [_decorator_name(d) for d in node.decorator_list]
        if in_class and "classmethod" in names:
            self.skipped[qualname] = "classmethod, not wrapped"
            return
        if in_class and ("property" in names or "setter" in names or "getter" in names):
            self.skipped[qualname] = "property, not wrapped"
            return
        at = next((i for i, d in enumerate(node.decorator_list) if _is_tf_function(d)), len(node.decorator_list))
        is_method = in_class and "staticmethod" not in names
        # a method under other decorators is called by their wrapper as a plain function with ``self`` first
        bound = all(n == "staticmethod" for n in names[:at])
        call = ast.Call(func=ast.Name(id=DECORATOR, ctx=ast.Load()),
                        args=[ast.Constant(qualname), ast.Constant(is_method), ast.Constant(bound)], keywords=[])
        anchor = node.decorator_list[at] if at < len(node.decorator_list) else node
        for sub in ast.walk(call):
            ast.copy_location(sub, anchor)
            sub.end_lineno, sub.end_col_offset = anchor.lineno, anchor.col_offset  # type: ignore[attr-defined]
        node.decorator_list.insert(at, call)
        self.placed.append(qualname)


def place(source: bytes | str, path: str, qualnames: Collection[str]) -> tuple[Any, list[str], dict[str, str]]:
    """``(code, placed qualnames, skipped qualname -> why)`` for ``source`` with the decorator on ``qualnames``."""
    tree = ast.parse(source, filename=path)
    placer = _Placer(qualnames)
    tree = placer.visit(tree)
    return compile(tree, path, "exec", dont_inherit=True), placer.placed, placer.skipped


# -- the trial hook's side ----------------------------------------------------------------------------------------------

def decorator(state: Any, module: str) -> Callable[[str, bool, bool], Callable[[Any], Any]]:
    """The ``__hybridize_place__`` of a module: wraps the function it decorates with the trial hook's wrapper."""
    from hybridize.planner.hook_targets import wrap_target

    targets = {FunctionId.qualname_of(str(t["function"])): t for t in state.targets.get(module, [])}

    def placer(qualname: str, is_method: bool, bound: bool) -> Callable[[Any], Any]:
        def wrap(raw: Any) -> Any:
            name = FunctionId.format_name(module, qualname)
            target = targets.get(qualname)
            if target is None or getattr(raw, "__hybridize_trial__", False):
                return raw
            try:
                replacement = wrap_target(state, target, raw, is_method, bound)
            except Exception as exc:  # never break the definition: the function stays as it was
                state.hook_errors.append(f"{name}: {type(exc).__name__}: {exc}")
                return raw
            if name not in state.patched:
                state.patched.append(name)
            return replacement
        return wrap

    return placer


def _compile_for(state: Any, module: str, path: str, source: bytes | str) -> Any:
    """The placed code of a target module, or None when nothing of it is a target (or it cannot be parsed)."""
    qualnames = [FunctionId.qualname_of(str(t["function"])) for t in state.targets.get(module, [])]
    if not qualnames:
        return None
    try:
        code, placed, skipped = place(source, path, qualnames)
    except (SyntaxError, ValueError):
        return None  # the plain compilation reports it as python would
    state.placed.update(FunctionId.format_name(module, q) for q in placed)  # post-execution patching leaves these alone
    for qualname, why in skipped.items():
        state.hook_errors.append(f"{FunctionId.format_name(module, qualname)}: {why}")
    return code


def exec_module(state: Any, loader: Any, module: Any) -> bool:
    """Execute an imported target module with its functions placed; False when the caller must run it plainly
    (no source: an extension module, a zip without source, a loader that cannot say)."""
    name = module.__name__
    try:
        source = loader.get_source(name)
        path = loader.get_filename(name)
    except Exception:
        return False
    if source is None or not isinstance(path, str):
        return False
    code = _compile_for(state, name, path, source)
    if code is None:
        return False
    module.__dict__[DECORATOR] = decorator(state, name)  # stays: a nested function's runs when its outer one does
    exec(code, module.__dict__)
    return True


def main_module_name(state: Any, path: str) -> str | None:
    """The identity module name of the program's main file (as the tracer and the static analysis name it)."""
    from hybridize.identity import module_name_for

    root = os.path.realpath(str(state.config.get("root") or os.getcwd()))
    real = os.path.realpath(path)
    if not real.startswith(root + os.sep):
        return None
    return module_name_for(os.path.relpath(real, root).replace(os.sep, "/"))


def install(state: Any) -> None:
    """Register the main-program hook with the runner: the main file is compiled with its targets placed."""
    from hybridize.tracer import runmain

    def main_hook(path: str, name: str) -> Any:
        module = main_module_name(state, path)
        if module is None or module not in state.targets:
            return None
        try:
            with open(path, "rb") as fh:
                source = fh.read()
        except OSError:
            return None
        code = _compile_for(state, module, path, source)
        if code is None:
            return None
        main = sys.modules.get("__main__")
        if main is not None:  # stays while the program runs: its decorators run as its definitions execute
            main.__dict__[DECORATOR] = decorator(state, module)
        return code

    runmain.add_code_hook(main_hook)


def trial_command(cmd: list[str], root: str | os.PathLike[str], targets: list[dict[str, Any]]) -> list[str]:
    """``cmd`` run through :mod:`hybridize.tracer.runmain` when a target is defined in its main file (a script's
    functions are otherwise wrapped only after its loop has run); unchanged otherwise."""
    from hybridize.tracer import runmain

    module = runmain.main_module(cmd, root)
    if module is None or not any(FunctionId.module_of(str(t.get("function", ""))) == module for t in targets):
        return list(cmd)
    return runmain.wrap_command(cmd)
