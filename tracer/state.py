"""The in-process recorder both tracer back ends feed: one ``Record`` per project function, dumped as a shard at exit.

Everything here runs inside the user's program, so every entry point that the back ends call from a callback is
wrapped by them in try/except and errors are only counted. Memory is bounded: distinct signatures per function are
capped (``MAX_SIGNATURES``) and the rest counted as overflow, and so are the objects a method's calls are tracked on
(``instances.MAX_LIVE`` live ones, then the count is a lower bound).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import sys
import threading
import time
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from hybridize.identity import FunctionId
from hybridize.tracer.cells import CellFiles, module_text
from hybridize.tracer.describe import InstanceOf, Key, describe, to_json
from hybridize.tracer.instances import Instances

MAX_SIGNATURES = 64
LIGHT_AFTER = 256  # calls without any tensor-like argument before a function goes "light"
SAMPLE_EVERY = 64  # a light function's signature is captured on one call in this many
SHARD_FORMAT = 1
CO_OPTIMIZED = 0x1
CO_VARARGS = 0x4
CO_VARKEYWORDS = 0x8
AUTOGRAPH_MARK = "__autograph_generated_file"

_SKIP_DIRS = {"site-packages", "dist-packages", ".tox", ".nox", ".hybridize", "build", "__pycache__", ".git", "node_modules",
              ".eggs"}
_TEST_DIRS = {"tests", "test", "testing"}
# hybridize's own source folders are never profiled (they are project files when hybridize profiles itself)
_OWN_DIRS = {str(Path(__file__).resolve().parent.parent / d) for d in ("hybridize", "tracer", "static", "planner", "rewriter")}


def param_names(code: CodeType) -> tuple[str, ...]:
    """Parameter names in order: positional, keyword-only, then ``*args`` and ``**kwargs``."""
    n = code.co_argcount + code.co_kwonlyargcount
    names = code.co_varnames[:n]
    if code.co_flags & CO_VARARGS:
        names += (code.co_varnames[n],)
        n += 1
    if code.co_flags & CO_VARKEYWORDS:
        names += (code.co_varnames[n],)
    return names


class Record:
    """What one process saw of one function."""

    __slots__ = ("calls", "candidate", "code", "eager_calls", "file", "graph_calls", "hybrid", "instances", "last_test",
                 "light", "line", "module", "names", "overflow", "qualname", "sample", "sigs", "tests", "total_s",
                 "traces_reported")

    def __init__(self, module: str, qualname: str, file: str, line: int, names: tuple[str, ...], code: CodeType | None) -> None:
        self.module = module
        self.qualname = qualname
        self.file = file  # relative to the root, POSIX
        self.line = line  # co_firstlineno (decorators included); the store maps it to the def line
        self.names = names
        self.code = code
        self.calls = 0
        self.eager_calls = 0
        self.graph_calls = 0
        self.total_s = 0.0
        self.hybrid = False
        self.traces_reported = 0
        self.candidate = False  # has received a tensor, variable, array, Keras or tf.Module object
        self.light = False  # a busy non-candidate: counted exactly, signatures sampled, not timed
        self.sample = 0
        self.last_test: str | None = None
        self.sigs: dict[Key, int] = {}
        self.overflow = 0
        self.tests: set[str] = set()
        # a method (first parameter ``self``): the distinct objects it is called on (tf.function traces per object)
        self.instances: Instances | None = Instances() if names[:1] == ("self",) and "." in qualname else None

    def forget_counts(self) -> None:
        """Clear what this process observed (a forked child's shard holds only the child's calls).

        Every per-process field is reset here and only here: what the function *is* (names, file, ``hybrid``,
        ``candidate``, ``light``) stays.
        """
        self.calls = self.eager_calls = self.graph_calls = self.overflow = self.sample = self.traces_reported = 0
        self.total_s = 0.0
        self.last_test = None
        self.sigs.clear()
        self.tests.clear()
        if self.instances is not None:
            self.instances = Instances()

    def to_json(self) -> dict[str, Any]:
        sigs = sorted(self.sigs.items(), key=lambda kv: -kv[1])
        out = {
            "function": FunctionId.format_name(self.module, self.qualname), "file": self.file, "first_line": self.line,
            "calls": self.calls, "eager_calls": self.eager_calls, "graph_calls": self.graph_calls,
            "total_s": self.total_s, "hybrid": self.hybrid, "traces_reported": self.traces_reported,
            "signatures": [{"count": c, "args": {n: to_json(k) for n, k in zip(self.names, key, strict=False)}}
                           for key, c in sigs],
            "signatures_overflow": self.overflow, "tests": sorted(self.tests),
            "signatures_sampled": self.sample > 0,
        }
        if self.instances is not None:
            out.update(self.instances.to_json())
        return out


class Recorder:
    """Per-process state: the project filter, the records, the current test, internal errors."""

    def __init__(self, root: Path, shard_dir: Path | None, include: list[str] | None = None,
                 exclude: list[str] | None = None) -> None:
        self.root = str(root.resolve())
        self.shard_dir = shard_dir
        self.include = [str((root / p).resolve()) for p in (include or [])] or [self.root]
        self.exclude = list(exclude or [])
        self.records: dict[CodeType, Record] = {}
        self._file_verdict: dict[str, str | None] = {}  # co_filename -> relpath (project) or None
        self.cells = CellFiles(Path(self.root), self.include, self.exclude)  # Jupyter kernel cells -> notebooks
        self.current_test: str | None = None
        self.test_outcomes: dict[str, str] = {}
        self.errors = 0
        self.error_samples: list[str] = []
        self.unmapped_autograph = 0
        self.started = time.time()
        self.dumped = False
        self.coverage: Any = None  # a started coverage.Coverage (3.12+)
        self.lines_provider: Any = None  # or a callable giving {file: [executed lines]} (the 3.11 line markers)
        self.sampler: Any = None  # a tracer.sampler.Sampler (the run's first process only)
        self._lock = threading.Lock()
        self._ctx_eager: Any = None
        self._autograph: dict[CodeType, Record | None] = {}
        self._defs_cache: dict[str, dict[str, CodeType]] = {}

    # -- filtering -------------------------------------------------------------------------------------------------
    def project_relpath(self, filename: str) -> str | None:
        """The root-relative path of a project source file, or None for everything we do not profile."""
        try:
            return self._file_verdict[filename]
        except KeyError:
            pass
        verdict = self._classify_file(filename)
        self._file_verdict[filename] = verdict
        return verdict

    def _classify_file(self, filename: str) -> str | None:
        notebook = self.cells.relpath(filename)
        if notebook is not None:
            return notebook
        if not filename.endswith(".py") or filename.startswith("<"):
            return None
        path = os.path.realpath(filename)
        if not any(path == inc or path.startswith(inc + os.sep) for inc in self.include):
            return None
        if not (path == self.root or path.startswith(self.root + os.sep)):
            return None
        if os.path.dirname(path) in _OWN_DIRS:
            return None
        rel = os.path.relpath(path, self.root).replace(os.sep, "/")
        parts = rel.split("/")
        base = parts[-1]
        if any(p in _SKIP_DIRS or p.startswith(".venv") or p in ("venv", "env") or p in _TEST_DIRS for p in parts[:-1]):
            return None
        if base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
            return None
        if any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*") for pat in self.exclude):
            return None
        return rel

    def record_for(self, code: CodeType, frame_globals: dict[str, Any]) -> Record | None:
        """The record of a project function's code object, created on first sight; None for non-project code."""
        rec = self.records.get(code)
        if rec is not None:
            return rec
        if not code.co_flags & CO_OPTIMIZED or code.co_name.startswith("<"):
            return None
        rel = self.project_relpath(code.co_filename)
        if rel is None:
            return None
        module = frame_globals.get("__name__") or ""
        if not isinstance(module, str) or module == "__main__" or not module:
            from hybridize.identity import module_name_for

            module = module_name_for(rel)
        with self._lock:
            rec = self.records.get(code)
            if rec is None:
                rec = Record(module, getattr(code, "co_qualname", code.co_name), rel,
                             code.co_firstlineno + self.cells.offset(code.co_filename), param_names(code), code)
                self.records[code] = rec
        return rec

    # -- per call ----------------------------------------------------------------------------------------------------
    def is_graph(self) -> bool:
        """True while TensorFlow is building a graph (tracing a tf.function); TensorFlow is never imported here."""
        fn = self._ctx_eager
        if fn is None:
            ctx = sys.modules.get("tensorflow.python.eager.context")
            if ctx is None:
                return False
            fn = self._ctx_eager = getattr(ctx, "executing_eagerly", None)
            if fn is None:
                return False
        return not fn()

    def add_call(self, rec: Record, f_locals: Any, graph: bool, count_call: bool = True) -> None:
        """Count one call and its signature; a busy function that never saw a tensor-like argument goes light."""
        if count_call:
            rec.calls += 1
        if graph:
            rec.graph_calls += 1
        else:
            rec.eager_calls += 1
        self.capture(rec, f_locals)
        instances = rec.instances
        if instances is not None:
            obj = f_locals.get("self")
            last = instances.last
            if (last is None or last() is not obj) and obj is not None and type(obj) is not InstanceOf:
                instances.add(obj)  # not the last call's object (InstanceOf: a tf.function's weakly bound instance)
        test = self.current_test
        if test is not None:
            rec.tests.add(test)
        if rec.calls >= LIGHT_AFTER and not rec.candidate and not rec.hybrid:
            rec.light = True

    def capture(self, rec: Record, f_locals: Any) -> None:
        key = tuple([describe(f_locals[n]) if n in f_locals else ("none",) for n in rec.names])
        sigs = rec.sigs
        c = sigs.get(key)
        if c is not None:
            sigs[key] = c + 1
            return
        if len(sigs) < MAX_SIGNATURES:
            sigs[key] = 1
        else:
            rec.overflow += 1
        if not rec.candidate and any(_heavy(k) for k in key):
            rec.candidate = True
            rec.light = False

    def light_call(self, rec: Record, graph: bool) -> bool:
        """The cheap path for a light function: exact counts and tests; True when this call's signature is sampled."""
        rec.calls += 1
        if graph:
            rec.graph_calls += 1
        else:
            rec.eager_calls += 1
        test = self.current_test
        if test is not rec.last_test:
            rec.last_test = test
            if test is not None:
                rec.tests.add(test)
        rec.sample += 1
        return rec.sample % SAMPLE_EVERY == 0

    def start_over(self) -> None:
        """A forked child starts counting from zero (the parent's counts are the parent's shard)."""
        for rec in self.records.values():
            rec.forget_counts()
        self.test_outcomes.clear()
        self.errors = self.unmapped_autograph = 0
        self.error_samples.clear()
        self.sampler = None  # the sampling thread stayed in the parent, and so do its samples
        self.dumped = False
        self.started = time.time()

    def internal_error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])

    # -- tf.function support --------------------------------------------------------------------------------------------
    def record_for_function_object(self, fn: Any) -> Record | None:
        """The record behind a tf.function object (``python_function``), marked hybrid."""
        code = _unwrap_code(fn)
        if code is None:
            return None
        rec = self.records.get(code)
        if rec is None:
            target = _unwrap(fn)
            glb = getattr(target, "__globals__", None) or {}
            rec = self.record_for(code, glb)
            if rec is None:
                return None
        rec.hybrid = True
        return rec

    def record_for_autograph(self, code: CodeType, frame: FrameType) -> Record | None:
        """Map AutoGraph's generated ``tf__name`` back to the original project function (cached per code object)."""
        try:
            return self._autograph[code]
        except KeyError:
            pass
        rec = self._resolve_autograph(code, frame)
        if rec is None:
            self.unmapped_autograph += 1
        self._autograph[code] = rec
        return rec

    def _resolve_autograph(self, code: CodeType, frame: FrameType) -> Record | None:
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
            target_code = _unwrap_code(obj)
            if target_code is not None and target_code.co_name == name:
                rec = self.record_for(target_code, glb)
                if rec is not None:
                    return rec
        # nested functions and anything else: the project code already seen with this module and name
        module = glb.get("__name__")
        for rec in list(self.records.values()):
            if rec.module == module and rec.code is not None and rec.code.co_name == name:
                return rec
        return None

    def scan_hybrid(self) -> None:
        """At exit: mark every project function that is a tf.function object, with TensorFlow's own trace count."""
        for mod in list(sys.modules.values()):
            file = getattr(mod, "__file__", None)
            if not isinstance(file, str) or self.project_relpath(file) is None:
                continue
            glb = getattr(mod, "__dict__", {})
            objs: list[Any] = []
            for value in list(glb.values()):
                if isinstance(value, type) and getattr(value, "__module__", None) == glb.get("__name__"):
                    objs.extend(value.__dict__.values())
                else:
                    objs.append(value)
            for obj in objs:
                if not _is_tf_function(obj):
                    continue
                try:
                    rec = self.record_for_function_object(obj)
                    if rec is None:
                        continue
                    count = obj.experimental_get_tracing_count()
                    if isinstance(count, int) and count > rec.traces_reported:
                        rec.traces_reported = count
                except Exception as exc:
                    self.internal_error(exc)

    # -- output ------------------------------------------------------------------------------------------------------------
    def shard(self, exit_code: int | None = None) -> dict[str, Any]:
        cov: dict[str, list[int]] = {}
        if self.lines_provider is not None:
            try:
                cov = self.lines_provider()
            except Exception as exc:
                self.internal_error(exc)
        elif self.coverage is not None:
            try:
                self.coverage.stop()
                data = self.coverage.get_data()
                for path in data.measured_files():
                    rel = self.project_relpath(path)
                    if rel is not None:
                        cov[rel] = sorted(data.lines(path) or [])
            except Exception as exc:
                self.internal_error(exc)
        return {
            "format": SHARD_FORMAT, "pid": os.getpid(), "python": sys.version.split()[0], "argv": list(sys.argv),
            "root": self.root, "started": self.started, "ended": time.time(), "errors": self.errors,
            "error_samples": self.error_samples, "unmapped_autograph": self.unmapped_autograph,
            "tests": dict(self.test_outcomes), "coverage": cov,
            "coverage_enabled": self.coverage is not None or self.lines_provider is not None,
            "functions": [r.to_json() for r in list(self.records.values()) if r.calls or r.hybrid or r.graph_calls],
            "samples": self.sampler.to_json() if self.sampler is not None else None,
        }

    def dump(self) -> None:
        """Write this process's shard once (atomic rename, so a reader never sees half a file)."""
        if self.dumped or self.shard_dir is None:
            return
        self.dumped = True
        try:
            self.scan_hybrid()
        except Exception as exc:
            self.internal_error(exc)
        data = self.shard()
        name = f"shard-{os.uname().nodename}-{os.getpid()}-{int(self.started * 1000) % 10**9}.json"
        path = self.shard_dir / name
        tmp = self.shard_dir / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, default=repr)
        os.replace(tmp, path)


def _heavy(key: Key) -> bool:
    """Is this argument key tensor-like (what makes a function a tf.function candidate)?"""
    kind = key[0]
    if kind in ("tensor", "variable", "ndarray"):
        return True
    if kind == "object":
        return bool(key[2])
    if kind == "container" and key[4]:
        return any(_heavy(item[1] if key[3] is not None else item) for item in key[4])
    return False


def _unwrap(obj: Any) -> Any:
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


def _unwrap_code(obj: Any) -> CodeType | None:
    code = getattr(_unwrap(obj), "__code__", None)
    return code if isinstance(code, CodeType) else None


def _is_tf_function(obj: Any) -> bool:
    t = type(obj)
    return (t.__module__ or "").startswith("tensorflow") and hasattr(obj, "python_function") and \
        hasattr(obj, "experimental_get_tracing_count")


def def_lines(path: Path) -> dict[tuple[str, int], tuple[int, int, list[int]]]:
    """(name, co_firstlineno) -> (def line, end line, statement lines) for every function in a file."""
    try:
        tree = ast.parse(module_text(path))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return {}
    out: dict[tuple[str, int], tuple[int, int, list[int]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            stmts = sorted({n.lineno for b in node.body for n in ast.walk(b) if isinstance(n, ast.stmt)})
            # a docstring is not an executable line
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str) and body[0].lineno in stmts:
                stmts.remove(body[0].lineno)
            out[(node.name, first)] = (node.lineno, node.end_lineno or node.lineno, stmts)
    return out


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
        for part in rec.qualname.split(".")[:-1]:
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
