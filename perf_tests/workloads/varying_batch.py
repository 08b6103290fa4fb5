"""Workload: a scoring function called with a different batch size on almost every call (online serving)."""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf


def build_ranker(num_features: int = 32, seed: int = 0) -> keras.Model:
    """A small MLP scoring items (built, seeded)."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((num_features,)), keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])


def score_request(model: keras.Model, items: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Calibrated relevance in [0, 1] for each of the request's items, plus its rank-normalised score."""
    raw = tf.squeeze(model(items), axis=1) + bias
    calibrated = tf.sigmoid(raw)
    centred = raw - tf.reduce_mean(raw)
    normalised = centred / (tf.math.reduce_std(raw) + 1e-6)
    return 0.8 * calibrated + 0.2 * tf.sigmoid(normalised)


def make_requests(n: int, num_features: int = 32, max_items: int = 48, seed: int = 0) -> list[np.ndarray]:
    """``n`` requests of 1..max_items items each."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(k), num_features)).astype(np.float32) for k in rng.integers(1, max_items + 1, size=n)]


ORACLE: dict[str, dict[str, Any]] = {
    "score_request": {"action": "convert", "settings": {"reduce_retracing": True},
                      "why": "overhead-bound forward pass; the batch dimension varies, so relax it to None after one retrace"},
}


def bench_varying_batch(quick: bool = False) -> dict[str, Any]:
    """Serve 250 requests (quick: 40) of 1..48 items; outputs: mean score and a weighted checksum."""
    model = build_ranker()
    bias = tf.constant(0.1)
    requests = make_requests(40 if quick else 250)
    start = time.perf_counter()
    total, weighted = 0.0, 0.0
    for i, items in enumerate(requests):
        scores = score_request(model, tf.constant(items), bias)
        total += float(tf.reduce_sum(scores))
        weighted += (i % 7) * float(scores[0])
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"mean_score": total / sum(len(r) for r in requests), "weighted": weighted}}
