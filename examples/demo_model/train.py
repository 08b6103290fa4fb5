"""Training: the GradientTape step, input augmentation, the learning-rate schedule, and the epoch loop."""

from __future__ import annotations

import random
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from demo_model import logging_utils
from demo_model.data import iterate_batches, random_feature_mask


def train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """One optimisation step: cross-entropy + small L2 penalty, clipped gradients, Adam update. Returns the loss."""
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        penalty = tf.add_n([tf.reduce_sum(tf.square(w)) for w in model.trainable_variables if len(w.shape) == 2])
        loss = loss + 1e-4 * penalty
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 5.0)
    optimizer.apply(grads, model.trainable_variables)
    return loss


def augment_batch(x: tf.Tensor, strength: float) -> tf.Tensor:
    """Jitter a batch: per-feature random scale and shift, Gaussian noise and random element dropout.

    ``strength`` is annealed by the caller on every step (a Python float), so a plain tf.function retraces on every
    call; passing it as a tensor (or an input_signature) avoids that.
    """
    num_features = tf.shape(x)[1]
    scale = 1.0 + tf.random.uniform([1, num_features], -0.2 * strength, 0.2 * strength)
    shift = tf.random.uniform([1, num_features], -0.1 * strength, 0.1 * strength)
    noise = tf.random.normal(tf.shape(x), stddev=0.3 * strength)
    keep = tf.cast(tf.random.uniform(tf.shape(x)) >= 0.05 * strength, x.dtype)
    out = (x * scale + shift + noise) * keep
    out = out / (1.0 - 0.05 * strength)
    return tf.clip_by_value(out, -10.0, 10.0)


@tf.function
def warmup_learning_rate(step: int, base_lr: float, warmup_steps: int) -> tf.Tensor:
    """Linear warm-up to ``base_lr`` then inverse-square-root decay (Transformer style).

    Decorated, but called with the Python ``int`` step: it retraces on every new step value.
    """
    step_f = tf.cast(step, tf.float32) + 1.0
    warm = tf.cast(warmup_steps, tf.float32)
    return base_lr * tf.minimum(step_f / warm, tf.math.rsqrt(step_f / warm))


def strength_for_step(step: int, total_steps: int, start: float = 1.0, end: float = 0.1) -> float:
    """Augmentation strength, annealed linearly from ``start`` to ``end`` over training."""
    frac = min(step / max(total_steps - 1, 1), 1.0)
    return start + (end - start) * frac


def fit(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 1,
    batch_size: int = 64,
    base_lr: float = 3e-3,
    warmup_steps: int = 20,
    feature_drop_rate: float = 0.05,
    seed: int = 0,
    history: list[float] | None = None,
    verbose: bool = False,
    on_epoch_end: Callable[[int, list[float]], None] | None = None,
) -> list[float]:
    """The custom training loop: augment, step, schedule, log. Returns the per-step loss history.

    ``on_epoch_end(epoch, history)`` runs after every epoch (evaluation, monitoring, checkpoints).
    """
    history = [] if history is None else history
    rng = random.Random(seed)
    steps_per_epoch = -(-len(x) // batch_size)
    total = epochs * steps_per_epoch
    step = 0
    for epoch in range(epochs):
        for xb, yb in iterate_batches(x, y, batch_size):
            optimizer.learning_rate.assign(warmup_learning_rate(step, base_lr, warmup_steps))
            xb = random_feature_mask(augment_batch(xb, strength_for_step(step, total)), feature_drop_rate, rng)
            loss = train_step(model, optimizer, xb, yb)
            logging_utils.record_loss(history, loss)
            logging_utils.advance_global_step(xb)
            if verbose and step % 50 == 0:
                logging_utils.log_metrics(step, {"loss": loss, "lr": optimizer.learning_rate})
            step += 1
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history
