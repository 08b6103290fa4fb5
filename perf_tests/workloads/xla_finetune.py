"""Workload: a short fine-tuning run of a Keras 3 MLP (a custom GradientTape step, Adam), where XLA loses: compiling
the train step with ``jit_compile=True`` costs seconds, more than its faster steps win back in a few hundred steps,
so the plain graph of the hand placement is the right choice and XLA must be measured and refused."""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf


class Regressor(keras.Model):
    """Two hidden Dense layers with GELU, one output."""

    def __init__(self) -> None:
        super().__init__()
        self.d1 = keras.layers.Dense(128, activation="gelu")
        self.d2 = keras.layers.Dense(64, activation="gelu")
        self.out = keras.layers.Dense(1)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.out(self.d2(self.d1(x)))


def make_data(n: int, num_features: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth nonlinear target of fixed random features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, num_features)).astype(np.float32)
    w = np.random.default_rng(7).normal(size=(num_features,)).astype(np.float32)
    return x, (np.sin(x @ w / 4.0) + 0.1 * x[:, 0] ** 2).astype(np.float32)[:, None]


def build(seed: int = 0, num_features: int = 32) -> tuple[Regressor, keras.optimizers.Optimizer]:
    keras.utils.set_random_seed(seed)
    model = Regressor()
    model(np.zeros((1, num_features), np.float32))
    optimizer = keras.optimizers.Adam(3e-3)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def finetune_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Forward, Huber loss, gradients, Adam update; returns the batch loss."""
    with tf.GradientTape() as tape:
        err = model(x) - y
        loss = tf.reduce_mean(tf.where(tf.abs(err) < 1.0, 0.5 * err * err, tf.abs(err) - 0.5))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)
    return loss


ORACLE: dict[str, dict[str, Any]] = {
    "finetune_step": {"action": "convert", "settings": {},
                      "why": "dozens of small ops + optimizer update, fixed shapes; a few hundred steps do not pay "
                             "back an XLA compile"},
}


def bench_xla_finetune(quick: bool = False) -> dict[str, Any]:
    """300 steps of batch 32 (quick: 30); outputs: the first and last losses."""
    steps, batch = (30, 32) if quick else (300, 32)
    x, y = make_data(steps * batch // 3)
    model, optimizer = build()
    start = time.perf_counter()
    losses: list[tf.Tensor] = []
    for i in range(steps):
        j = (i * batch) % len(x)
        losses.append(finetune_step(model, optimizer, tf.constant(x[j:j + batch]), tf.constant(y[j:j + batch])))
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"first_loss": float(losses[0]), "last_loss": float(losses[-1])}}
