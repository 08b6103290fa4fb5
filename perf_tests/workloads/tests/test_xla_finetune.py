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
    import keras

    model, _ = wl.build()
    frozen = keras.optimizers.SGD(0.0)  # a step that leaves the weights as they are
    x = tf.zeros((2, 32))
    pred = float(model(x)[0, 0])
    assert abs(float(wl.finetune_step(model, frozen, x, tf.fill((2, 1), pred + 0.5))) - 0.125) < 1e-4
    assert abs(float(wl.finetune_step(model, frozen, x, tf.fill((2, 1), pred + 2.0))) - 1.5) < 1e-4


def test_bench_quick_improves_loss():
    result = wl.bench_xla_finetune(quick=True)
    assert np.isfinite(result["outputs"]["last_loss"])
    assert result["outputs"]["last_loss"] < result["outputs"]["first_loss"]
