"""The Python 3.10/3.11 back end: instrument only the project's functions as their modules are compiled.

``sys.setprofile`` would put a Python call on every function call of TensorFlow too (1.6x on a small TF test suite),
so instead ``SourceFileLoader.get_code`` is patched: project files (and nothing else) are compiled from an AST in
which every function body is wrapped as::

    __hybridize_t__ = __hybridize_enter__()
    try:
        <original body>
    finally:
        __hybridize_leave__(__hybridize_t__)

Function objects stay the functions the user defined (decorators, ``tf.function`` and ``inspect`` see them
unchanged); AutoGraph converts from the original source, so two TensorFlow files are instrumented as well, the same
way: AutoGraph's generated modules (each ``tf__name`` reports a graph call of the original function) and
``tf.function``'s ``Function.__call__`` (calls of existing tf.functions). Line numbers are preserved; instrumented code
is never written to ``__pycache__``.

A script run as ``python script.py`` is not imported: the profiled command runs it through
``hybridize.tracer.runmain``, which compiles it through :func:`_main_code`.
Known limit (README): a generator's inclusive time includes the time it spends suspended.
"""

from __future__ import annotations

import ast
import builtins
import sys
import threading
from importlib.machinery import SourceFileLoader
from time import perf_counter
from typing import Any

from hybridize.tracer.state import AUTOGRAPH_MARK, Record, Recorder, bind_call

_TF_CALL_FILE = "polymorphic_function.py"
Token = tuple[Record, int, float | None] | None


class _Instrumenter:
    """The hooks the instrumented code calls (installed as builtins so every module resolves them)."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.slots: list[Record | None] = []  # compile-time function index -> its record, once seen
        self.lines = False  # line markers on (``measure_lines``: the bootstrap, unless coverage is off)
        self.hits = bytearray()  # line marker index -> 1 once that statement ran
        self.line_at: list[tuple[str, int]] = []  # line marker index -> (file, line)
        self.actives: dict[int, dict[Record, int]] = {}

    def measure_lines(self) -> None:
        """Compile statement markers into project code imported from now on."""
        self.lines = True

    def after_fork(self) -> None:
        self.actives.clear()

    def _push(self, rec: Record) -> Token:
        tid = threading.get_ident()
        active = self.actives.get(tid)
        if active is None:
            active = self.actives[tid] = {}
        n = active.get(rec, 0)
        active[rec] = n + 1
        return (rec, tid, perf_counter() if n == 0 else None)

    def new_line(self, rel: str, line: int) -> int:
        self.line_at.append((rel, line))
        self.hits.append(0)
        return len(self.line_at) - 1

    def executed_lines(self) -> dict[str, list[int]]:
        """The shard's ``coverage``: executed statement lines per project file."""
        out: dict[str, set[int]] = {}
        hits = self.hits
        for k, (rel, line) in enumerate(self.line_at):
            if hits[k]:
                out.setdefault(rel, set()).add(line)
        return {rel: sorted(lines) for rel, lines in out.items()}

    def new_slot(self) -> int:
        self.slots.append(None)
        return len(self.slots) - 1

    def enter(self, slot: int) -> Token:
        try:
            rec = self.slots[slot]
            if rec is not None and rec.light:  # the hot path: a busy pure-Python function
                if self.rec.light_call(rec, self.rec.is_graph()):
                    self.rec.capture(rec, sys._getframe(1).f_locals)
                return None
            frame = sys._getframe(1)
            if rec is None:
                rec = self.rec.record_for(frame.f_code, frame.f_globals)
                if rec is None:
                    return None
                self.slots[slot] = rec
            self.rec.add_call(rec, frame.f_locals, self.rec.is_graph(), count_call=not rec.hybrid)
            return None if rec.light else self._push(rec)
        except BaseException as exc:
            self.rec.internal_error(exc)
            return None

    def leave(self, token: Token) -> None:
        if token is None:
            return
        try:
            rec, tid, t0 = token
            active = self.actives.get(tid)
            if active is not None and active.get(rec, 0) > 0:
                active[rec] -= 1
            if t0 is not None:
                rec.total_s += perf_counter() - t0
        except BaseException as exc:
            self.rec.internal_error(exc)

    def autograph(self) -> None:
        try:
            frame = sys._getframe(1)
            rec = self.rec.record_for_autograph(frame.f_code, frame)
            if rec is not None:
                self.rec.add_call(rec, frame.f_locals, True, count_call=not rec.hybrid)
        except BaseException as exc:
            self.rec.internal_error(exc)

    def tf_call(self) -> Token:
        try:
            loc = sys._getframe(1).f_locals
            fn = loc.get("self")
            rec = self.rec.record_for_function_object(fn) if fn is not None else None
            if rec is None:
                return None
            self.rec.add_call(rec, bind_call(fn, rec, loc.get("args", ()), loc.get("kwds", {})), self.rec.is_graph())
            return self._push(rec)
        except BaseException as exc:
            self.rec.internal_error(exc)
            return None


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _wrap_body(node: ast.FunctionDef | ast.AsyncFunctionDef, enter: str, *args: ast.expr) -> None:
    body = list(node.body)
    head: list[ast.stmt] = []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        head.append(body.pop(0))  # keep the docstring a docstring
    if not body:
        body = [ast.Pass()]
    start = ast.Assign(targets=[ast.Name(id="__hybridize_t__", ctx=ast.Store())], value=_call(enter, *args))
    guard = ast.Try(body=body, handlers=[], orelse=[], finalbody=[
        ast.Expr(value=_call("__hybridize_leave__", ast.Name(id="__hybridize_t__", ctx=ast.Load())))])
    for new in (start, guard, guard.finalbody[0]):
        ast.copy_location(new, node)
    node.body = [*head, start, guard]


_BODY_FIELDS = ("body", "orelse", "finalbody")


class _ProjectTransformer(ast.NodeTransformer):
    """Wraps every function body (call counts, time) and, with ``lines`` set, marks each statement as it runs.

    A line marker is ``__hybridize_L__[k] = 1`` (a bytearray store, ~20 ns) in front of each statement of a function
    body, nested blocks included: line coverage of the project's functions without a trace function, which would
    also be called on every TensorFlow frame. The lines are the statements' first lines, as ``store`` counts them.
    """

    def __init__(self, hooks: _Instrumenter, rel: str | None) -> None:
        self.hooks = hooks
        self.rel = rel

    def _mark(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self._mark_children(stmt)
            k = self.hooks.new_line(self.rel or "", stmt.lineno)
            marker = ast.Assign(targets=[ast.Subscript(value=ast.Name(id="__hybridize_L__", ctx=ast.Load()),
                                                       slice=ast.Constant(k), ctx=ast.Store())], value=ast.Constant(1))
            out.append(ast.copy_location(marker, stmt))
            out.append(stmt)
        return out

    def _mark_children(self, stmt: ast.stmt) -> None:
        for name in _BODY_FIELDS:
            block = getattr(stmt, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(stmt, name, self._mark(block))
        for handler in getattr(stmt, "handlers", None) or []:
            handler.body = self._mark(handler.body)
        for case in getattr(stmt, "cases", None) or []:
            case.body = self._mark(case.body)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        if self.rel is not None and self.hooks.lines:
            body = list(node.body)
            head: list[ast.stmt] = []
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                head.append(body.pop(0))
            node.body = head + self._mark(body)
        _wrap_body(node, "__hybridize_enter__", ast.Constant(self.hooks.new_slot()))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._function(node)


class _AutographTransformer(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        if node.name.startswith("tf__"):
            stmt = ast.copy_location(ast.Expr(value=_call("__hybridize_ag__")), node)
            node.body.insert(0, stmt)
        return node


class _TfCallTransformer(ast.NodeTransformer):
    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        if node.name == "Function":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__call__":
                    _wrap_body(item, "__hybridize_tfcall__")
        return node


def instrument(source: bytes | str, path: str, kind: str, hooks: _Instrumenter) -> Any:
    """Compile ``source`` with the hooks of ``kind`` ("project" | "autograph" | "tf_call")."""
    tree = ast.parse(source, filename=path)
    transformer: ast.NodeTransformer = (_ProjectTransformer(hooks, hooks.rec.project_relpath(path)) if kind == "project" else
                                        _AutographTransformer() if kind == "autograph" else _TfCallTransformer())
    tree = transformer.visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, path, "exec", dont_inherit=True)


_orig_get_code: Any = None
_HOOKS: list[_Instrumenter] = []


def install(rec: Recorder) -> _Instrumenter:
    """Patch ``SourceFileLoader.get_code`` and publish the hooks; returns the hook object."""
    global _orig_get_code
    hooks = _Instrumenter(rec)
    _HOOKS[:] = [hooks]
    builtins.__hybridize_enter__ = hooks.enter  # type: ignore[attr-defined]
    builtins.__hybridize_leave__ = hooks.leave  # type: ignore[attr-defined]
    builtins.__hybridize_ag__ = hooks.autograph  # type: ignore[attr-defined]
    builtins.__hybridize_tfcall__ = hooks.tf_call  # type: ignore[attr-defined]
    builtins.__hybridize_L__ = hooks.hits  # type: ignore[attr-defined]
    from hybridize.tracer.kernel311 import watch_ipython

    watch_ipython(hooks)  # Jupyter kernels: cells of project notebooks are instrumented too
    if _orig_get_code is not None:
        return hooks
    original = _orig_get_code = SourceFileLoader.get_code

    def get_code(self: SourceFileLoader, fullname: str) -> Any:
        path = getattr(self, "path", "")
        kind = None
        try:
            if AUTOGRAPH_MARK in path:
                kind = "autograph"
            elif path.endswith(_TF_CALL_FILE) and "tensorflow" in path and "polymorphic_function" in path:
                kind = "tf_call"
            elif _HOOKS[0].rec.project_relpath(path) is not None:
                kind = "project"
            if kind is not None:
                return instrument(self.get_data(path), path, kind, _HOOKS[0])
        except SyntaxError:
            raise
        except Exception as exc:
            _HOOKS[0].rec.internal_error(exc)
        return original(self, fullname)

    SourceFileLoader.get_code = get_code  # type: ignore[method-assign,assignment]
    from hybridize.tracer import runmain

    runmain.add_code_hook(_main_code)  # the main file of `python script.py`, run through hybridize.tracer.runmain
    return hooks


def _main_code(path: str, name: str) -> Any:
    """The instrumented code of the program's main file when it is a project file (None: compiled plainly)."""
    if not _HOOKS or _HOOKS[0].rec.project_relpath(path) is None:
        return None
    with open(path, "rb") as fh:
        return instrument(fh.read(), path, "project", _HOOKS[0])
