"""Patterns from real projects (sonnet, tf-keras-vis, Keras) that once were flagged wrongly: must stay quiet."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hybridize.static import FunctionReport

HEADER = "import tensorflow as tf\nimport numpy as np\nimport keras\nfrom typing import Sequence\n"

QUIET: dict[str, tuple[str, str]] = {
    "constructor sets attributes (callers stay safe)": ("make", """
class Net:
    def __init__(self, units):
        self.units = units
        self.layers_ = []

def make(x):
    return Net(3)
"""),
    "**kwargs is a fresh dict per call": ("creator", """
def creator(next_creator, **kwargs):
    kwargs["aggregation"] = "none"
    return kwargs
"""),
    "typed attribute with an update() method": ("BN.__call__", """
class EMA:
    def update(self, value):
        return value

class BN:
    def __init__(self):
        self.mean = EMA()
    def __call__(self, x):
        self.mean.update(tf.reduce_mean(x))
        return x
"""),
    "len() under isinstance(list)": ("apply", """
def apply(inputs, mods):
    if isinstance(inputs, (list, tuple)):
        assert len(inputs) == 2
        return inputs[0]
    return inputs
"""),
    "for over a Sequence[tf.Tensor] parameter": ("total", """
def total(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
    acc = []
    for t in tensors:
        acc.append(tf.reduce_sum(t))
    return tf.add_n(acc)
"""),
    "next() on a generator made inside": ("first", """
def first(*args):
    return next(a for a in args if a is not None)
"""),
    "keras layer built and called inline is a library callable": ("head", """
def head(x):
    return tf.nn.relu(x)
"""),
    "calling a model / layer parameter": ("train_step", """
def train_step(model: keras.Model, opt, x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""),
    "layers iterated from self": ("Stack.forward", """
class Stack(keras.Model):
    def __init__(self):
        super().__init__()
        self.blocks = [keras.layers.Dense(3), keras.layers.Dense(2)]
    def forward(self, x):  # not `call`, which is HY311 whatever its body
        for layer in self.blocks:
            x = layer(x)
        return x
"""),
    "a name that becomes a tensor only later": ("steps", """
def steps(seq):
    flat = list(seq)
    n = flat[0].shape[0]
    if n == 0:
        raise ValueError("empty")
    n = tf.shape(flat[0])[0]
    return n
"""),
    "library function aliased in both branches (tf-keras-vis num_of_gpus)": ("gpus", """
def gpus():
    if tf.__version__ < "2.1":
        list_devices = tf.config.experimental.list_physical_devices
    else:
        list_devices = tf.config.list_physical_devices
    return len(list_devices("GPU"))
"""),
}


@pytest.mark.parametrize("case", list(QUIET))
def test_quiet(fn: Callable[[str, str], FunctionReport], case: str) -> None:
    qual, src = QUIET[case]
    r = fn(HEADER + src, qual)
    loud = [(f.code, f.message) for f in r.findings if f.severity != "info"]
    assert not loud and r.verdict == "safe", loud


def test_factory_named_build_is_not_first_call_init(fn: Callable[[str, str], FunctionReport]) -> None:
    r = fn(HEADER + "def build_model(units):\n    return keras.Sequential([keras.layers.Dense(units)])\n", "build_model")
    assert "HY307" in {f.code for f in r.findings} and r.verdict == "unsafe"
    r = fn(HEADER + "class L(keras.layers.Layer):\n    def build(self, shape):\n"
                    "        self.w = self.add_weight(shape=(shape[-1], 3))\n", "L.build")
    assert r.verdict == "safe" and "HY309" in {f.code for f in r.findings}


def test_run_once_memo_is_quiet(fn: Callable[[str, str], FunctionReport]) -> None:
    src = HEADER + "def check():\n    if not check.done:\n        check.done = True\n\ncheck.done = False\n"
    assert fn(src, "check").verdict == "safe"


def test_aliased_function_keeps_its_effects(fn: Callable[[str, str], FunctionReport]) -> None:
    """The alias is checked like a direct call: a side effect behind it is still found, and an alias that is not a
    plain name (a call result, a parameter in one branch) stays unresolved."""
    src = HEADER + ("import logging\n\ndef helper(x):\n    print(x)\n    return x\n\n"
                    "def f(x):\n    log = logging.info\n    log('step')\n    return x\n\n"
                    "def g(x):\n    h = helper\n    return h(x)\n\n"
                    "def k(x, cb):\n    op = tf.square if x is None else cb\n    z = op\n    return z(x)\n")
    assert "HY102" in {f.code for f in fn(src, "f").findings}
    g = fn(src, "g")
    assert "HY101" in {f.code for f in g.findings} and "mod:helper" in g.calls
    assert "HY501" in {f.code for f in fn(src, "k").findings}


MODULES = HEADER + '''
def make_var(shape):
    return tf.Variable(tf.zeros(shape))

class Base(tf.Module):
    pass

class Reshape(Base):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def __call__(self, x):
        return tf.reshape(x, self.shape)

class Lazy(Base):
    def __call__(self, x):
        if not hasattr(self, "w"):
            self.w = make_var([x.shape[-1]])
        return x * self.w

class Holder(Base):
    def __init__(self):
        super().__init__()
        self.inner = Lazy()

def flatten(x):
    return Reshape([-1])(x)

def lazy_fresh(x):
    return Lazy()(x)

def holder_fresh(x):
    return Holder()

def keras_fresh(x):
    return keras.layers.Flatten()(x)
'''


def test_stateless_module_built_in_body_is_not_a_blocker(fn: Callable[[str, str], FunctionReport]) -> None:
    """sonnet's ``reshape(x)`` builds a variable-free ``Reshape`` module per call: fine under tf.function. A module
    that creates a variable anywhere (lazily, through a helper, or through a sub-module) still is HY307, and Keras
    layers always are."""
    assert "HY307" not in {f.code for f in fn(MODULES, "flatten").findings}
    for qual in ("lazy_fresh", "holder_fresh", "keras_fresh"):
        r = fn(MODULES, qual)
        assert "HY307" in {f.code for f in r.findings} and r.verdict == "unsafe", qual


def test_numpy_on_a_required_parameter_is_a_blocker(fn: Callable[[str, str], FunctionReport]) -> None:
    """tf-keras-vis ``normalize(array)`` calls ``np.max(array)``: under tf.function the array arrives as a symbolic
    tensor (NotImplementedError). Python-valued parameters (a default, a scalar annotation) and rebound names stay
    quiet."""
    src = HEADER + ("def normalize(array, value_range=(1., 0.)):\n"
                    "    hi = np.max(array, axis=tuple(range(array.ndim)[1:]), keepdims=True)\n"
                    "    lo = np.min(value_range)\n    return (array - lo) / hi\n\n"
                    "def zeros(shape):\n    return np.zeros(shape)\n\n"
                    "def scaled(n: int, xs: list):\n    return np.sqrt(n) * np.mean(xs)\n\n"
                    "def rebound(a):\n    a = [1.0, 2.0]\n    return np.mean(a)\n")
    r = fn(src, "normalize")
    assert [f.line for f in r.findings if f.code == "HY202"] == [6] and r.verdict == "unsafe"
    assert "HY202" not in {f.code for f in fn(src, "scaled").findings}
    assert "HY202" not in {f.code for f in fn(src, "rebound").findings}
    assert "HY202" not in {f.code for f in fn(src, "zeros").findings}


def test_constructor_itself_is_never_a_conversion_target(fn: Callable[[str, str], FunctionReport]) -> None:
    """GPflow: the planner tried ``SVGP.__init__`` as a graph and failed; __init__ only sets the object up."""
    src = HEADER + "class Net:\n    def __init__(self, units):\n        self.units = units\n"
    r = fn(src, "Net.__init__")
    assert r.verdict == "unsafe" and [f.code for f in r.findings if f.severity == "blocker"] == ["HY310"]
