"""The model: a subclassed Keras 3 MLP classifier, built eagerly so its variables exist before any training."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf


class DemoClassifier(keras.Model):
    """A few Dense layers with ReLU, returning logits."""

    def __init__(self, hidden_units: Sequence[int] = (64, 64), num_classes: int = 4) -> None:
        super().__init__()
        self.hidden_layers = [keras.layers.Dense(units, activation="relu") for units in hidden_units]
        self.head = keras.layers.Dense(num_classes)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        for layer in self.hidden_layers:
            x = layer(x, training=training)
        return self.head(x)


def build_model(
    num_features: int = 32, num_classes: int = 4, hidden_units: Sequence[int] = (64, 64), seed: int = 0
) -> DemoClassifier:
    """Create and build the classifier (weights seeded so runs are reproducible)."""
    keras.utils.set_random_seed(seed)
    model = DemoClassifier(hidden_units, num_classes)
    model(np.zeros((1, num_features), dtype=np.float32))
    return model


def make_optimizer(model: keras.Model, learning_rate: float = 1e-3) -> keras.optimizers.Optimizer:
    """Adam with its slot variables created up front (so a traced train step never has to create variables)."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    optimizer.build(model.trainable_variables)
    return optimizer
