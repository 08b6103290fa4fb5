"""End to end with TensorFlow: tensors, variables, Keras objects, existing tf.functions and their traces."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import PY, functions_json, hybridize, make_project

OPS = '''
import keras
import tensorflow as tf


def helper(x, scale):
    return x * scale


@tf.function
def step(x, n):
    y = x
    for _ in tf.range(n):
        y = helper(y, 2.0)
    return y


@tf.function(autograph=False)
def plain(x):
    return helper(x, 3.0)


def eager_sum(x, v):
    return tf.reduce_sum(x) + v


class Dense(keras.layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2))

    def call(self, x):
        return tf.matmul(x, self.w)


class Mod(tf.Module):
    @tf.function
    def __call__(self, x):
        return helper(x, 1.0)


def use_model(model, x):
    return model(x)
'''

TESTS = '''
import numpy as np
import tensorflow as tf
import keras
from tfpkg.ops import step, plain, eager_sum, Dense, Mod, use_model, helper


def test_step():
    x = tf.ones([3])
    for _ in range(3):
        step(x, tf.constant(2))
    step(tf.ones([4, 2]), tf.constant(1))
    step(x, 3)
    plain(x)


def test_eager():
    eager_sum(tf.ones([2, 2]), tf.Variable(1.0))
    helper(np.ones(3), 2)


def test_keras():
    Dense()(tf.ones([5, 3]))
    model = keras.Sequential([keras.Input((3,)), Dense()])
    use_model(model, tf.ones([2, 3]))
    m = Mod()
    m(tf.ones([2]))
    m(tf.ones([2]))
'''


@pytest.fixture(scope="session")
def tf_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    root = make_project(tmp_path_factory.mktemp("tf"), "proj", {
        "pyproject.toml": '[project]\nname = "tfpkg"\nversion = "0"\n[tool.pytest.ini_options]\npythonpath = ["."]\n',
        "tfpkg/__init__.py": "", "tfpkg/ops.py": OPS, "tests/test_ops.py": TESTS,
    })
    proc = hybridize("profile", "--no-measure", "--", PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, functions_json(root)


def arg(fn: dict[str, Any], name: str, **match: Any) -> list[dict[str, Any]]:
    return [s["args"][name] for s in fn["signatures"] if all(s["args"][name].get(k) == v for k, v in match.items())]


def test_existing_tf_functions_calls_and_traces(tf_profile: Any) -> None:
    fns = tf_profile[1]
    step = fns["tfpkg.ops:step"]
    assert step["hybrid"] and step["calls"] == 5 and step["traces"] == 3 and step["tf_traces_reported"] == 3
    assert step["total_s"] > 0
    eager_x = arg(step, "x", symbolic=False)
    assert {tuple(a["shape"]) for a in eager_x} == {(3,), (4, 2)} and all(a["dtype"] == "float32" for a in eager_x)
    assert arg(step, "n", kind="python") == [{"kind": "python", "type": "int", "value": 3}] * 2  # eager call + its trace
    plain = fns["tfpkg.ops:plain"]
    assert plain["hybrid"] and plain["calls"] == 1 and plain["traces"] == 1
    mod = fns["tfpkg.ops:Mod.__call__"]
    assert mod["hybrid"] and mod["calls"] == 2 and mod["traces"] == 1
    assert arg(mod, "self")[0] == {"kind": "object", "type": "tfpkg.ops.Mod", "tf_module": True}


def test_functions_traced_inside_tf_functions_count_as_graph_calls(tf_profile: Any) -> None:
    helper = tf_profile[1]["tfpkg.ops:helper"]
    # AutoGraph runs tf__helper: 2 traces of step with shape [3] + 1 with [4, 2] ... + plain (autograph off) + Mod
    assert helper["graph_calls"] == 5 and helper["eager_calls"] == 1 and helper["calls"] == 6
    assert not helper["hybrid"]
    assert {a["value"] for a in arg(helper, "scale", kind="python")} == {1.0, 2.0, 3.0}
    assert arg(helper, "x", kind="ndarray") == [{"kind": "ndarray", "dtype": "float64", "shape": [3], "type": "numpy.ndarray"}]


def test_variables_and_keras_objects(tf_profile: Any) -> None:
    fns = tf_profile[1]
    v = arg(fns["tfpkg.ops:eager_sum"], "v")[0]
    assert v["kind"] == "variable" and v["dtype"] == "float32" and v["shape"] == []
    call = fns["tfpkg.ops:Dense.call"]
    assert call["graph_calls"] == 1 and call["eager_calls"] == 2  # Keras builds the Sequential symbolically once
    assert [None, 3] in [a["shape"] for a in arg(call, "x", symbolic=True)]
    assert arg(call, "self")[0]["keras_layer"] is True
    model = arg(fns["tfpkg.ops:use_model"], "model")[0]
    assert model["keras_model"] is True
    assert fns["tfpkg.ops:use_model"]["tests"] == ["tests/test_ops.py::test_keras"]


def test_table_output(tf_profile: Any, tmp_path: Path) -> None:
    assert "profiled" in tf_profile[0].stderr
