"""What TensorFlow is doing around a wrapped call: loaded or not, executing eagerly or tracing, and the time
``GradientTape.gradient`` spends outside every wrapped function.

The hook never imports TensorFlow itself (a program that does not use it must not pay for it): everything here
looks it up in ``sys.modules``.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import Any

from hybridize.planner.hook_state import HookState


def loaded_tf() -> Any:
    """The program's ``tensorflow`` module, or None while it has not imported it."""
    return sys.modules.get("tensorflow")


def executing_eagerly() -> bool:
    tf = loaded_tf()
    if tf is None:
        return True
    try:
        return bool(tf.executing_eagerly())
    except Exception:
        return True


def time_gradients(state: HookState) -> None:
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
        if getattr(local, "stack", None) or getattr(local, "in_gradient", False) or not executing_eagerly():
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
