import numpy as np
import tensorflow as tf

from .. import keras_training as wl


def test_train_step_learns_a_fixed_batch():
    x, y = wl.make_data(128)
    model, opt = wl.build()
    xb, yb = tf.constant(x[:64]), tf.constant(y[:64])
    losses = [float(wl.train_step(model, opt, xb, yb)) for _ in range(10)]
    assert losses[-1] < 0.6 * losses[0]


def test_train_epoch_returns_one_float_per_full_batch():
    x, y = wl.make_data(200)
    model, opt = wl.build()
    losses = wl.train_epoch(model, opt, x, y, batch_size=64)
    assert len(losses) == 3 and all(type(v) is float and np.isfinite(v) for v in losses)


def test_bench_quick_improves_loss():
    result = wl.bench_keras_training(quick=True)
    assert result["outputs"]["final_loss"] < result["outputs"]["first_loss"]
