"""Starts the tracer inside a process of the profiled command (booted by the generated ``sitecustomize``).

Configuration comes from the environment (set by ``hybridize profile``):
``HYBRIDIZE_TRACE_DIR`` (where this process writes its shard), ``HYBRIDIZE_ROOT``, ``HYBRIDIZE_INCLUDE`` and
``HYBRIDIZE_EXCLUDE`` (``os.pathsep``-separated paths / globs relative to the root), ``HYBRIDIZE_COVERAGE`` ("1"/"0").
The shard is written at exit: normal exit, Ctrl-C, SIGTERM, and ``os._exit`` (multiprocessing children).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from pathlib import Path
from typing import Any

from hybridize.tracer.backend import TracerBackend, start_backend
from hybridize.tracer.state import Recorder

RECORDER: Recorder | None = None
BACKEND: TracerBackend | None = None


def start() -> None:
    """Boot hook: install the back end for this Python version; never raises into the user's program."""
    global RECORDER, BACKEND
    trace_dir = os.environ.get("HYBRIDIZE_TRACE_DIR")
    root = os.environ.get("HYBRIDIZE_ROOT")
    if not trace_dir or not root or RECORDER is not None:
        return
    include = [p for p in os.environ.get("HYBRIDIZE_INCLUDE", "").split(os.pathsep) if p]
    exclude = [p for p in os.environ.get("HYBRIDIZE_EXCLUDE", "").split(os.pathsep) if p]
    rec = Recorder(Path(root), Path(trace_dir), include, exclude)
    RECORDER = rec
    backend = start_backend(rec)
    if backend is None:
        print("hybridize: no free sys.monitoring tool id; this process is not traced", file=sys.stderr)
        RECORDER = None
        return
    BACKEND = backend
    if os.environ.get("HYBRIDIZE_COVERAGE", "1") == "1":
        # Not coverage.py itself: deciding whether to trace each of TensorFlow's thousands of files cost 3 CPU-seconds
        # on the examples' tests (3.12), and its 3.11 trace function runs on every TensorFlow frame.
        backend.measure_lines()  # 3.12: sys.monitoring LINE once per line; 3.11: statement markers compiled in
        rec.lines_provider = backend.executed_lines
    from hybridize.tracer.sampler import start_sampler

    rec.sampler = start_sampler(rec)  # where module-level code and functions' own bodies spend the run
    atexit.register(finish)
    _patch_exit_paths()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)


def finish() -> None:
    """Stop the back end and write the shard (idempotent)."""
    rec = RECORDER
    if rec is None or rec.dumped:
        return
    try:
        rec.dump()
    except Exception as exc:
        print(f"hybridize: could not write the profile shard: {exc}", file=sys.stderr)


def _after_fork() -> None:
    """A forked child starts counting from zero (the parent's counts are the parent's shard)."""
    rec = RECORDER
    if rec is None:
        return
    rec.start_over()
    if BACKEND is not None:
        BACKEND.after_fork()


def _patch_exit_paths() -> None:
    from hybridize.tracer.exitpaths import before_os_exit

    before_os_exit(finish)
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            def _on_term(signum: int, frame: Any) -> None:
                finish()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

            signal.signal(signal.SIGTERM, _on_term)
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass
