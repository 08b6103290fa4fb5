import numpy as np
import tensorflow as tf

from .. import xla_finetune as wl


def test_finetune_step_learns_a_fixed_batch():
    x, y = wl.make_data(64)
    model, opt = wl.build()
    xb, yb = tf.constant(x[:32]), tf.constant(y[:32])
    losses = [float(wl.finetune_step(model, opt, xb, yb)) for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0]


def test_huber_loss_is_quadratic_near_zero_and_linear_beyond():
    model, opt = wl.build()
    x = tf.zeros((2, 32))
    pred = float(model(x)[0, 0])
    small = float(wl.finetune_step(model, keras_sgd_zero(), x, tf.fill((2, 1), pred + 0.5)))
    assert abs(small - 0.125) < 1e-4


def keras_sgd_zero():
    import keras

    opt = keras.optimizers.SGD(0.0)
    return opt


def test_bench_quick_improves_loss():
    result = wl.bench_xla_finetune(quick=True)
    assert np.isfinite(result["outputs"]["last_loss"])
    assert result["outputs"]["last_loss"] < result["outputs"]["first_loss"]
