"""Workload: a training script whose loop body does the tensor work inline (issue #17: extract it into a step).

The shape of many tutorials' ``main.py``: no step function at all; forward pass, ``GradientTape``, gradients and the
optimizer update written in the body of a module-level ``for`` loop, and a ``print`` every N steps. No function-level
conversion helps; the oracle is the hand extraction a TensorFlow engineer writes: ``hand_step`` holds exactly the
loop's tensor statements and is converted plain. The perf command is the script itself (``PERF_COMMAND``); the
in-process benchmark (``bench_inline_loop``) runs the loop calling ``hand_step`` (eager unless placed).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

PERF_COMMAND = "python inline_loop.py"
FEATURES, HIDDEN, CLASSES, BATCH = 32, 64, 10, 32


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic classification data around fixed class prototypes."""
    protos = np.random.default_rng(7).normal(size=(CLASSES, FEATURES)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, size=n).astype(np.int32)
    return (protos[y] + rng.normal(scale=1.5, size=(n, FEATURES))).astype(np.float32), y


def make_model(seed: int = 0) -> tuple[list[tf.Variable], tf.keras.optimizers.Optimizer]:
    """Weights of a two-hidden-layer MLP (seeded) and an Adam optimizer."""
    rng = np.random.default_rng(seed)
    shapes = [(FEATURES, HIDDEN), (HIDDEN,), (HIDDEN, HIDDEN), (HIDDEN,), (HIDDEN, CLASSES), (CLASSES,)]
    params = [tf.Variable((rng.normal(size=s) * (0.1 if len(s) == 2 else 0.0)).astype(np.float32)) for s in shapes]
    return params, tf.keras.optimizers.Adam(1e-2)


def hand_step(params: list[tf.Variable], optimizer: Any, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """The oracle: the loop body's tensor statements, extracted by hand (the same statements, same order)."""
    w1, b1, w2, b2, w3, b3 = params
    with tf.GradientTape() as tape:
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        h = tf.nn.relu(tf.matmul(h, w2) + b2)
        logits = tf.matmul(h, w3) + b3
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, params)
    optimizer.apply_gradients(zip(grads, params))  # noqa: B905 (as tutorials write it)
    return loss


# An `extract` recommendation of the script's loop is, in-process, the conversion of this function (perf_tests/run.py).
EXTRACTED_STEP = "hand_step"

ORACLE: dict[str, dict[str, Any]] = {
    "hand_step": {"action": "convert", "settings": {},
                  "why": "the inline loop body extracted by hand: MLP forward/backward + Adam; fixed shapes"},
}


def _size(quick: bool) -> tuple[int, int]:
    return (2, 1024) if quick else (10, 2048)  # epochs, examples (2048 / 32 = 64 steps per epoch)


def bench_inline_loop(quick: bool = False) -> dict[str, Any]:
    """The loop calling ``hand_step`` (the in-process API); outputs: first and final loss."""
    epochs, n = _size(quick)
    x, y = make_data(n)
    xt, yt = tf.constant(x), tf.constant(y)
    params, optimizer = make_model()
    start = time.perf_counter()
    losses = []
    for _ in range(epochs):
        for i in range(0, n, BATCH):
            losses.append(float(hand_step(params, optimizer, xt[i:i + BATCH], yt[i:i + BATCH])))
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"first_loss": losses[0], "final_loss": losses[-1]}}


if __name__ == "__main__":
    # the script form: the same step written inline in the loop body, as tutorials write it
    epochs, n = _size("--quick" in sys.argv)
    x, y = make_data(n)
    xt, yt = tf.constant(x), tf.constant(y)
    params, optimizer = make_model()
    first = None
    for step in range(epochs * n // BATCH):
        i = (step * BATCH) % n
        xb, yb = xt[i:i + BATCH], yt[i:i + BATCH]
        w1, b1, w2, b2, w3, b3 = params
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(xb, w1) + b1)
            h = tf.nn.relu(tf.matmul(h, w2) + b2)
            logits = tf.matmul(h, w3) + b3
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits))
        grads = tape.gradient(loss, params)
        optimizer.apply_gradients(zip(grads, params))  # noqa: B905 (as tutorials write it)
        if first is None:
            first = float(loss)
        if step % 100 == 0:
            print("step", step, "loss", round(float(loss), 4))
    # no wall time printed: the script's last printed numbers are what a trial compares between runs
    print("first loss", round(first or 0.0, 4), "final loss", round(float(loss), 4))
