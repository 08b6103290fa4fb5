"""Workload: loss / sampling helpers called with a Python float that changes on every call (annealed schedules)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf


def robust_loss(pred: tf.Tensor, target: tf.Tensor, delta: float) -> tf.Tensor:
    """Pseudo-Huber regression loss with an annealed transition point ``delta``, plus log-cosh, Cauchy and quantile
    terms and a per-element confidence weight."""
    err = pred - target
    scaled = err / delta
    huber = delta * delta * (tf.sqrt(1.0 + tf.square(scaled)) - 1.0)
    log_cosh = tf.math.softplus(2.0 * scaled) - scaled - tf.math.log(2.0)
    cauchy = tf.math.log1p(0.5 * tf.square(scaled))
    quantile = tf.maximum(0.9 * err, (0.9 - 1.0) * err)
    weight = tf.clip_by_value(1.0 / (1.0 + tf.abs(scaled)), 0.1, 1.0)
    robust = weight * huber + 0.5 * delta * delta * (log_cosh + cauchy)
    return tf.reduce_mean(robust) + 0.1 * tf.reduce_mean(quantile)


def tempered_softmax(logits: tf.Tensor, temperature: float) -> tf.Tensor:
    """Softmax at an annealed temperature, with a floor so no probability is exactly zero."""
    scaled = logits / temperature
    scaled = scaled - tf.reduce_max(scaled, axis=-1, keepdims=True)
    probs = tf.exp(scaled) / tf.reduce_sum(tf.exp(scaled), axis=-1, keepdims=True)
    probs = tf.maximum(probs, 1e-6)
    return probs / tf.reduce_sum(probs, axis=-1, keepdims=True)


ORACLE: dict[str, dict[str, Any]] = {
    "robust_loss": {
        "action": "convert",
        "settings": {"input_signature": [{"shape": [None], "dtype": "float32"}, {"shape": [None], "dtype": "float32"},
                                         {"shape": [], "dtype": "float32"}]},
        "why": "~30 small ops; delta changes every call, so it must be a tensor (input_signature) to avoid retracing",
    },
    "tempered_softmax": {
        "action": "convert",
        "settings": {"input_signature": [{"shape": [None, None], "dtype": "float32"}, {"shape": [], "dtype": "float32"}]},
        "why": "~10 small ops; the temperature changes every call",
    },
}


def bench_python_scalars(quick: bool = False) -> dict[str, Any]:
    """200 annealing steps (quick: 30), each value new; outputs: the sum of the losses and of the probabilities."""
    rng = np.random.default_rng(0)
    pred = tf.constant(rng.normal(size=512).astype(np.float32))
    target = tf.constant(rng.normal(size=512).astype(np.float32))
    logits = tf.constant(rng.normal(size=(16, 10)).astype(np.float32))
    n = 30 if quick else 200
    start = time.perf_counter()
    loss_sum, top_sum = 0.0, 0.0
    for step in range(n):
        frac = step / n
        loss = robust_loss(pred, target, 2.0 - 1.5 * frac)
        probs = tempered_softmax(logits, 5.0 * (1.0 - frac) + 0.5)
        loss_sum += float(loss)
        top_sum += float(tf.reduce_max(probs))
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"loss_sum": loss_sum, "top_prob_sum": top_sum}}
