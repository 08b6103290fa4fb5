import numpy as np
import pytest
import tensorflow as tf

from .. import python_scalars as wl


def test_robust_loss_is_quadratic_for_small_errors():
    # each of huber, log-cosh and Cauchy is ~ e^2/2 near 0: e^2/2 + 0.5 * (e^2/2 + e^2/2) = e^2
    pred, target = tf.constant([0.01, -0.02]), tf.constant([0.0, 0.0])
    loss = float(wl.robust_loss(pred, target, 1.0))
    expected = np.mean([0.01**2, 0.02**2]) + 0.1 * np.mean([0.9 * 0.01, 0.1 * 0.02])
    assert loss == pytest.approx(expected, rel=1e-2)


def test_robust_loss_depends_on_delta():
    pred, target = tf.constant([3.0]), tf.constant([0.0])
    assert float(wl.robust_loss(pred, target, 0.5)) != pytest.approx(float(wl.robust_loss(pred, target, 2.0)))


def test_tempered_softmax_sharpens_as_temperature_drops():
    logits = tf.constant([[1.0, 2.0, 3.0]])
    hot, cold = wl.tempered_softmax(logits, 5.0).numpy(), wl.tempered_softmax(logits, 0.5).numpy()
    np.testing.assert_allclose(hot.sum(), 1.0, rtol=1e-6)
    assert cold[0, 2] > hot[0, 2] and (cold > 0).all()
