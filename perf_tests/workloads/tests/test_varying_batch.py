import numpy as np
import pytest
import tensorflow as tf

from .. import varying_batch as wl


@pytest.mark.parametrize("size", [1, 3, 17])
def test_scores_are_in_unit_interval_for_any_request_size(size):
    model = wl.build_ranker()
    items = tf.constant(np.random.default_rng(size).normal(size=(size, 32)).astype(np.float32))
    scores = wl.score_request(model, items, tf.constant(0.0)).numpy()
    assert scores.shape == (size,)
    assert ((scores > 0) & (scores < 1)).all()


def test_requests_vary_in_size():
    sizes = {len(r) for r in wl.make_requests(50)}
    assert len(sizes) > 20 and min(sizes) >= 1 and max(sizes) <= 48
