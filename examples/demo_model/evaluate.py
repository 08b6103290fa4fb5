"""Evaluation and inference: per-batch metrics, a whole-dataset evaluation, and batched prediction."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from demo_model.data import iterate_batches
from demo_model.numerics import expected_calibration_error, one_hot_labels


@tf.function
def count_correct(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Number of rows whose arg-max class equals the label (decorated although it is only a few ops)."""
    predicted = tf.argmax(logits, axis=1, output_type=labels.dtype)
    return tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.int32))


def eval_step(model: keras.Model, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Summed cross-entropy, summed Brier score and number correct for one batch (batch size varies)."""
    logits = model(x, training=False)
    loss_sum = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    probs = tf.nn.softmax(logits)
    brier_sum = tf.reduce_sum(tf.square(probs - one_hot_labels(y, int(logits.shape[-1]))))
    return loss_sum, brier_sum, count_correct(logits, y)


def predict_proba(model: keras.Model, x: tf.Tensor) -> tf.Tensor:
    """Class probabilities for a batch of any size (the serving path)."""
    return tf.nn.softmax(model(x, training=False))


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 64) -> dict[str, float]:
    """Loss, accuracy, Brier score and calibration error over a dataset, batch by batch (last batch smaller)."""
    loss_total = brier_total = 0.0
    correct_total = 0
    all_probs = []
    for xb, yb in iterate_batches(x, y, batch_size):
        loss_sum, brier_sum, correct = eval_step(model, xb, yb)
        loss_total += float(loss_sum.numpy())
        brier_total += float(brier_sum.numpy())
        correct_total += int(correct.numpy())
        all_probs.append(predict_proba(model, xb))
    n = len(x)
    ece = expected_calibration_error(tf.concat(all_probs, axis=0), tf.convert_to_tensor(y))
    return {
        "loss": loss_total / n,
        "accuracy": correct_total / n,
        "brier": brier_total / n,
        "ece": float(ece),
    }
