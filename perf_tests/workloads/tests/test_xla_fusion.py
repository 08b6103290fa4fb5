import math

import numpy as np
import tensorflow as tf

from .. import xla_fusion as wl


def _reference(x: np.ndarray, scale: float, shift: float) -> np.ndarray:
    x = x.astype(np.float64)
    c = x - x.mean()
    z = c / np.sqrt((c * c).mean() + 1e-5) * scale + shift
    a = 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))
    b = z / (1.0 + np.exp(-1.702 * z))
    s = np.log1p(np.exp(z)) - math.log(2.0)
    clipped = 3.0 * np.tanh((0.5 * a + 0.3 * b + 0.2 * s) / 3.0)
    num, den = clipped.copy(), np.ones_like(clipped)
    for k, coef in enumerate((0.5, -0.125, 0.0625, -0.03125, 0.015625), start=1):
        num += coef * clipped ** (k + 1)
        den += coef * 0.5 * np.abs(clipped) ** k
    return num / den + 0.01 * z * z - 0.001 * np.exp(-np.abs(z))


def test_smooth_features_matches_a_numpy_reference():
    x = np.random.default_rng(1).normal(size=257).astype(np.float32)
    got = wl.smooth_features(tf.constant(x), tf.constant(1.3), tf.constant(-0.2)).numpy()
    np.testing.assert_allclose(got, _reference(x, 1.3, -0.2), rtol=1e-4, atol=1e-5)


def test_gelu_tanh_minus_its_mirror_is_the_identity():
    x = tf.constant([-2.0, 0.0, 2.0])
    y = wl.gelu_tanh(x).numpy()
    assert y[1] == 0.0 and abs((y[2] - y[0]) - 2.0) < 1e-5


def test_bench_quick_reports_finite_checksums():
    out = wl.bench_xla_fusion(quick=True)["outputs"]
    assert all(np.isfinite(v) for v in out.values())
