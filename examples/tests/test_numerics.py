import numpy as np
import pytest
import tensorflow as tf
from demo_model import numerics


def test_one_hot_labels():
    np.testing.assert_array_equal(numerics.one_hot_labels(tf.constant([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])


def test_feature_second_moment_matches_numpy():
    f = np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32)
    np.testing.assert_allclose(numerics.feature_second_moment(tf.constant(f)).numpy(), f.T @ f / 200, rtol=1e-4, atol=1e-5)


def _ece_reference(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    conf, pred = probs.max(1), probs.argmax(1)
    ece = 0.0
    for b in range(bins):
        m = (conf > b / bins) & (conf <= (b + 1) / bins)
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - (pred[m] == labels[m]).mean())
    return ece


def test_expected_calibration_error_matches_reference():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 4)) * 2
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, 4, size=300).astype(np.int32)
    got = float(numerics.expected_calibration_error(tf.constant(probs), tf.constant(labels)))
    assert got == pytest.approx(_ece_reference(probs, labels), abs=1e-5)


def test_perfectly_calibrated_confident_predictions_have_zero_ece():
    probs = tf.constant(np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]])
    assert float(numerics.expected_calibration_error(probs, tf.constant([0, 1, 2, 3, 0]))) == pytest.approx(0.0)


def test_summary_statistics_match_numpy():
    v = np.random.default_rng(2).gamma(2.0, size=32).astype(np.float32)
    stats = {k: float(t) for k, t in numerics.summary_statistics(tf.constant(v)).items()}
    z = (v - v.mean()) / v.std(ddof=1)
    w = 0.9 ** np.arange(31, -1, -1)
    expected = {
        "mean": v.mean(), "std": v.std(ddof=1), "min": v.min(), "max": v.max(), "skew": (z**3).mean(),
        "kurtosis": (z**4).mean() - 3, "rms": np.sqrt((v**2).mean()), "ema": (w * v).sum() / w.sum(),
    }
    for key, value in expected.items():
        assert stats[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
