"""The replacement for one target function, by trial mode (module docstring of ``trial_hook``):
``time`` (the original, an existing tf.function as is), ``graph`` (``tf.function(original, **settings)``) or
``eager`` (an existing tf.function's Python function), each inside the timing wrapper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridize.planner.hook_state import HookState, Stats
from hybridize.planner.hook_wrapper import Counter, make_wrapper


def is_tf_function(obj: Any) -> bool:
    return hasattr(obj, "python_function") and hasattr(obj, "experimental_get_tracing_count")


def wrap_target(state: HookState, target: dict[str, Any], raw: Any, is_method: bool, bound: bool = True) -> Any:
    """The replacement for one function object (``raw`` is the plain function or tf.function found).

    ``bound=False`` for a method found inside its own decorators' wrapper: there ``apply`` writes the tf.function
    under the wrapper, which calls it as a plain function with ``self`` as its first argument (no ``__get__``), so
    an ``input_signature`` meets ``self`` too; the trial calls it the same way, so it fails where apply would."""
    name = str(target["function"])
    mode = str(target.get("mode", "time"))
    stats = state.stats_for(name)
    tf_obj, call_obj = _callables(mode, raw, dict(target.get("settings") or {}))
    counter = _counter(tf_obj, stats, is_method and bound) if tf_obj is not None else None
    if is_method and bound and tf_obj is not None:
        bound_obj = tf_obj

        def call(self_obj: Any, *args: Any, **kwargs: Any) -> Any:
            return bound_obj.__get__(self_obj, type(self_obj))(*args, **kwargs)
    else:
        call = call_obj
    original = raw.python_function if is_tf_function(raw) else raw
    replay = int(target.get("replay", 0) or 0) if mode == "graph" else 0
    return make_wrapper(state, name, call, counter, original, is_method, replay)


def _callables(mode: str, raw: Any, settings: dict[str, Any]) -> tuple[Any, Any]:
    """(the tf.function whose traces are counted, or None; what the wrapper calls) for a trial mode."""
    if mode == "time":
        return (raw if is_tf_function(raw) else None), raw
    if mode == "eager":
        return None, (raw.python_function if is_tf_function(raw) else raw)
    if mode == "graph":
        tf_obj = _graph_function(raw.python_function if is_tf_function(raw) else raw, settings)
        return tf_obj, tf_obj
    raise ValueError(f"unknown trial mode {mode!r}")


def _graph_function(base: Callable[..., Any], settings: dict[str, Any]) -> Any:
    """``tf.function(base, ...)`` with the plan's settings (``input_signature`` from its JSON form)."""
    import tensorflow as tf

    kwargs: dict[str, Any] = {}
    if "input_signature" in settings:
        kwargs["input_signature"] = [
            tf.TensorSpec(shape=s.get("shape"), dtype=getattr(tf, str(s["dtype"])), name=s.get("name"))
            for s in settings["input_signature"]
        ]
    for key in ("reduce_retracing", "jit_compile", "autograph"):
        if key in settings:
            kwargs[key] = settings[key]
    return tf.function(base, **kwargs)


def _counter(fn_obj: Any, stats: Stats, per_instance: bool) -> Counter:
    """Reads the tracing count; a method's tf.function traces per bound instance, each counted apart."""
    if per_instance:
        def counter(self_obj: Any) -> int:
            bound = fn_obj.__get__(self_obj, type(self_obj)) if self_obj is not None else fn_obj
            count = int(bound.experimental_get_tracing_count())
            stats.note_traces(bound, count)
            return count
        return counter

    def count_all(self_obj: Any) -> int:
        count = int(fn_obj.experimental_get_tracing_count())
        stats.traces = count
        return count
    return count_all
