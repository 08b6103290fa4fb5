"""HY311: a Keras layer's / model's own `call` is never converted; the functions calling the model are."""

from __future__ import annotations

from collections.abc import Callable

from hybridize.static import FunctionReport

MODEL = """
import keras
import tensorflow as tf

class Classifier(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3)

    def call(self, x):
        return self.dense(x)

def eval_step(model, x):
    return tf.nn.softmax(model(x))

class Scale(tf.Module):
    def call(self, x):
        return x * 2.0
"""


def test_keras_model_call_is_blocked(fn: Callable[[str, str], FunctionReport]) -> None:
    call = fn(MODEL, "Classifier.call")
    assert call.verdict == "unsafe"
    assert [f.code for f in call.findings if f.severity == "blocker"] == ["HY311"]


def test_its_caller_and_plain_modules_are_not_flagged(fn: Callable[[str, str], FunctionReport]) -> None:
    assert "HY311" not in {f.code for f in fn(MODEL, "eval_step").findings}
    assert "HY311" not in {f.code for f in fn(MODEL, "Scale.call").findings}
