"""Workload: a small CNN classifying batches of images in an inference loop."""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf

CHANNEL_MEAN = (0.49, 0.48, 0.45)
CHANNEL_STD = (0.25, 0.24, 0.26)


def build_cnn(num_classes: int = 10, seed: int = 0) -> keras.Model:
    """Two conv blocks, global pooling and a Dense head (built, seeded)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(num_classes),
    ])
    return model


def preprocess(images: tf.Tensor) -> tf.Tensor:
    """uint8 NHWC -> normalised float32, with a centre-crop/pad to 32x32."""
    x = tf.cast(images, tf.float32) / 255.0
    x = tf.image.resize_with_crop_or_pad(x, 32, 32)
    return (x - tf.constant(CHANNEL_MEAN)) / tf.constant(CHANNEL_STD)


def classify_batch(model: keras.Model, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Predicted class and its probability for each image of the batch."""
    probs = tf.nn.softmax(model(preprocess(images), training=False))
    return tf.argmax(probs, axis=1, output_type=tf.int32), tf.reduce_max(probs, axis=1)


def run_inference(model: keras.Model, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Classify a whole array batch by batch; NumPy results (Python loop + .numpy(): stays eager)."""
    labels, confidences = [], []
    for start in range(0, len(images), batch_size):
        label, conf = classify_batch(model, tf.constant(images[start:start + batch_size]))
        labels.append(label.numpy())
        confidences.append(conf.numpy())
    return np.concatenate(labels), np.concatenate(confidences)


def make_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


ORACLE: dict[str, dict[str, Any]] = {
    "classify_batch": {"action": "convert", "settings": {},
                       "why": "preprocessing + 8 layers per call, small convs: overhead-bound"},
    "preprocess": {"action": "keep", "settings": {}, "why": "inlined in classify_batch; alone it is only 5 ops"},
    "run_inference": {"action": "keep", "settings": {}, "unsafe": True, "why": "Python loop with .numpy()"},
}


def bench_cnn_inference(quick: bool = False) -> dict[str, Any]:
    """Classify 512 images (quick: 64) in batches of 16, two passes; outputs: label checksum, mean confidence."""
    model = build_cnn()
    images = make_images(64 if quick else 512)
    start = time.perf_counter()
    for _ in range(1 if quick else 2):
        labels, conf = run_inference(model, images)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"label_sum": float(labels.sum()), "mean_confidence": float(conf.mean())}}
