import numpy as np
import pytest
import tensorflow as tf
from demo_model import logging_utils, model, train


def test_train_step_reduces_loss_on_a_fixed_batch(dataset):
    x, y = dataset
    net = model.build_model(seed=0)
    opt = model.make_optimizer(net, learning_rate=1e-2)
    xb, yb = tf.constant(x[:64]), tf.constant(y[:64])
    losses = [float(train.train_step(net, opt, xb, yb)) for _ in range(12)]
    assert losses[-1] < 0.7 * losses[0]
    assert all(np.isfinite(losses))


def test_train_step_updates_every_weight(dataset):
    x, y = dataset
    net = model.build_model(seed=1)
    opt = model.make_optimizer(net)
    before = [w.numpy().copy() for w in net.trainable_variables]
    loss = train.train_step(net, opt, tf.constant(x[:32]), tf.constant(y[:32]))
    assert loss.shape == () and loss.dtype == tf.float32
    assert all(not np.allclose(b, w.numpy()) for b, w in zip(before, net.trainable_variables, strict=True))


def test_augment_batch_keeps_shape_and_bounds(dataset):
    x, _ = dataset
    xb = tf.constant(x[:64] * 10.0)
    out = train.augment_batch(xb, 1.0)
    assert out.shape == xb.shape and out.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(out))) <= 10.0
    assert not np.allclose(out.numpy(), np.clip(xb.numpy(), -10, 10))


def test_augment_batch_with_zero_strength_is_identity(dataset):
    x, _ = dataset
    xb = tf.constant(x[:16])
    np.testing.assert_allclose(train.augment_batch(xb, 0.0).numpy(), x[:16], rtol=1e-6)


def test_augment_batch_draws_fresh_noise_each_call(dataset):
    x, _ = dataset
    xb = tf.constant(x[:16])
    assert not np.allclose(train.augment_batch(xb, 0.5).numpy(), train.augment_batch(xb, 0.5).numpy())


def test_warmup_learning_rate_rises_then_decays():
    lrs = [float(train.warmup_learning_rate(step, 1e-2, 4)) for step in (0, 3, 15)]
    assert lrs[0] == pytest.approx(2.5e-3, rel=1e-5)
    assert lrs[1] == pytest.approx(1e-2, rel=1e-5)
    assert lrs[2] == pytest.approx(5e-3, rel=1e-5)


def test_strength_schedule_is_linear():
    assert train.strength_for_step(0, 11) == pytest.approx(1.0)
    assert train.strength_for_step(5, 11) == pytest.approx(0.55)
    assert train.strength_for_step(10, 11) == pytest.approx(0.1)


def test_fit_learns_and_keeps_books(dataset, test_set):
    x, y = dataset
    net = model.build_model(seed=0)
    opt = model.make_optimizer(net)
    logging_utils.reset_counters()
    seen = []
    history = train.fit(net, opt, x, y, epochs=2, batch_size=64, on_epoch_end=lambda e, h: seen.append((e, len(h))))
    assert seen == [(0, 5), (1, 10)]
    assert len(history) == 10
    assert all(isinstance(v, float) for v in history)
    assert logging_utils.GLOBAL_STEP == 10
    assert logging_utils.EXAMPLES_SEEN == 2 * len(x)
    assert np.mean(history[-3:]) < np.mean(history[:3])
