"""Numeric helpers: label encoding, feature statistics, calibration and summary metrics."""

from __future__ import annotations

import tensorflow as tf


def one_hot_labels(labels: tf.Tensor, num_classes: int) -> tf.Tensor:
    """Integer labels -> float one-hot rows."""
    return tf.one_hot(labels, num_classes)


def feature_second_moment(features: tf.Tensor) -> tf.Tensor:
    """Uncentred feature covariance ``F^T F / n`` of a large activation matrix (whitening / collapse diagnostics).

    One big matmul does all the work, so graph mode has nothing to save here.
    """
    n = tf.cast(tf.shape(features)[0], features.dtype)
    return tf.matmul(features, features, transpose_a=True) / n


def expected_calibration_error(probs: tf.Tensor, labels: tf.Tensor, num_bins: int = 10) -> tf.Tensor:
    """ECE: confidence vs accuracy gap, averaged over equal-width confidence bins weighted by bin size."""
    confidence = tf.reduce_max(probs, axis=1)
    correct = tf.cast(tf.equal(tf.argmax(probs, axis=1, output_type=labels.dtype), labels), tf.float32)
    total = tf.cast(tf.size(confidence), tf.float32)
    ece = tf.constant(0.0)
    for b in range(num_bins):
        lo, hi = b / num_bins, (b + 1) / num_bins
        in_bin = tf.logical_and(confidence > lo, confidence <= hi)
        weight = tf.cast(in_bin, tf.float32)
        count = tf.reduce_sum(weight)
        safe = tf.maximum(count, 1.0)
        avg_conf = tf.reduce_sum(confidence * weight) / safe
        avg_acc = tf.reduce_sum(correct * weight) / safe
        ece += (count / total) * tf.abs(avg_conf - avg_acc)
    return ece


def summary_statistics(values: tf.Tensor) -> dict[str, tf.Tensor]:
    """Mean, std, min, max, skewness, kurtosis, RMS and a smoothed last value of a short series (e.g. losses)."""
    values = tf.cast(tf.reshape(values, [-1]), tf.float32)
    n = tf.cast(tf.size(values), tf.float32)
    mean = tf.reduce_sum(values) / n
    centred = values - mean
    var = tf.reduce_sum(tf.square(centred)) / tf.maximum(n - 1.0, 1.0)
    std = tf.sqrt(var + 1e-12)
    z = centred / std
    skew = tf.reduce_mean(z * z * z)
    kurt = tf.reduce_mean(tf.square(tf.square(z))) - 3.0
    rms = tf.sqrt(tf.reduce_mean(tf.square(values)))
    weights = tf.pow(0.9, tf.reverse(tf.range(n), axis=[0]))
    ema = tf.reduce_sum(weights * values) / tf.reduce_sum(weights)
    return {
        "mean": mean,
        "std": std,
        "min": tf.reduce_min(values),
        "max": tf.reduce_max(values),
        "skew": skew,
        "kurtosis": kurt,
        "rms": rms,
        "ema": ema,
    }
