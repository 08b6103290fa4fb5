"""The trial hook's input digests: state a method reads through ``self`` (a held model's weights) is part of its
inputs, so unseeded random weights make a cross-run comparison inconclusive, never a mismatch rejection."""

from __future__ import annotations

import random
from typing import Any

import tensorflow as tf

from hybridize.planner.compare import compare_digests
from hybridize.planner.hook_digests import digest_value as _digest_value


class Explainer:
    """tf-keras-vis' shape: a plain object holding a model, whose method computes from the model's weights."""

    def __init__(self, seed: int) -> None:
        self.model = tf.Module()
        self.model.w = tf.Variable(tf.random.stateless_normal([4], seed=[seed, 0]))
        self.name = "saliency"

    def gradients(self, x: tf.Tensor) -> tf.Tensor:
        return x * self.model.w


def _run(seed: int, x: tf.Tensor) -> list[dict[str, Any]]:
    """One run's digest of a call: its inputs, then its output."""
    e = Explainer(seed)
    return [{"in": _digest_value(((e, x), {})), "out": _digest_value(e.gradients(x))}]


def test_a_held_model_s_different_weights_make_the_comparison_inconclusive() -> None:
    x = tf.ones([4])
    check, detail = compare_digests(_run(1, x), _run(2, x))
    assert check == "inconclusive" and "inputs differed" in detail
    assert compare_digests(_run(1, x), _run(1, x))[0] == "match"  # seeded: the same weights, compared


def test_an_object_holding_no_variables_still_compares_as_the_same_input() -> None:
    """A ``random.Random`` argument (a graph freezes its draw): same inputs by digest, so a mismatch stands."""
    def digest(rng: random.Random, out: float) -> list[dict[str, Any]]:
        return [{"in": _digest_value(((rng,), {})), "out": out}]

    assert _digest_value(random.Random(0)) == {"type": "Random"}
    assert compare_digests(digest(random.Random(0), 1.0), digest(random.Random(1), 2.0))[0] == "mismatch"
