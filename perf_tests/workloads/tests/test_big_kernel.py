import numpy as np
import tensorflow as tf

from .. import big_kernel as wl


def test_kernels_match_numpy():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(50, 6)).astype(np.float32)
    np.testing.assert_allclose(wl.gram_matrix(tf.constant(f)).numpy(), f.T @ f, rtol=1e-4, atol=1e-4)
    q, k = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_allclose(wl.pairwise_scores(tf.constant(q), tf.constant(k)).numpy(), q @ k.T, rtol=1e-5, atol=1e-5)


def test_feature_maps_identity_kernel():
    images = np.random.default_rng(1).normal(size=(2, 5, 5, 3)).astype(np.float32)
    kernel = np.zeros((3, 3, 3, 3), np.float32)
    kernel[1, 1] = np.eye(3)
    np.testing.assert_allclose(wl.feature_maps(tf.constant(images), tf.constant(kernel)).numpy(), images, rtol=1e-6)
