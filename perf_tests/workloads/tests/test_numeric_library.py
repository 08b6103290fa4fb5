import math

import numpy as np
import pytest
import tensorflow as tf

from .. import numeric_library as wl


def test_erfinv_inverts_erf():
    x = np.linspace(-0.999, 0.999, 101).astype(np.float32)
    y = wl.erfinv_approx(tf.constant(x)).numpy()
    np.testing.assert_allclose([math.erf(v) for v in y], x, atol=2e-6)


def test_gaussian_quantiles_median_and_tails():
    q = wl.gaussian_quantiles(tf.constant([0.5, 0.975]), 1.0, 2.0).numpy()
    assert q[0] == pytest.approx(1.0, abs=1e-5)
    assert q[1] == pytest.approx(1.0 + 2.0 * 1.959964, rel=1e-4)


def test_mixture_logpdf_of_one_component_is_gaussian():
    x = np.array([-1.0, 0.0, 2.5], np.float32)
    got = wl.gaussian_mixture_logpdf(tf.constant(x), tf.constant([0.0]), tf.constant([0.5]), tf.constant([math.log(2.0)]))
    expected = -0.5 * ((x - 0.5) / 2.0) ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_softplus_inverse():
    x = np.array([0.1, 1.0, 3.0], np.float32)
    np.testing.assert_allclose(tf.nn.softplus(wl.softplus_inverse(tf.constant(x))).numpy(), x, rtol=1e-5)
