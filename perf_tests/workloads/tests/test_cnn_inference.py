import numpy as np
import tensorflow as tf

from .. import cnn_inference as wl


def test_preprocess_normalises_per_channel():
    images = np.full((2, 32, 32, 3), 255, dtype=np.uint8)
    out = wl.preprocess(tf.constant(images)).numpy()
    np.testing.assert_allclose(out[0, 0, 0], (1.0 - np.array(wl.CHANNEL_MEAN)) / np.array(wl.CHANNEL_STD), rtol=1e-5)


def test_classify_batch_matches_the_model():
    model = wl.build_cnn()
    images = wl.make_images(5)
    labels, conf = wl.classify_batch(model, tf.constant(images))
    probs = tf.nn.softmax(model(wl.preprocess(tf.constant(images)))).numpy()
    np.testing.assert_array_equal(labels.numpy(), probs.argmax(1))
    np.testing.assert_allclose(conf.numpy(), probs.max(1), rtol=1e-5)


def test_run_inference_covers_a_ragged_last_batch():
    model = wl.build_cnn()
    labels, conf = wl.run_inference(model, wl.make_images(20), batch_size=16)
    assert labels.shape == (20,) and conf.shape == (20,)
    assert ((conf > 0) & (conf <= 1)).all()
