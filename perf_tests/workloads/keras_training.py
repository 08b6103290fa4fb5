"""Workload: a Keras 3 model trained with a custom GradientTape loop (the most common eager TF2 program)."""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf


class Classifier(keras.Model):
    """Three Dense layers with ReLU, returning logits."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.d1 = keras.layers.Dense(128, activation="relu")
        self.d2 = keras.layers.Dense(64, activation="relu")
        self.out = keras.layers.Dense(num_classes)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.out(self.d2(self.d1(x)))


def make_data(n: int, num_features: int = 64, num_classes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable-ish synthetic classification data (fixed class prototypes)."""
    protos = np.random.default_rng(99).normal(size=(num_classes, num_features)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, size=n).astype(np.int32)
    return (protos[y] + rng.normal(scale=1.0, size=(n, num_features))).astype(np.float32), y


def build(seed: int = 0, num_features: int = 64) -> tuple[Classifier, keras.optimizers.Optimizer]:
    """A built model and an optimizer whose variables already exist."""
    keras.utils.set_random_seed(seed)
    model = Classifier()
    model(np.zeros((1, num_features), np.float32))
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Forward, cross-entropy, gradients, Adam update; returns the batch loss."""
    with tf.GradientTape() as tape:
        logits = model(x)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)
    return loss


def train_epoch(model: keras.Model, optimizer: keras.optimizers.Optimizer, x: np.ndarray, y: np.ndarray,
                batch_size: int = 64) -> list[float]:
    """One pass over the data in full batches; the per-step losses as floats (Python bookkeeping: stays eager)."""
    losses = []
    for start in range(0, len(x) - batch_size + 1, batch_size):
        loss = train_step(model, optimizer, tf.constant(x[start:start + batch_size]), tf.constant(y[start:start + batch_size]))
        losses.append(float(loss))
    return losses


ORACLE: dict[str, dict[str, Any]] = {
    "train_step": {"action": "convert", "settings": {}, "why": "dozens of small ops + optimizer update per call; fixed shapes"},
    "train_epoch": {"action": "keep", "settings": {}, "unsafe": True,
                    "why": "Python loop with float() on tensors and list appends"},
}


def bench_keras_training(quick: bool = False) -> dict[str, Any]:
    """Train 3 epochs (quick: 1 short epoch) on 1024 examples; outputs: first and final loss."""
    x, y = make_data(256 if quick else 1024)
    model, optimizer = build()
    start = time.perf_counter()
    losses: list[float] = []
    for _ in range(1 if quick else 3):
        losses += train_epoch(model, optimizer, x, y)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"first_loss": losses[0], "final_loss": float(np.mean(losses[-4:]))}}
