"""A low-rate stack sampler: where the main thread's time goes when it is not inside a project function's own call.

The function records count calls and time per project function, but a training script often spends its time in
module-level code (a ``for`` loop body with the forward pass, tape and optimizer step inline) or in the own body of
``main()``: no function record shows that. A daemon thread looks at the main thread's stack every ``interval_s``
(``sys._current_frames``, so it works alike on 3.11 and 3.12 and does not depend on ``sys.monitoring``) and counts the
innermost PROJECT frame's (file, scope, line): library frames above it (TensorFlow running an op the line called) are
charged to that line. It reads code objects and line numbers only, never a local variable, so never a tensor value.
An exception inside it is swallowed and counted; after ``MAX_ERRORS`` it stops sampling.

Only the first traced process of a run samples (``OWNER_ENV``, inherited by its children): the share it reports is a
share of that process's wall time. ``HYBRIDIZE_SAMPLE_MS=0`` turns it off.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

INTERVAL_ENV = "HYBRIDIZE_SAMPLE_MS"
OWNER_ENV = "HYBRIDIZE_SAMPLER_PID"
DEFAULT_MS = 10.0
MAX_DEPTH = 400  # frames walked per sample (deep recursion: the sample counts with no project frame)
MAX_ERRORS = 50
MODULE_SCOPE = "<module>"
_UNSEEN = object()


class Sampler:
    """Counts, per sample of the main thread, the innermost project frame's (file, scope, line)."""

    def __init__(self, recorder: Any, interval_s: float = DEFAULT_MS / 1000, thread_id: int | None = None) -> None:
        self.recorder = recorder  # a tracer.state.Recorder: its project filter (cached per file name) decides
        self.interval_s = interval_s
        self.thread_id = thread_id if thread_id is not None else threading.get_ident()
        self.total = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.counts: dict[tuple[str, str], dict[int, int]] = {}  # (file, scope) -> line -> samples
        self._files: dict[str, Any] = {}  # co_filename -> project relpath or None (a method call per frame cost 1 us)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused = False

    def start(self) -> bool:
        if not hasattr(sys, "_current_frames"):
            return False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hybridize-sampler", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()

    def pause_for_fork(self) -> None:
        """Before ``os.fork``: end the thread, so that the program forks a single-threaded process as it would
        untraced (3.12 prints a DeprecationWarning for a fork of a multi-threaded process)."""
        thread = self._thread
        if thread is not None and thread.is_alive() and not self._stop.is_set():
            before = _os_threads()
            self._stop.set()
            thread.join(timeout=1.0)
            self._paused = True
            for _ in range(50):  # join returns just before the OS thread is gone: wait for that (10 ms at most)
                if before is None or (_os_threads() or 0) < before:
                    break
                time.sleep(0.0002)

    def resume_after_fork(self) -> None:
        """In the parent after ``os.fork``: sample again (the child's recorder drops this sampler)."""
        if self._paused:
            self._paused = False
            self.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # never into the program: counted, and sampling ends if it keeps failing
                self.errors += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
                if self.errors >= MAX_ERRORS:
                    return

    def sample(self) -> None:
        """One sample of the watched thread (a no-op once it has ended)."""
        frame = sys._current_frames().get(self.thread_id)
        if frame is None:
            return
        files = self._files
        key: tuple[str, str] | None = None
        line = 0
        depth = 0
        while frame is not None and depth < MAX_DEPTH:
            code = frame.f_code
            rel = files.get(code.co_filename, _UNSEEN)
            if rel is _UNSEEN:
                rel = files[code.co_filename] = self.recorder.project_relpath(code.co_filename)
            if rel is not None:
                offset = self.recorder.cells.offset(code.co_filename)
                if code.co_name == MODULE_SCOPE:
                    scope = MODULE_SCOPE
                else:
                    scope = f"{getattr(code, 'co_qualname', code.co_name)}@{code.co_firstlineno + offset}"
                key = (str(rel), scope)
                line = (frame.f_lineno or 0) + offset
                break
            frame = frame.f_back
            depth += 1
        with self._lock:
            self.total += 1
            if key is not None:
                lines = self.counts.setdefault(key, {})
                lines[line] = lines.get(line, 0) + 1

    def to_json(self) -> dict[str, Any]:
        """The shard's ``samples`` entry (sampling stops: this is called at exit)."""
        self.stop()
        with self._lock:
            files: dict[str, dict[str, dict[str, int]]] = {}
            for (file, scope), lines in self.counts.items():
                files.setdefault(file, {})[scope] = {str(n): c for n, c in sorted(lines.items())}
            return {"interval_s": self.interval_s, "total": self.total, "errors": self.errors,
                    "error_samples": list(self.error_samples), "files": files}


def start_sampler(recorder: Any) -> Sampler | None:
    """Start sampling this (main) thread when this is the run's first traced process; never raises."""
    try:
        if os.environ.get(OWNER_ENV):
            return None  # a child process of the run: its parent samples
        os.environ[OWNER_ENV] = str(os.getpid())
        try:
            ms = float(os.environ.get(INTERVAL_ENV, DEFAULT_MS))
        except ValueError:
            ms = DEFAULT_MS
        if ms <= 0:
            return None
        sampler = Sampler(recorder, max(ms, 1.0) / 1000)
        if not sampler.start():
            return None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=_guarded(sampler.pause_for_fork), after_in_parent=_guarded(sampler.resume_after_fork))
        return sampler
    except Exception:
        return None


def _os_threads() -> int | None:
    """This process's OS threads (Linux), as Python 3.12 counts them before warning about a fork."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _guarded(hook: Any) -> Any:
    """A fork hook that never raises into the program (an error there is counted like a sampling error)."""
    def run() -> None:
        try:
            hook()
        except Exception:
            hook.__self__.errors += 1
    return run


def merge_samples(into: dict[str, Any], data: Any) -> None:
    """Add one shard's (or one stored profile's) ``samples`` to ``into`` (the profile meta's ``samples``);
    anything malformed is ignored: samples are a hint, never a reason to lose a shard."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return
    try:
        total = int(data.get("total") or 0)
        files = {str(f): {str(s): {str(n): int(c) for n, c in lines.items()} for s, lines in scopes.items()}
                 for f, scopes in data["files"].items()}
        errors = int(data.get("errors") or 0)
        interval = float(data.get("interval_s") or DEFAULT_MS / 1000)
    except (TypeError, ValueError, AttributeError):
        return
    into["total"] = int(into.get("total") or 0) + total
    into["errors"] = int(into.get("errors") or 0) + errors
    into["interval_s"] = interval
    into["processes"] = int(into.get("processes") or 0) + int(data.get("processes") or 1)
    merged = into.setdefault("files", {})
    for file, scopes in files.items():
        for scope, lines in scopes.items():
            target = merged.setdefault(file, {}).setdefault(scope, {})
            for n, c in lines.items():
                target[n] = target.get(n, 0) + c
