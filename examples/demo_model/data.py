"""Synthetic data: a seeded Gaussian-blob classification problem, batching, and a Python-random feature mask."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import tensorflow as tf


def make_classification_data(
    num_examples: int, num_features: int = 32, num_classes: int = 4, seed: int = 0, problem_seed: int = 1234
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around class centres fixed by ``problem_seed``; ``seed`` draws the examples (no downloads).

    Train and test sets share ``problem_seed`` and differ in ``seed``.
    """
    centres = np.random.default_rng(problem_seed).normal(0.0, 1.0, size=(num_classes, num_features)).astype(np.float32)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=num_examples).astype(np.int32)
    noise = rng.normal(0.0, 1.5, size=(num_examples, num_features)).astype(np.float32)
    return centres[labels] + noise, labels


def iterate_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> Iterator[tuple[tf.Tensor, tf.Tensor]]:
    """Yield consecutive batches as tensors; the last one is smaller when the size doesn't divide evenly."""
    for start in range(0, len(x), batch_size):
        yield tf.convert_to_tensor(x[start : start + batch_size]), tf.convert_to_tensor(y[start : start + batch_size])


def random_feature_mask(x: tf.Tensor, drop_rate: float, rng: random.Random) -> tf.Tensor:
    """Zero a random subset of feature columns (feature dropout); the choice comes from Python's ``random``.

    Must stay eager: under tf.function the Python draws happen once, at trace time, and every call reuses that mask.
    """
    keep = [0.0 if rng.random() < drop_rate else 1.0 for _ in range(int(x.shape[-1]))]
    return x * tf.constant(keep, dtype=x.dtype)
