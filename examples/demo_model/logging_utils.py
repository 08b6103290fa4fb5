"""Bookkeeping around training: console logging, loss history, the global step counter.

Everything here has Python side effects, so it must stay eager: under tf.function a ``print`` runs once at trace
time, an ``append`` stores one symbolic tensor, ``global`` counters move once per trace, and ``.numpy()`` fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

GLOBAL_STEP = 0
EXAMPLES_SEEN = 0


def metrics_to_python(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Tensors / variables / numbers -> plain floats (for printing, JSON, early-stopping decisions)."""
    return {name: float(tf.convert_to_tensor(value).numpy()) for name, value in metrics.items()}


def log_metrics(step: int, metrics: Mapping[str, Any]) -> str:
    """Print one progress line such as ``step 50: loss=0.4312 lr=0.0030`` and return it."""
    values = metrics_to_python(metrics)
    line = f"step {step}: " + " ".join(f"{name}={value:.4f}" for name, value in values.items())
    print(line)
    return line


def record_loss(history: list[float], loss: tf.Tensor) -> None:
    """Append this step's loss to the caller's history list (plots, early stopping)."""
    history.append(float(loss))


def advance_global_step(batch: tf.Tensor | None = None) -> int:
    """Count one optimisation step (and the examples in ``batch``); returns the new global step."""
    global GLOBAL_STEP, EXAMPLES_SEEN
    GLOBAL_STEP += 1
    if batch is not None:
        EXAMPLES_SEEN += int(batch.shape[0])
    return GLOBAL_STEP


def reset_counters() -> None:
    """Back to step 0 (a fresh run in the same process)."""
    global GLOBAL_STEP, EXAMPLES_SEEN
    GLOBAL_STEP = 0
    EXAMPLES_SEEN = 0
