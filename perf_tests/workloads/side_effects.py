"""Workload: functions with Python side effects that graph mode would silently change; all must stay eager.

Each takes a tensor, so a purely type-based rule would pick it. Under ``tf.function``: ``print`` runs once at trace
time, the list gets one symbolic tensor, the counter and the attribute move once per trace, Python ``random`` and
``next()`` are frozen into constants, and ``.numpy()`` raises.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow as tf

BATCHES_SEEN = 0


class RunningStats:
    """Last and running-maximum gradient norm, read by the training loop for early stopping."""

    def __init__(self) -> None:
        self.last_norm: Any = None
        self.updates = 0


def log_batch(step: int, x: tf.Tensor) -> None:
    """Print a progress line with the batch shape."""
    print(f"batch {step}: shape={tuple(x.shape)}")


def remember(history: list[tf.Tensor], loss: tf.Tensor) -> tf.Tensor:
    """Append the loss to the caller's history and return the running mean of the history."""
    history.append(loss)
    return tf.add_n(history) / len(history)


def count_batch(x: tf.Tensor) -> tf.Tensor:
    """Bump the module-level batch counter; pass the batch through."""
    global BATCHES_SEEN
    BATCHES_SEEN += 1
    return x


def track_norm(stats: RunningStats, grad: tf.Tensor) -> tf.Tensor:
    """Store the gradient norm on ``stats`` (attribute write on an outside object)."""
    norm = tf.norm(grad)
    stats.last_norm = norm
    stats.updates += 1
    return norm


def jitter(x: tf.Tensor, rng: random.Random) -> tf.Tensor:
    """Scale by a random factor drawn with Python's ``random``."""
    return x * (1.0 + 0.1 * (rng.random() - 0.5))


def batch_max_as_float(x: tf.Tensor) -> float:
    """The largest element as a Python float (via ``.numpy()``)."""
    return float(np.max(x.numpy()))


def next_scaled(batches: Iterator[tf.Tensor], scale: tf.Tensor) -> tf.Tensor:
    """Take the next batch from a Python iterator and scale it."""
    return next(batches) * scale


ORACLE: dict[str, dict[str, Any]] = {
    name: {"action": "keep", "settings": {}, "unsafe": True, "why": why}
    for name, why in {
        "log_batch": "print runs once at trace time",
        "remember": "list append runs once and leaks a symbolic tensor",
        "count_batch": "global counter moves once per trace",
        "track_norm": "attribute writes happen once per trace",
        "jitter": "Python random frozen into a constant",
        "batch_max_as_float": ".numpy() fails on a symbolic tensor",
        "next_scaled": "next() on a Python iterator runs once; every call returns the first batch",
    }.items()
}


def bench_side_effects(quick: bool = False) -> dict[str, Any]:
    """Every function 300 times (quick: 30), printing suppressed to a counter; outputs: the side effects' results."""
    import contextlib
    import io

    global BATCHES_SEEN
    BATCHES_SEEN = 0
    rng, stats, history = random.Random(0), RunningStats(), []
    data = [tf.constant(np.random.default_rng(i).normal(size=(8, 4)).astype(np.float32)) for i in range(8)]
    n = 30 if quick else 300
    it = iter(data * (n // len(data) + 1))
    start = time.perf_counter()
    out = io.StringIO()
    total = 0.0
    with contextlib.redirect_stdout(out):
        for i in range(n):
            x = data[i % len(data)]
            log_batch(i, x)
            mean = remember(history[-8:], tf.reduce_mean(x))
            count_batch(x)
            track_norm(stats, x)
            total += float(tf.reduce_sum(jitter(x, rng))) + batch_max_as_float(x) + float(tf.reduce_sum(next_scaled(it, 2.0)))
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"lines": float(len(out.getvalue().splitlines())), "batches": float(BATCHES_SEEN),
                                        "updates": float(stats.updates), "total": total, "last_mean": float(mean)}}
