"""Workload: activation and normalisation math written as dozens of small element-wise ops, where XLA fuses the
whole body into a few kernels (``jit_compile=True`` beats the plain graph the hand placement uses).

Its tests never wrap a function in ``tf.function`` themselves: the profile would then record it as an existing
tf.function (and the planner would weigh removing it instead of converting it)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import tensorflow as tf


def gelu_tanh(x: tf.Tensor) -> tf.Tensor:
    """GELU, tanh approximation, spelled out op by op."""
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + tf.tanh(inner))


def smooth_features(x: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """A hand-written feature transform of ~60 small element-wise ops: normalise, three activations, a soft
    clip and a rational polynomial (the kind of code a numerical library writes without fused kernels)."""
    mean = tf.reduce_mean(x)
    centred = x - mean
    var = tf.reduce_mean(centred * centred)
    z = centred * tf.math.rsqrt(var + 1e-5) * scale + shift
    a = gelu_tanh(z)
    b = z * tf.sigmoid(1.702 * z)
    c = tf.math.softplus(z) - math.log(2.0)
    mix = 0.5 * a + 0.3 * b + 0.2 * c
    clipped = 3.0 * tf.tanh(mix / 3.0)
    num = clipped
    den = tf.ones_like(clipped)
    for k, coef in enumerate((0.5, -0.125, 0.0625, -0.03125, 0.015625), start=1):
        num = num + coef * clipped ** (k + 1)
        den = den + (coef * 0.5) * tf.abs(clipped) ** k
    return num / den + 0.01 * tf.square(z) - 0.001 * tf.exp(-tf.abs(z))


ORACLE: dict[str, dict[str, Any]] = {
    "smooth_features": {"action": "convert", "settings": {},
                        "why": "~60 small element-wise ops on an 8192-vector, fixed shapes: a plain graph"},
    "gelu_tanh": {"action": "keep", "settings": {}, "why": "inlined by smooth_features; called only from it"},
}


def bench_xla_fusion(quick: bool = False) -> dict[str, Any]:
    """Transform an 8192-vector 1500 times (quick: 40); outputs: checksums of the last result. Enough calls for the
    conversion to pay back its trace by the fastest-call estimate too, and XLA its compile, on a loaded machine."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=8192).astype(np.float32))
    scale, shift = tf.constant(1.3), tf.constant(-0.2)
    n = 40 if quick else 1500
    start = time.perf_counter()
    for _ in range(n):
        y = smooth_features(x, scale, shift)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"sum": float(tf.reduce_sum(y)), "max": float(tf.reduce_max(y))}}
