"""Each side effect must happen on every call; these tests fail if any of the functions is wrapped in tf.function."""

import random

import numpy as np
import tensorflow as tf

from .. import side_effects as wl


def test_log_batch_prints_every_call(capsys):
    for step in range(3):
        wl.log_batch(step, tf.fill([2, 2], float(step)))
    assert capsys.readouterr().out.splitlines() == ["batch 0: shape=(2, 2)", "batch 1: shape=(2, 2)", "batch 2: shape=(2, 2)"]


def test_remember_appends_every_call():
    history = []
    means = [float(wl.remember(history, tf.constant(v))) for v in (1.0, 3.0, 5.0)]
    assert len(history) == 3 and means == [1.0, 2.0, 3.0]


def test_count_batch_counts_every_call():
    before = wl.BATCHES_SEEN
    x = tf.zeros([3])
    for _ in range(4):
        wl.count_batch(x)
    assert wl.BATCHES_SEEN == before + 4


def test_track_norm_updates_the_stats_object():
    stats = wl.RunningStats()
    for v in (3.0, 4.0):
        wl.track_norm(stats, tf.constant([v, 0.0]))
    assert stats.updates == 2 and float(stats.last_norm) == 4.0


def test_jitter_draws_a_new_factor_each_call():
    rng, x = random.Random(0), tf.ones([2])
    values = {round(float(wl.jitter(x, rng)[0]), 6) for _ in range(5)}
    assert len(values) == 5


def test_batch_max_as_float():
    out = wl.batch_max_as_float(tf.constant([[1.0, 7.5], [2.0, 3.0]]))
    assert out == 7.5 and type(out) is float


def test_next_scaled_consumes_the_iterator():
    it = iter([tf.constant([1.0]), tf.constant([2.0]), tf.constant([3.0])])
    got = [float(wl.next_scaled(it, tf.constant(10.0))[0]) for _ in range(3)]
    assert got == [10.0, 20.0, 30.0]


def test_bench_side_effects_quick_counts():
    out = wl.bench_side_effects(quick=True)["outputs"]
    assert out["lines"] == out["batches"] == out["updates"] == 30.0
    assert np.isfinite(out["total"])
