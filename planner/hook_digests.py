"""What a trial records about a call's values: digests of inputs and outputs (the eager-versus-graph result
comparison, ``planner/compare.py``), the argument signature (encoded by ``tracer/describe.py``, the profile's one
encoder), and the eager replay of a converted call in the same run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hybridize.planner.hook_state import Stats, error_text
from hybridize.planner.hook_tape import loaded_tf
from hybridize.tracer.describe import describe, to_json

MAX_SIGNATURES = 64


def array_digest(value: Any) -> dict[str, Any]:
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


def digest_value(value: Any, depth: int = 0) -> Any:
    """A small, comparable summary of a value: tensors by dtype, shape and sums; objects by their variables.
    (Not the profile's argument encoding: a digest keeps numbers to compare, never a signature.)"""
    if depth > 3:
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value if not isinstance(value, str) else value[:64]
    if isinstance(value, list | tuple):
        return [digest_value(v, depth + 1) for v in list(value)[:16]]
    if isinstance(value, dict):
        return {str(k): digest_value(v, depth + 1) for k, v in list(value.items())[:16]}
    tf = loaded_tf()
    if (tf is not None and isinstance(value, tf.Tensor | tf.Variable)) or hasattr(value, "__array__"):
        try:
            return array_digest(value)
        except Exception:
            return {"type": type(value).__name__}
    variables = getattr(value, "variables", None) if not isinstance(value, type) else None
    if variables is not None and not callable(variables):
        try:  # a Keras layer/model or tf.Module: its state is part of the input
            return {"type": type(value).__name__, "vars": [array_digest(v) for v in list(variables)[:64]]}
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
        digest = digest_value(attr, depth + 1)
        if isinstance(digest, dict) and digest.get("vars"):
            out[str(key)] = digest
            if len(out) >= 4:
                break
    return out


def record_signature(stats: Stats, signature: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Count the call's argument signature, encoded exactly as the tracer encodes the profile's (``describe``)."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    key = tuple((name, describe(value)) for name, value in bound.arguments.items())
    entry = stats.sigs.get(key)
    if entry is not None:
        entry[0] += 1
    elif len(stats.sigs) < MAX_SIGNATURES:
        stats.sigs[key] = [1, {name: to_json(k) for name, k in key}]


def replay_eagerly(stats: Stats, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                   result: Any) -> None:
    """The eager oracle within the same run: the same call again under ``tf.config.run_functions_eagerly(True)``
    (the planner only asks for functions whose source shows no randomness or state changes), both outputs
    digested for the planner's float-tolerant comparison. Outside the timed region; never raises."""
    tf = loaded_tf()
    if tf is None:
        return
    entry: dict[str, Any] = {}
    try:
        entry["graph"] = digest_value(result)
        previous = bool(tf.config.functions_run_eagerly())
        tf.config.run_functions_eagerly(True)
        try:
            entry["eager"] = digest_value(call(*args, **kwargs))
        finally:
            tf.config.run_functions_eagerly(previous)
    except Exception as exc:
        entry["error"] = error_text(exc)
    stats.replays.append(entry)
