"""The bookkeeping functions' side effects must happen on every call (a tf.function would run them once)."""

import random

import numpy as np
import tensorflow as tf
from demo_model import data, logging_utils


def test_log_metrics_prints_every_call(capsys):
    for step in range(3):
        logging_utils.log_metrics(step, {"loss": tf.constant(0.5 + step), "acc": 0.25})
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["step 0: loss=0.5000 acc=0.2500", "step 1: loss=1.5000 acc=0.2500", "step 2: loss=2.5000 acc=0.2500"]


def test_metrics_to_python_gives_floats():
    out = logging_utils.metrics_to_python({"loss": tf.constant(1.25), "n": tf.constant(3), "lr": tf.Variable(0.5)})
    assert out == {"loss": 1.25, "n": 3.0, "lr": 0.5}
    assert all(type(v) is float for v in out.values())


def test_record_loss_appends_one_float_per_call():
    history: list[float] = []
    for value in (0.9, 0.7, 0.4):
        logging_utils.record_loss(history, tf.constant(value))
    assert len(history) == 3
    assert all(type(v) is float for v in history)
    np.testing.assert_allclose(history, [0.9, 0.7, 0.4], rtol=1e-6)


def test_global_step_counts_every_call():
    logging_utils.reset_counters()
    batch = tf.zeros([8, 4])
    steps = [logging_utils.advance_global_step(batch) for _ in range(4)]
    assert steps == [1, 2, 3, 4]
    assert logging_utils.GLOBAL_STEP == 4 and logging_utils.EXAMPLES_SEEN == 32
    assert logging_utils.advance_global_step() == 5


def test_random_feature_mask_draws_a_new_mask_each_call():
    rng = random.Random(3)
    x = tf.ones([2, 40])
    masks = [data.random_feature_mask(x, 0.5, rng).numpy()[0] for _ in range(4)]
    assert all(set(np.unique(m)) <= {0.0, 1.0} for m in masks)
    assert len({m.tobytes() for m in masks}) == 4
    expected_rng = random.Random(3)
    np.testing.assert_array_equal(masks[0], [0.0 if expected_rng.random() < 0.5 else 1.0 for _ in range(40)])


def test_batches_cover_the_data_with_a_smaller_last_batch(dataset):
    x, y = dataset
    sizes = [int(xb.shape[0]) for xb, _ in data.iterate_batches(x[:150], y[:150], 64)]
    assert sizes == [64, 64, 22]
