"""Workload: a hand-written GRU encoder looping over time steps in Python (sequence scoring)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf


def init_params(input_dim: int = 16, hidden: int = 32, seed: int = 0) -> dict[str, tf.Variable]:
    """GRU weights (update z, reset r, candidate h) and a linear read-out, as tf.Variables."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> tf.Variable:
        return tf.Variable(rng.normal(scale=1.0 / np.sqrt(shape[0]), size=shape).astype(np.float32))

    return {
        "wx": w(input_dim, 3 * hidden), "wh": w(hidden, 3 * hidden),
        "b": tf.Variable(np.zeros(3 * hidden, np.float32)), "w_out": w(hidden, 1),
    }


def gru_step(params: dict[str, tf.Variable], h: tf.Tensor, x_t: tf.Tensor) -> tf.Tensor:
    """One GRU cell update."""
    gx = tf.matmul(x_t, params["wx"]) + params["b"]
    gh = tf.matmul(h, params["wh"])
    zx, rx, cx = tf.split(gx, 3, axis=1)
    zh, rh, ch = tf.split(gh, 3, axis=1)
    z = tf.sigmoid(zx + zh)
    r = tf.sigmoid(rx + rh)
    cand = tf.tanh(cx + r * ch)
    return z * h + (1.0 - z) * cand


def encode(params: dict[str, tf.Variable], inputs: tf.Tensor) -> tf.Tensor:
    """Run the GRU over ``inputs`` [batch, time, features]; returns a score per sequence."""
    hidden = params["wh"].shape[0]
    h = tf.zeros([tf.shape(inputs)[0], hidden])
    for t in range(inputs.shape[1]):
        h = gru_step(params, h, inputs[:, t, :])
    return tf.squeeze(tf.matmul(h, params["w_out"]), axis=1)


def score_dataset(params: dict[str, tf.Variable], data: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Scores for every sequence, batch by batch (Python loop + .numpy(): stays eager)."""
    return np.concatenate([encode(params, tf.constant(data[i:i + batch_size])).numpy() for i in range(0, len(data), batch_size)])


def make_sequences(n: int, steps: int = 24, input_dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, steps, input_dim)).astype(np.float32)


ORACLE: dict[str, dict[str, Any]] = {
    "encode": {"action": "convert", "settings": {}, "why": "24 unrolled GRU steps of ~15 small ops each"},
    "gru_step": {"action": "convert", "settings": {},
                 "why": "as well as encode: traced once and called 24 times from encode's graph, a much smaller trace than"
                        " 24 inlined copies (measured 4.6x vs 2.8x for encode alone)"},
    "score_dataset": {"action": "keep", "settings": {}, "unsafe": True, "why": "Python loop with .numpy()"},
}


def bench_rnn_sequence(quick: bool = False) -> dict[str, Any]:
    """Score 256 sequences of 24 steps in batches of 16 (quick: 32), three passes; outputs: mean and spread of the scores."""
    params = init_params()
    data = make_sequences(32 if quick else 256)
    start = time.perf_counter()
    for _ in range(1 if quick else 3):
        scores = score_dataset(params, data)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"mean_score": float(scores.mean()), "std_score": float(scores.std())}}
