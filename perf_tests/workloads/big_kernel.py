"""Workload: functions dominated by one large kernel (matmul / conv), where graph mode has nothing to save."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """``F^T F`` of a tall feature matrix: one big matmul."""
    return tf.matmul(features, features, transpose_a=True)


def pairwise_scores(queries: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """All query/key dot products, one large matmul."""
    return tf.matmul(queries, keys, transpose_b=True)


def feature_maps(images: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """A single wide 3x3 convolution over a batch of feature maps."""
    return tf.nn.conv2d(images, kernel, strides=1, padding="SAME")


ORACLE: dict[str, dict[str, Any]] = {
    "gram_matrix": {"action": "keep", "settings": {}, "why": "one 4096x256 matmul: graph call overhead, no saving"},
    "pairwise_scores": {"action": "keep", "settings": {}, "why": "one 1024x1024x256 matmul"},
    "feature_maps": {"action": "keep", "settings": {}, "why": "one large conv2d"},
}


def bench_big_kernel(quick: bool = False) -> dict[str, Any]:
    """Each kernel 20 times (quick: 2); outputs: sums of the results."""
    rng = np.random.default_rng(0)
    feats = tf.constant(rng.normal(size=(4096, 256)).astype(np.float32))
    q = tf.constant(rng.normal(size=(1024, 256)).astype(np.float32))
    k = tf.constant(rng.normal(size=(1024, 256)).astype(np.float32))
    imgs = tf.constant(rng.normal(size=(8, 64, 64, 32)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(3, 3, 32, 64)).astype(np.float32) * 0.1)
    start = time.perf_counter()
    for _ in range(2 if quick else 20):
        g = gram_matrix(feats)
        s = pairwise_scores(q, k)
        f = feature_maps(imgs, kernel)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"gram": float(tf.reduce_sum(g)), "scores": float(tf.reduce_mean(s)),
                                        "maps": float(tf.reduce_mean(f))}}
