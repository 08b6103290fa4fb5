"""Workload: numeric library functions made of many small element-wise ops (special functions, mixture densities)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import tensorflow as tf


def erfinv_approx(x: tf.Tensor) -> tf.Tensor:
    """Inverse error function, Giles' single-precision polynomial approximation (two branches)."""
    w = -tf.math.log((1.0 - x) * (1.0 + x))
    w_small = w - 2.5
    p_small = tf.constant(2.81022636e-08)
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p_small = c + p_small * w_small
    w_big = tf.sqrt(tf.maximum(w, 5.0)) - 3.0
    p_big = tf.constant(-0.000200214257)
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p_big = c + p_big * w_big
    return tf.where(w < 5.0, p_small, p_big) * x


def gaussian_mixture_logpdf(x: tf.Tensor, logits: tf.Tensor, means: tf.Tensor, log_scales: tf.Tensor) -> tf.Tensor:
    """log p(x) under a 1-D Gaussian mixture, for a vector of points: [n] x [k] params -> [n]."""
    x = x[:, None]
    log_weights = logits - tf.reduce_logsumexp(logits)
    z = (x - means) * tf.exp(-log_scales)
    comp = -0.5 * tf.square(z) - log_scales - 0.5 * math.log(2.0 * math.pi)
    return tf.reduce_logsumexp(log_weights + comp, axis=1)


def softplus_inverse(x: tf.Tensor) -> tf.Tensor:
    """Inverse of softplus (for initialising positive parameters): two ops."""
    return tf.math.log(tf.math.expm1(x))


def gaussian_quantiles(p: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    """Quantiles of N(loc, scale) via the inverse error function."""
    return loc + scale * math.sqrt(2.0) * erfinv_approx(2.0 * p - 1.0)


ORACLE: dict[str, dict[str, Any]] = {
    "erfinv_approx": {"action": "convert", "settings": {}, "why": "~45 element-wise ops on a small vector"},
    "gaussian_quantiles": {"action": "convert", "settings": {}, "why": "wraps erfinv_approx plus 5 ops"},
    "gaussian_mixture_logpdf": {"action": "convert", "settings": {}, "why": "~15 small ops"},
    "softplus_inverse": {"action": "keep", "settings": {}, "why": "two ops: a graph call costs more than it saves"},
}


def bench_numeric_library(quick: bool = False) -> dict[str, Any]:
    """Evaluate each helper 150 times (quick: 20) on 256-element inputs; outputs: checksums of the last results."""
    rng = np.random.default_rng(0)
    p = tf.constant(rng.uniform(0.01, 0.99, size=256).astype(np.float32))
    x = tf.constant(rng.normal(size=256).astype(np.float32))
    logits, means = tf.constant([0.1, -0.3, 0.5, 0.0]), tf.constant([-2.0, 0.0, 1.0, 3.0])
    log_scales = tf.constant([0.0, -0.5, 0.3, 0.1])
    pos = tf.constant(rng.uniform(0.1, 3.0, size=256).astype(np.float32))
    n = 20 if quick else 150
    start = time.perf_counter()
    for _ in range(n):
        q = gaussian_quantiles(p, 0.5, 2.0)
        e = erfinv_approx(2.0 * p - 1.0)
        lp = gaussian_mixture_logpdf(x, logits, means, log_scales)
        s = softplus_inverse(pos)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"quantiles": float(tf.reduce_sum(q)), "erfinv": float(tf.reduce_sum(e)),
                                        "logpdf": float(tf.reduce_sum(lp)), "softplus_inv": float(tf.reduce_sum(s))}}
