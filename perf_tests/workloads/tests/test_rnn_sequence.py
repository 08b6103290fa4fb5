import numpy as np
import tensorflow as tf

from .. import rnn_sequence as wl


def _numpy_encode(params, inputs):
    p = {k: v.numpy() for k, v in params.items()}
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = np.zeros((inputs.shape[0], p["wh"].shape[0]), np.float32)
    for t in range(inputs.shape[1]):
        zx, rx, cx = np.split(inputs[:, t] @ p["wx"] + p["b"], 3, axis=1)
        zh, rh, ch = np.split(h @ p["wh"], 3, axis=1)
        z, r = sig(zx + zh), sig(rx + rh)
        h = z * h + (1 - z) * np.tanh(cx + r * ch)
    return (h @ p["w_out"])[:, 0]


def test_encode_matches_numpy_gru():
    params = wl.init_params()
    data = wl.make_sequences(6, steps=5)
    np.testing.assert_allclose(wl.encode(params, tf.constant(data)).numpy(), _numpy_encode(params, data), rtol=1e-4, atol=1e-5)


def test_score_dataset_batches_consistently():
    params = wl.init_params()
    data = wl.make_sequences(10, steps=4)
    np.testing.assert_allclose(wl.score_dataset(params, data, batch_size=4), wl.score_dataset(params, data, batch_size=10),
                               rtol=1e-5, atol=1e-6)
