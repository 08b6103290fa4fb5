"""The in-process recorder both tracer back ends feed: one ``Record`` per project function, dumped as a shard at exit.

The record itself is ``record.py``; existing ``tf.function`` objects are ``tfobjects.py``; the shard is ``shard.py``.

Everything here runs inside the user's program, so every entry point that the back ends call from a callback is
wrapped by them in try/except and errors are only counted. Memory is bounded: distinct signatures per function are
capped (``MAX_SIGNATURES``) and the rest counted as overflow, and so are the objects a method's calls are tracked on
(``instances.MAX_LIVE`` live ones, then the count is a lower bound).
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
import time
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from hybridize.tracer.cells import CellFiles
from hybridize.tracer.describe import InstanceOf, describe
from hybridize.tracer.record import (
    CO_OPTIMIZED,
    LIGHT_AFTER,
    MAX_SIGNATURES,
    SAMPLE_EVERY,
    Record,
    is_heavy,
    param_names,
)
from hybridize.tracer.shard import SHARD_FORMAT as SHARD_FORMAT
from hybridize.tracer.shard import def_lines as def_lines
from hybridize.tracer.shard import write_shard
from hybridize.tracer.tfobjects import bind_call as bind_call
from hybridize.tracer.tfobjects import project_tf_functions, resolve_autograph, unwrap, unwrap_code

AUTOGRAPH_MARK = "__autograph_generated_file"
# ``SHARD_FORMAT``, ``def_lines`` and ``bind_call`` are imported from here by the store and the back ends

_SKIP_DIRS = {"site-packages", "dist-packages", ".tox", ".nox", ".hybridize", "build", "__pycache__", ".git", "node_modules",
              ".eggs"}
_TEST_DIRS = {"tests", "test", "testing"}
# hybridize's own source folders are never profiled (they are project files when hybridize profiles itself)
_OWN_DIRS = {str(Path(__file__).resolve().parent.parent / d) for d in ("hybridize", "tracer", "static", "planner", "rewriter")}


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
        if not rec.candidate and any(is_heavy(k) for k in key):
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
        code = unwrap_code(fn)
        if code is None:
            return None
        rec = self.records.get(code)
        if rec is None:
            target = unwrap(fn)
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
        rec = resolve_autograph(self, code, frame)
        if rec is None:
            self.unmapped_autograph += 1
        self._autograph[code] = rec
        return rec

    def scan_hybrid(self) -> None:
        """At exit: mark every project function that is a tf.function object, with TensorFlow's own trace count."""
        for obj in project_tf_functions(self):
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
    def dump(self) -> None:
        """Write this process's shard once, with the tf.function objects found at exit."""
        if self.dumped or self.shard_dir is None:
            return
        self.dumped = True
        try:
            self.scan_hybrid()
        except Exception as exc:
            self.internal_error(exc)
        write_shard(self, self.shard_dir)
