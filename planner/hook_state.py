"""What one process of a trial run measured, and the results file it leaves for the planner.

``Stats`` is one wrapped function's counts (each wrapper holds its own, reset in place in a forked child);
``HookState`` is the process's: the targets from the config, every ``Stats``, the caller -> callee edges, the
tests seen, and what could not be wrapped. ``HookState.write`` is the only output of a trial process.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from hybridize.identity import FunctionId
from hybridize.tracer.instances import Instances


class Stats:
    __slots__ = ("calls", "digests", "errors", "instances", "min_s", "nested_calls", "objects", "replays",
                 "retired_traces", "sigs", "taped_calls", "time_s", "trace_calls", "trace_cpu_s", "trace_time_s", "traces")

    def __init__(self) -> None:
        self.calls = 0  # calls executed eagerly (outside any trace)
        self.time_s = 0.0  # inclusive wall time of those calls
        self.nested_calls = 0  # calls made while an enclosing tf.function was tracing
        self.trace_calls = 0  # eager calls during which this function traced
        self.trace_time_s = 0.0  # wall time of those calls
        self.trace_cpu_s = 0.0  # CPU time of this process during those calls (what tracing costs without contention)
        self.traces = 0
        self.instances: dict[int, tuple[Any, int]] = {}  # id(bound tf.function) -> (weak ref to it, its tracing count)
        self.retired_traces = 0  # traces of bound tf.functions whose id was taken over by a new one (object freed)
        self.objects: Instances | None = None  # distinct ``self`` objects of a method (recorded with signatures)
        self.errors: dict[str, int] = {}
        self.digests: list[dict[str, Any]] = []
        self.replays: list[dict[str, Any]] = []  # {"graph": digest, "eager": digest} or {"error": ...}
        self.sigs: dict[tuple[Any, ...], list[Any]] = {}  # signature key -> [count, args] (the profile's signature format)
        self.taped_calls = 0  # calls made while a GradientTape could be recording them
        self.min_s: float | None = None  # the fastest call that did not trace (noise only adds time)

    def to_json(self) -> dict[str, Any]:
        traces = self.traces + self.retired_traces + sum(n for _, n in self.instances.values())
        out = {"calls": self.calls, "time_s": self.time_s, "nested_calls": self.nested_calls,
               "trace_calls": self.trace_calls, "trace_time_s": self.trace_time_s, "trace_cpu_s": self.trace_cpu_s,
               "traces": traces,
               "errors": self.errors, "digests": self.digests, "replays": self.replays,
               "signatures": [{"count": c, "args": a} for c, a in self.sigs.values()]}
        if self.objects is not None:
            out.update(self.objects.to_json())
        if self.taped_calls:
            out["taped_calls"] = self.taped_calls
        if self.min_s is not None:
            out["min_s"] = self.min_s
        return out

    def note_traces(self, bound: Any, count: int) -> None:
        """Keep a per-instance tf.function's tracing count; when a freed object's bound function left its id to a
        new one (the per-call-object pattern), its traces are kept apart instead of being overwritten."""
        key = id(bound)
        old = self.instances.get(key)
        if old is not None and old[0] is not None and old[0]() is not bound:
            self.retired_traces += old[1]
        try:
            ref: Any = weakref.ref(bound)
        except TypeError:  # not expected (tf.function objects support weak references): compared by id
            ref = None
        self.instances[key] = (ref, count)


class HookState:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.out_dir = str(config["out_dir"])
        self.targets: dict[str, list[dict[str, Any]]] = {}
        for target in config.get("targets", []):
            module = FunctionId.module_of(str(target["function"]))
            self.targets.setdefault(module, []).append(target)
        self.stats: dict[str, Stats] = {}
        self.edges: dict[tuple[str, str], int] = {}
        self.patched: list[str] = []
        self.placed: set[str] = set()  # wrapped where defined (``placement``): post-execution patching skips them
        self.hook_errors: list[str] = []
        self.unreachable: dict[str, str] = {}  # function -> why the hook could not put a tf.function where apply would
        self.tests: dict[str, dict[str, Any]] = {}
        self.digest_calls = int(config.get("digest_calls", 0))
        self.record_signatures = bool(config.get("record_signatures", False))
        self.local = threading.local()
        self.started = time.time()
        self.gradient_s = 0.0  # GradientTape.gradient calls made outside every wrapped function (the backward
        self.gradient_calls = 0  # pass of conversions differentiated by a tape outside them)
        self.recording: Callable[[], bool] | None = None  # whether a tape could record now (once TF is loaded)
        self.gradient_hooked = False
        from hybridize.planner.earlystop import Stopper

        self.stopper = Stopper(config["stop"]) if config.get("stop") else None
        self.stopped: dict[str, Any] | None = None  # where the run stopped early, and the calls made by then
        self.written = False  # the results file of this process is written once (atexit or os._exit)

    def start_over(self) -> None:
        """A forked child measures its own calls from zero (each wrapper holds its ``Stats``: reset in place)."""
        for st in self.stats.values():
            st.__init__()  # type: ignore[misc]
        self.edges.clear()
        self.tests.clear()
        self.gradient_s, self.gradient_calls = 0.0, 0
        self.local = threading.local()
        self.started = time.time()
        self.stopped = None
        self.written = False

    def stats_for(self, name: str) -> Stats:
        st = self.stats.get(name)
        if st is None:
            st = self.stats[name] = Stats()
        return st

    def write(self) -> None:
        data = {
            "pid": os.getpid(),
            "argv": list(sys.argv),
            "duration_s": time.time() - self.started,
            "patched": self.patched,
            "hook_errors": self.hook_errors,
            "unreachable": self.unreachable,
            "functions": {k: v.to_json() for k, v in self.stats.items()},
            "edges": [[a, b, n] for (a, b), n in self.edges.items()],
            "tests": self.tests,
            "gradient": {"s": self.gradient_s, "calls": self.gradient_calls},
            "stopped": self.stopped,
        }
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)


def short_error(text: str) -> str:
    """One line for an error message; TensorFlow's "in user code:" preamble is replaced by its last line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    first = lines[0]
    if len(lines) > 1 and ("in user code" in first or first.endswith(":")):
        first = f"{first} ... {lines[-1]}"
    return first[:300]


def error_text(exc: BaseException) -> str:
    """How a wrapped call's (or a replay's) exception is recorded: its type and one line."""
    return f"{type(exc).__name__}: {short_error(str(exc))}"
