"""tf.function detection (aliases, stacked, factories, assignments), argument parsing, redundancy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hybridize.static import Analysis, FunctionReport

FORMS = {
    "plain": "import tensorflow as tf\n@tf.function\ndef f(x):\n    return x\n",
    "module name": "import tensorflow\n@tensorflow.function\ndef f(x):\n    return x\n",
    "import alias": "import tensorflow as t\n@t.function()\ndef f(x):\n    return x\n",
    "from import": "from tensorflow import function\n@function\ndef f(x):\n    return x\n",
    "from import alias": "from tensorflow import function as tfn\n@tfn(jit_compile=True)\ndef f(x):\n    return x\n",
    "compat.v2": "import tensorflow.compat.v2 as tf\n@tf.function\ndef f(x):\n    return x\n",
    "stacked": "import functools\nimport tensorflow as tf\ndef deco(g):\n    return g\n"
               "@deco\n@tf.function\n@functools.lru_cache\ndef f(x):\n    return x\n",
    "assignment": "import tensorflow as tf\ndef f(x):\n    return x\nf = tf.function(f)\n",
    "other name": "import tensorflow as tf\ndef f(x):\n    return x\nfast_f = tf.function(f, reduce_retracing=True)\n",
    "factory": "import tensorflow as tf\njit = tf.function(jit_compile=True)\n@jit\ndef f(x):\n    return x\n",
    "class body": "import tensorflow as tf\nclass M:\n    def f(self, x):\n        return x\n    f = tf.function(f)\n",
    "in __init__": "import tensorflow as tf\nclass M:\n    def __init__(self):\n        self.f = tf.function(self.f)\n"
                   "    def f(self, x):\n        return x\n",
}


@pytest.mark.parametrize("form", list(FORMS))
def test_hybrid_forms(project: Callable[..., Analysis], form: str) -> None:
    a = project(FORMS[form])
    r = a.get("mod:M.f") or a.get("mod:f")
    assert r is not None and r.hybrid, form
    assert "HY401" in {f.code for f in r.findings}


def test_not_hybrid(project: Callable[..., Analysis]) -> None:
    a = project("import tensorflow as tf\nfrom mylib import function\n@function\ndef f(x):\n    return x\n"
                "@tf.custom_gradient\ndef g(x):\n    return x, lambda d: d\n")
    assert not a.get("mod:f").hybrid and not a.get("mod:g").hybrid  # type: ignore[union-attr]


def test_decorator_args_parsed(fn: Callable[[str, str], FunctionReport]) -> None:
    src = """import tensorflow as tf
@tf.function(input_signature=[tf.TensorSpec(shape=[None, 3], dtype=tf.float32), tf.TensorSpec([], tf.int32, name="n")],
             reduce_retracing=True, jit_compile=False, autograph=True, experimental_relax_shapes=True)
def f(x, n):
    return x
"""
    r = fn(src, "f")
    assert r.decorator_args == {
        "input_signature": [{"shape": [None, 3], "dtype": "float32"}, {"shape": [], "dtype": "int32", "name": "n"}],
        "reduce_retracing": True, "jit_compile": False, "autograph": True, "experimental_relax_shapes": True,
    }
    assert "HY403" in {f.code for f in r.findings}


def test_signature_that_is_not_literal_is_kept_as_text(fn: Callable[[str, str], FunctionReport]) -> None:
    r = fn("import tensorflow as tf\nSIG = []\n@tf.function(input_signature=SIG)\ndef f(x):\n    return x\n", "f")
    assert r.decorator_args == {"input_signature": "SIG"}


def test_redundant_nested_and_called_only_from_hybrid(project: Callable[..., Analysis]) -> None:
    a = project("""import tensorflow as tf
@tf.function
def inner(x):
    return x * 2

@tf.function
def outer(x):
    @tf.function
    def nested(y):
        return y + 1
    return nested(inner(x))
""")
    inner = a.get("mod:inner")
    nested = a.get("mod:outer.<locals>.nested")
    outer = a.get("mod:outer")
    assert inner is not None and "HY402" in {f.code for f in inner.findings}
    assert nested is not None and "HY402" in {f.code for f in nested.findings}
    assert outer is not None and "HY402" not in {f.code for f in outer.findings}


def test_precondition_p2_p3(project: Callable[..., Analysis]) -> None:
    a = project("""import tensorflow as tf
@tf.function
def no_tensors(n=3):
    return n * 2

@tf.function
def mixed(x: tf.Tensor, steps: int = 3):
    return x * steps

@tf.function
def optimal(x: tf.Tensor):
    return x * 2
""")
    assert a.get("mod:no_tensors").precondition["refactoring"] == "P2"  # type: ignore[union-attr]
    assert a.get("mod:mixed").precondition["refactoring"] == "P3"  # type: ignore[union-attr]
    opt = a.get("mod:optimal")
    assert opt is not None and opt.precondition["refactoring"] is None
    assert "HAS_NO_PRIMITIVE_PARAMETERS" in opt.precondition["failures"]
