"""Workload: a training *script* (``python train_script.py``): step functions called from a module-level loop.

The commonest TF program: no tests, its functions and its hot loop in the file run as ``__main__``, the loop
written at module level under ``if __name__ == "__main__":`` (the shape of the TF2 tutorials' ``main.py``).
The perf command is the script itself (``PERF_COMMAND``); ``bench_train_script`` runs the same loop in a
function for the in-process benchmark API.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

PERF_COMMAND = "python train_script.py"  # the benchmark profiles the script itself (not bench.py)
FEATURES, HIDDEN, CLASSES, BATCH, EVAL_BATCH = 32, 64, 10, 64, 128


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic classification data around fixed class prototypes."""
    protos = np.random.default_rng(7).normal(size=(CLASSES, FEATURES)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, size=n).astype(np.int32)
    return (protos[y] + rng.normal(scale=1.5, size=(n, FEATURES))).astype(np.float32), y


def make_params(seed: int = 0) -> list[tf.Variable]:
    """Weights of a two-hidden-layer MLP, seeded."""
    rng = np.random.default_rng(seed)
    shapes = [(FEATURES, HIDDEN), (HIDDEN,), (HIDDEN, HIDDEN), (HIDDEN,), (HIDDEN, CLASSES), (CLASSES,)]
    return [tf.Variable((rng.normal(size=s) * (0.1 if len(s) == 2 else 0.0)).astype(np.float32)) for s in shapes]


def forward(params: list[tf.Variable], x: tf.Tensor) -> tf.Tensor:
    """Logits of the MLP."""
    w1, b1, w2, b2, w3, b3 = params
    h = tf.nn.relu(tf.matmul(x, w1) + b1)
    h = tf.nn.relu(tf.matmul(h, w2) + b2)
    return tf.matmul(h, w3) + b3


def train_step(params: list[tf.Variable], x: tf.Tensor, y: tf.Tensor, lr: tf.Tensor) -> tf.Tensor:
    """Cross-entropy, gradients, a plain SGD update with weight decay; the batch loss."""
    with tf.GradientTape() as tape:
        logits = forward(params, x)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        loss += 1e-4 * tf.add_n([tf.reduce_sum(tf.square(p)) for p in params[::2]])
    grads = tape.gradient(loss, params)
    for p, g in zip(params, grads, strict=True):
        p.assign_sub(lr * g)
    return loss


def evaluate(params: list[tf.Variable], x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Accuracy on a batch (the script averages it over the evaluation batches)."""
    pred = tf.argmax(forward(params, x), axis=1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(tf.equal(pred, y), tf.float32))


ORACLE: dict[str, dict[str, Any]] = {
    "train_step": {"action": "convert", "settings": {}, "why": "MLP forward/backward + SGD update; fixed shapes"},
    "evaluate": {"action": "keep", "settings": {},
                 "why": "~10 small ops: about 0.2 ms saved per call; 320 calls do not repay its tracing"},
    "forward": {"action": "keep", "settings": {}, "why": "inlined by both converted callers"},
}


def _steps(quick: bool) -> tuple[int, int]:
    return (3, 1024) if quick else (20, 2048)  # epochs, examples


def bench_train_script(quick: bool = False) -> dict[str, Any]:
    """The script's loop in a function (the in-process API); outputs: first and final loss, final accuracy."""
    epochs, n = _steps(quick)
    x, y = make_data(n)
    xt, yt = tf.constant(x), tf.constant(y)
    params, lr = make_params(), tf.constant(0.05)
    start = time.perf_counter()
    losses, acc = [], 0.0
    for _ in range(epochs):
        for i in range(0, n, BATCH):
            losses.append(float(train_step(params, xt[i:i + BATCH], yt[i:i + BATCH], lr)))
        acc = float(np.mean([float(evaluate(params, xt[i:i + EVAL_BATCH], yt[i:i + EVAL_BATCH]))
                             for i in range(0, n, EVAL_BATCH)]))
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"first_loss": losses[0], "final_loss": losses[-1], "accuracy": acc}}


if __name__ == "__main__":
    # the script form: the same loop written at module level, as tutorials write it
    epochs, n = _steps("--quick" in sys.argv)
    x, y = make_data(n)
    xt, yt = tf.constant(x), tf.constant(y)
    params, lr = make_params(), tf.constant(0.05)
    start = time.perf_counter()
    losses, acc = [], 0.0
    for _ in range(epochs):
        for i in range(0, n, BATCH):
            loss = train_step(params, xt[i:i + BATCH], yt[i:i + BATCH], lr)
            losses.append(float(loss))
        accs = []
        for i in range(0, n, EVAL_BATCH):
            accs.append(float(evaluate(params, xt[i:i + EVAL_BATCH], yt[i:i + EVAL_BATCH])))
        acc = float(np.mean(accs))
    wall = time.perf_counter() - start
    print(json.dumps({"wall_s": wall, "outputs": {"first_loss": losses[0], "final_loss": losses[-1],
                                                  "accuracy": acc}}))
