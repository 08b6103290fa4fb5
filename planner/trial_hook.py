"""The in-process import hook of the trial runs: wraps chosen functions as their modules are imported.

Booted in every Python process of a trial run (``run_command(boot=["hybridize.planner.trial_hook:install"])``)
and configured by a JSON file named in ``HYBRIDIZE_TRIAL_CONFIG``. The source is never touched: each chosen
function or method is wrapped where it is defined (``placement``: an extra decorator compiled in memory, for target
modules with source and for the program's main file run through ``hybridize.tracer.runmain``), or else replaced in
its module's namespace after the module executed, by

- ``time``: a timing wrapper around the original (the eager baseline; an existing tf.function as is),
- ``graph``: a timing wrapper around ``tf.function(original, **settings)`` (convert, or tune an existing one),
- ``eager``: a timing wrapper around an existing tf.function's Python function (de-hybridize).

Per function it records calls, inclusive time (calls made while an outer graph is being traced are
counted apart: they are trace-time work, not execution), traces (``experimental_get_tracing_count``),
errors, which timed function called which, and digests of the first inputs/outputs for the
eager-versus-graph result comparison. Each process writes one JSON file at exit. Nothing here may break
the user's program: every failure of the hook itself is recorded and swallowed.
"""

from __future__ import annotations

import atexit
import functools
import importlib.abc
import importlib.machinery
import inspect
import json
import math
import os
import sys
import threading
import time
import types
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from hybridize.tracer.describe import describe, to_json
from hybridize.tracer.instances import Instances

CONFIG_ENV = "HYBRIDIZE_TRIAL_CONFIG"

_state: _State | None = None


class _Stats:
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


class _State:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.out_dir = str(config["out_dir"])
        self.targets: dict[str, list[dict[str, Any]]] = {}
        for target in config.get("targets", []):
            module, _, _ = str(target["function"]).partition(":")
            self.targets.setdefault(module, []).append(target)
        self.stats: dict[str, _Stats] = {}
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
        """A forked child measures its own calls from zero (each wrapper holds its ``_Stats``: reset in place)."""
        for st in self.stats.values():
            st.__init__()  # type: ignore[misc]
        self.edges.clear()
        self.tests.clear()
        self.gradient_s, self.gradient_calls = 0.0, 0
        self.local = threading.local()
        self.started = time.time()
        self.stopped = None
        self.written = False

    def stats_for(self, name: str) -> _Stats:
        st = self.stats.get(name)
        if st is None:
            st = self.stats[name] = _Stats()
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


def _tf() -> Any:
    return sys.modules.get("tensorflow")


def _executing_eagerly() -> bool:
    tf = _tf()
    if tf is None:
        return True
    try:
        return bool(tf.executing_eagerly())
    except Exception:
        return True


def _array_digest(value: Any) -> dict[str, Any]:
    import numpy as np

    arr = np.asarray(value)
    out: dict[str, Any] = {"dtype": str(arr.dtype), "shape": list(arr.shape)}
    if arr.dtype.kind in "biuf":
        flat = arr.astype(np.float64).ravel()
        # sum, sum of squares and a position-weighted sum: equal sums of different arrays (softmax rows) still differ
        weights = np.cos(np.arange(flat.size, dtype=np.float64) * 0.7)
        for key, total in (("sum", flat.sum()), ("sq", (flat * flat).sum()), ("w", (flat * weights).sum())):
            out[key] = float(total) if math.isfinite(total) else str(total)
    return out


def _digest_value(value: Any, depth: int = 0) -> Any:
    """A small, comparable summary of a value: tensors by dtype, shape and sums; objects by their variables."""
    if depth > 3:
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value if not isinstance(value, str) else value[:64]
    if isinstance(value, list | tuple):
        return [_digest_value(v, depth + 1) for v in list(value)[:16]]
    if isinstance(value, dict):
        return {str(k): _digest_value(v, depth + 1) for k, v in list(value.items())[:16]}
    tf = _tf()
    if (tf is not None and isinstance(value, tf.Tensor | tf.Variable)) or hasattr(value, "__array__"):
        try:
            return _array_digest(value)
        except Exception:
            return {"type": type(value).__name__}
    variables = getattr(value, "variables", None) if not isinstance(value, type) else None
    if variables is not None and not callable(variables):
        try:  # a Keras layer/model or tf.Module: its state is part of the input
            return {"type": type(value).__name__, "vars": [_array_digest(v) for v in list(variables)[:64]]}
        except Exception:
            pass
    held = _held_state(value, depth)
    return {"type": type(value).__name__, "held": held} if held else {"type": type(value).__name__}


def _held_state(value: Any, depth: int) -> dict[str, Any]:
    """The variables of the models/layers/modules a plain object holds in its attributes (``self.model``): state a
    method reads through ``self``, so two runs whose unseeded random weights differ are not "the same inputs" (their
    outputs differ eager against eager: tf-keras-vis ``Saliency._get_gradients``)."""
    attrs = getattr(value, "__dict__", None)
    if not isinstance(attrs, dict) or depth >= 3:
        return {}
    out: dict[str, Any] = {}
    for key, attr in list(attrs.items())[:32]:
        if isinstance(attr, type) or getattr(type(attr), "variables", None) is None:
            continue
        digest = _digest_value(attr, depth + 1)
        if isinstance(digest, dict) and digest.get("vars"):
            out[str(key)] = digest
            if len(out) >= 4:
                break
    return out


MAX_SIGNATURES = 64


def _record_signature(stats: _Stats, signature: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Count the call's argument signature, encoded exactly as the tracer encodes the profile's (``describe``)."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    key = tuple((name, describe(value)) for name, value in bound.arguments.items())
    entry = stats.sigs.get(key)
    if entry is not None:
        entry[0] += 1
    elif len(stats.sigs) < MAX_SIGNATURES:
        stats.sigs[key] = [1, {name: to_json(k) for name, k in key}]


def _replay_eagerly(stats: _Stats, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                    result: Any) -> None:
    """The eager oracle within the same run: the same call again under ``tf.config.run_functions_eagerly(True)``
    (the planner only asks for functions whose source shows no randomness or state changes), both outputs
    digested for the planner's float-tolerant comparison. Outside the timed region; never raises."""
    tf = _tf()
    if tf is None:
        return
    entry: dict[str, Any] = {}
    try:
        entry["graph"] = _digest_value(result)
        previous = bool(tf.config.functions_run_eagerly())
        tf.config.run_functions_eagerly(True)
        try:
            entry["eager"] = _digest_value(call(*args, **kwargs))
        finally:
            tf.config.run_functions_eagerly(previous)
    except Exception as exc:
        entry["error"] = f"{type(exc).__name__}: {short_error(str(exc))}"
    stats.replays.append(entry)


def _time_gradients(state: _State) -> None:
    """Time ``GradientTape.gradient`` calls made outside every wrapped function. A function differentiated under a
    tape outside it saves much of its time there once converted (its backward pass runs as one graph), which its
    own call does not show; the planner credits the change to the run's differentiated conversions."""
    state.gradient_hooked = True
    try:
        from tensorflow.python.eager import backprop, record

        state.recording = record.could_possibly_record
        original = backprop.GradientTape.gradient
    except Exception:
        return
    if getattr(original, "__hybridize_trial__", False):
        return
    local = state.local

    @functools.wraps(original)
    def gradient(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(local, "stack", None) or getattr(local, "in_gradient", False) or not _executing_eagerly():
            return original(self, *args, **kwargs)
        local.in_gradient = True
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            state.gradient_s += time.perf_counter() - start
            state.gradient_calls += 1
            local.in_gradient = False

    gradient.__hybridize_trial__ = True  # type: ignore[attr-defined]
    backprop.GradientTape.gradient = gradient


def _make_wrapper(state: _State, name: str, call: Callable[..., Any], counter: Callable[[Any], int] | None,
                  original: Callable[..., Any], is_method: bool, replay: int = 0) -> Callable[..., Any]:
    stats = state.stats_for(name)
    local = state.local
    edges = state.edges
    signature = None
    if state.record_signatures:
        try:
            signature = inspect.signature(original)
        except (TypeError, ValueError):
            signature = None
        if is_method and stats.objects is None:
            stats.objects = Instances()
    objects = stats.objects if state.record_signatures and is_method else None

    def in_trace() -> bool:
        if _executing_eagerly():
            return False
        stats.nested_calls += 1
        return True

    # Inside a caller's trace the wrapper must be invisible: AutoGraph converts it as it would have converted the
    # function (so the function is converted exactly when its caller's code is), and the wrapper stays this small
    # because converting it is paid in the caller's measured trace (the whole measuring body cost 0.2-0.3 s per
    # caller trace; marking the wrapper an AutoGraph artifact and converting the function by hand instead broke
    # GPflow's `check_shapes`-decorated functions, which AutoGraph leaves unconverted when called normally).
    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if in_trace():
            return call(*args, **kwargs)
        return measured(args, kwargs)

    def measured(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stack = getattr(local, "stack", None)
        if stack is None:
            stack = local.stack = []
        if stack:
            key = (stack[-1], name)
            edges[key] = edges.get(key, 0) + 1
        if signature is not None:
            try:
                _record_signature(stats, signature, args, kwargs)
            except Exception:
                pass
        if objects is not None and args:
            try:
                objects.add(args[0])
            except Exception:
                pass
        digest = None
        if len(stats.digests) < state.digest_calls:
            try:
                digest = {"in": _digest_value((args, kwargs))}
            except Exception:
                digest = None
        before = -1
        if counter is not None:
            try:
                before = counter(args[0] if is_method and args else None)
            except Exception:
                before = -1
        if not state.gradient_hooked and "tensorflow" in sys.modules:  # never imported by us
            _time_gradients(state)
        if state.recording is not None:
            try:
                if state.recording():
                    stats.taped_calls += 1
            except Exception:
                state.recording = None
        stack.append(name)
        cpu_start = time.process_time() if counter is not None else 0.0
        start = time.perf_counter()
        try:
            result = call(*args, **kwargs)
        except BaseException as exc:
            err = f"{type(exc).__name__}: {short_error(str(exc))}"
            stats.errors[err] = stats.errors.get(err, 0) + 1
            raise
        finally:
            elapsed = time.perf_counter() - start
            stack.pop()
            stats.calls += 1
            stats.time_s += elapsed
        traced = False
        if counter is not None:
            try:
                after = counter(args[0] if is_method and args else None)
                traced = before >= 0 and after > before
                if traced:
                    stats.trace_calls += 1
                    stats.trace_time_s += elapsed
                    stats.trace_cpu_s += time.process_time() - cpu_start
            except Exception:
                pass
        if not traced and (stats.min_s is None or elapsed < stats.min_s):
            stats.min_s = elapsed
        if digest is not None:
            try:
                digest["out"] = _digest_value(result)
                stats.digests.append(digest)
            except Exception:
                pass
        if len(stats.replays) < replay:
            _replay_eagerly(stats, call, args, kwargs, result)
        if state.stopper is not None:
            state.stopper.after_call(state, name, stats.calls, not stack)
        return result

    timed.__hybridize_trial__ = True  # type: ignore[attr-defined]
    return timed


def _is_tf_function(obj: Any) -> bool:
    return hasattr(obj, "python_function") and hasattr(obj, "experimental_get_tracing_count")


def _wrap_target(state: _State, target: dict[str, Any], raw: Any, is_method: bool, bound: bool = True) -> Any:
    """The replacement for one function object (``raw`` is the plain function or tf.function found).

    ``bound=False`` for a method found inside its own decorators' wrapper: there ``apply`` writes the tf.function
    under the wrapper, which calls it as a plain function with ``self`` as its first argument (no ``__get__``), so
    an ``input_signature`` meets ``self`` too; the trial calls it the same way, so it fails where apply would."""
    name = str(target["function"])
    mode = str(target.get("mode", "time"))
    settings = dict(target.get("settings") or {})
    stats = state.stats_for(name)
    tf_obj: Any = None
    if mode == "time":
        if _is_tf_function(raw):
            tf_obj = raw
        call_obj = raw
    elif mode == "eager":
        call_obj = raw.python_function if _is_tf_function(raw) else raw
    elif mode == "graph":
        import tensorflow as tf

        base = raw.python_function if _is_tf_function(raw) else raw
        kwargs: dict[str, Any] = {}
        if "input_signature" in settings:
            kwargs["input_signature"] = [
                tf.TensorSpec(shape=s.get("shape"), dtype=getattr(tf, str(s["dtype"])), name=s.get("name"))
                for s in settings["input_signature"]
            ]
        for key in ("reduce_retracing", "jit_compile", "autograph"):
            if key in settings:
                kwargs[key] = settings[key]
        tf_obj = tf.function(base, **kwargs)
        call_obj = tf_obj
    else:
        raise ValueError(f"unknown trial mode {mode!r}")

    counter: Callable[[Any], int] | None = None
    if tf_obj is not None:
        fn_obj = tf_obj
        if is_method and bound:
            def counter(self_obj: Any) -> int:
                bound = fn_obj.__get__(self_obj, type(self_obj)) if self_obj is not None else fn_obj
                count = int(bound.experimental_get_tracing_count())
                stats.note_traces(bound, count)
                return count
        else:
            def counter(self_obj: Any) -> int:
                count = int(fn_obj.experimental_get_tracing_count())
                stats.traces = count
                return count

    if is_method and bound and tf_obj is not None:
        bound_obj = tf_obj

        def call(self_obj: Any, *args: Any, **kwargs: Any) -> Any:
            return bound_obj.__get__(self_obj, type(self_obj))(*args, **kwargs)
    else:
        call = call_obj

    original = raw.python_function if _is_tf_function(raw) else raw
    replay = int(target.get("replay", 0) or 0) if mode == "graph" else 0
    return _make_wrapper(state, name, call, counter, original, is_method, replay)


def _patch_module(state: _State, module: types.ModuleType) -> None:
    for target in state.targets.get(module.__name__, []):
        name = str(target["function"])
        if name in state.placed:
            continue
        try:
            _, _, qualname = name.partition(":")
            parts = qualname.split(".")
            if "<locals>" in parts:
                state.hook_errors.append(f"{name}: nested function, cannot be reached from its module")
                continue
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
                continue
            if getattr(raw, "__hybridize_trial__", False):
                continue
            if _is_profiled(raw, module.__name__, qualname):
                replacement = rewrap(_wrap_target(state, target, raw, is_method))
                setattr(owner, attr, replacement)
                state.patched.append(name)
                continue
            # the attribute is the function's own decorators' wrapper: `hybridize apply` puts @tf.function
            # under them, so the trial wraps the inner reference and the outer decorators keep running
            found = _find_inner(raw, module.__name__, qualname)
            if found is None:
                why = (f"the module attribute is a {type(raw).__name__} wrapping it (another decorator) and no "
                       "closure cell or attribute holding the original was found: the conversion apply would make "
                       "cannot be tried in memory")
                state.unreachable[name] = why
                state.hook_errors.append(f"{name}: not reachable: {why}")
                continue
            put, inner = found
            if getattr(inner, "__hybridize_trial__", False):
                continue
            put(_wrap_target(state, target, inner, is_method, bound=False))
            state.patched.append(name)
        except Exception as exc:  # never break the user's import
            state.hook_errors.append(f"{name}: {type(exc).__name__}: {exc}")


def _is_profiled(obj: Any, module: str, qualname: str) -> bool:
    """Whether ``obj`` (a function or tf.function) is the profiled function itself, judged by its code object
    (``functools.wraps`` copies ``__qualname__`` onto a wrapper, but not ``__code__``)."""
    fn = obj.python_function if _is_tf_function(obj) else obj
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return False
    name_ok = (code.co_qualname == qualname if hasattr(code, "co_qualname")
               else code.co_name == qualname.rsplit(".", 1)[-1])
    return name_ok and getattr(fn, "__module__", module) == module


def _find_inner(raw: Any, module: str, qualname: str) -> tuple[Callable[[Any], None], Any] | None:
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
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if _is_profiled(content, module, qualname):
                def put_cell(value: Any, cell: Any = cell) -> None:
                    cell.cell_contents = value
                return put_cell, content
            if callable(content):
                queue.append((content, depth + 1))
        if not isinstance(obj, types.FunctionType | type | types.ModuleType):
            for key, value in list(getattr(obj, "__dict__", {}).items()):
                if key == "__wrapped__":
                    continue
                if _is_profiled(value, module, qualname):
                    def put_attr(new: Any, owner: Any = obj, key: str = key) -> None:
                        setattr(owner, key, new)
                    return put_attr, value
                if callable(value) and not isinstance(value, type):
                    queue.append((value, depth + 1))
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            queue.append((wrapped, depth + 1))
    return None


class _Loader(importlib.abc.Loader):
    """Delegates to the real loader, then patches the freshly executed module."""

    def __init__(self, state: _State, inner: Any) -> None:
        self._state = state
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: types.ModuleType) -> None:
        from hybridize.planner import placement

        if not placement.exec_module(self._state, self._inner, module):
            self._inner.exec_module(module)
        _patch_module(self._state, module)

    def __getattr__(self, item: str) -> Any:  # get_source, get_code, is_package, ... for tools that ask
        return getattr(self._inner, item)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, state: _State) -> None:
        self._state = state

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None) -> Any:
        if fullname not in self._state.targets:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(self._state, spec.loader)
                return spec
        return None


def install() -> None:
    """Boot entry point: read the config, hook imports, register the exit writer. Silent without config."""
    global _state
    path = os.environ.get(CONFIG_ENV)
    if not path or _state is not None:
        return
    with open(path, encoding="utf-8") as fh:
        config = json.load(fh)
    state = _State(config)
    _state = state
    sys.meta_path.insert(0, _Finder(state))
    from hybridize.planner import placement

    placement.install(state)  # the main program, when run through hybridize.tracer.runmain
    from hybridize.planner import nbplace

    nbplace.install(state)  # notebook cells, as a Jupyter kernel runs them
    for module_name in list(state.targets):
        module = sys.modules.get(module_name)
        if module is not None:
            _patch_module(state, module)
    atexit.register(_write_at_exit)
    _follow_forks()


def _write_at_exit() -> None:
    if _state is not None and not _state.written:
        try:
            _state.written = True
            _state.write()
        except Exception:
            pass


def _follow_forks() -> None:
    """A forked worker (``multiprocessing``'s fork start method, a pool) ends with ``os._exit``, which skips
    ``atexit``: its calls were lost, and its function was reported not measured although the parent had patched it.
    A child starts its own counts (the parent's stay the parent's) and writes them on ``os._exit`` too."""
    from hybridize.tracer.exitpaths import before_os_exit

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_start_over_in_child)
    before_os_exit(_write_at_exit)


def _start_over_in_child() -> None:
    if _state is not None:
        try:
            _state.start_over()
        except Exception:
            pass


def record_test(nodeid: str, outcome: str, message: str = "") -> None:
    """Called by the trial pytest plugin: the worst outcome of a test's phases wins."""
    if _state is None:
        return
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    old = _state.tests.get(nodeid)
    if old is None or rank.get(outcome, 0) > rank.get(str(old.get("outcome")), 0):
        _state.tests[nodeid] = {"outcome": outcome, "message": message[:500]}


def only_tests() -> list[str] | None:
    """Node ids a bisection run restricts pytest to (None: run everything)."""
    if _state is None:
        return None
    only = _state.config.get("only_tests")
    return None if only is None else [str(x) for x in only]
