"""Before/after snippet pairs: each rule fires on the bad form and stays quiet on the fixed form.

Every snippet defines ``f``; ``before`` must carry the code among ``f``'s findings, ``after`` must not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hybridize.static import FunctionReport

HEADER = "import tensorflow as tf\nimport numpy as np\nimport random, time, logging, os\n"

PAIRS: list[tuple[str, str, str]] = [
    ("HY101", "def f(x):\n    print(x)\n    return x + 1\n",
     "def f(x):\n    tf.print(x)\n    return x + 1\n"),
    ("HY102", "def f(x):\n    logging.info('x=%s', x)\n    return x\n",
     "def f(x):\n    return x\n"),
    ("HY102", "log = logging.getLogger(__name__)\ndef f(x):\n    log.warning('hi')\n    return x\n",
     "log = logging.getLogger(__name__)\ndef f(x):\n    return x\n"),
    ("HY103", "n = 0\ndef f(x):\n    global n\n    n += 1\n    return x\n",
     "n = 0\ndef f(x):\n    return x + n\n"),  # reading a global is fine
    ("HY104", "class A:\n    def g(self):\n        pass\ndef f(obj, x):\n    obj.last = x\n    return x\n",
     "class A:\n    pass\ndef f(x):\n    obj = A()\n    obj.last = x\n    return x\n"),
    ("HY104", "def f(x):\n    setattr(x, 'a', 1)\n",
     "def f(x):\n    o = type('O', (), {})()\n    setattr(o, 'a', 1)\n"),
    ("HY105", "history = []\ndef f(x):\n    history.append(x)\n    return x\n",
     "def f(x):\n    out = []\n    out.append(x)\n    return out\n"),
    ("HY105", "def f(d, x):\n    d['k'] = x\n",
     "def f(x):\n    d = {}\n    d['k'] = x\n    return d\n"),
    ("HY105", "def f(cache: dict, x):\n    cache.update(k=x)\n",
     "def f(x):\n    cache = dict(a=1)\n    cache.update(k=x)\n    return cache\n"),
    ("HY105", "def f(items, x):\n    alias = items\n    alias.append(x)\n",
     "def f(items, x):\n    copy = list(items)\n    copy.append(x)\n    return copy\n"),
    ("HY105", "history = []\ndef f(x):\n    return tf.map_fn(lambda t: history.append(t) or t, x)\n",
     "def f(x):\n    return tf.map_fn(lambda t: t * 2, x)\n"),  # side effects in a lambda passed to map
    ("HY106", "def f(x):\n    with open('log.txt', 'a') as fh:\n        fh.write('x')\n    return x\n",
     "def f(x):\n    tf.io.write_file('log.txt', tf.strings.as_string(x))\n    return x\n"),
    ("HY106", "def f(x):\n    os.makedirs('out')\n    return x\n",
     "def f(x):\n    p = os.path.join('a', 'b')\n    return x\n"),
    ("HY107", "import requests\ndef f(x):\n    requests.post('http://h', json=1)\n    return x\n",
     "def f(x):\n    return x\n"),
    ("HY108", "def f(x):\n    return x * random.random()\n",
     "def f(x):\n    return x * tf.random.uniform([])\n"),
    ("HY108", "def f(x):\n    return x + np.random.normal(size=3)\n",
     "def f(x):\n    return x + tf.random.normal([3])\n"),
    ("HY109", "def f(x):\n    t = time.time()\n    return x, t\n",
     "def f(x):\n    t = tf.timestamp()\n    return x, t\n"),
    ("HY110", "def f(it, x):\n    return x + next(it)\n",
     "def f(x):\n    ds = tf.data.Dataset.range(3)\n    it = iter(ds)\n    return x + next(it)\n"),
    ("HY201", "def f(x):\n    return x.numpy() + 1\n",
     "def f(x):\n    return x + 1\n"),
    ("HY202", "def f(x):\n    y = tf.square(x)\n    return np.mean(y)\n",
     "def f(x):\n    y = tf.square(x)\n    return tf.reduce_mean(y)\n"),
    ("HY202", "def f(x):\n    k = np.zeros(3)\n    return np.sum(tf.abs(x)) + k\n",
     "def f(x):\n    k = np.zeros(3)\n    return tf.reduce_sum(tf.abs(x)) + k\n"),  # NumPy on constants is fine
    ("HY203", "def f(x):\n    y = tf.reduce_sum(x)\n    return float(y)\n",
     "def f(x):\n    n = float(x.shape[0])\n    return tf.cast(tf.reduce_sum(x), tf.float32) / n\n"),
    ("HY204", "def f(x):\n    y = tf.reduce_sum(x)\n    assert y > 0\n    return y\n",
     "def f(x):\n    assert x is not None\n    y = tf.reduce_sum(x)\n    tf.debugging.assert_positive(y)\n    return y\n"),
    ("HY205", "def f(x: tf.Tensor):\n    total = 0\n    for row in x:\n        total += row\n    return total\n",
     "def f(x: tf.Tensor):\n    total = 0\n    for i in tf.range(3):\n        total += x[i]\n    return total\n"),
    ("HY206", "def f(x):\n    if x.shape[0] > 2:\n        return x\n    return -x\n",
     "def f(x):\n    return tf.cond(tf.shape(x)[0] > 2, lambda: x, lambda: -x)\n"),
    ("HY206", "def f(x):\n    total = 0\n    for i in range(x.shape[0]):\n        total += x[i]\n    return total\n",
     "def f(x):\n    total = 0\n    for i in range(3):\n        total += x[i]\n    return total\n"),
    ("HY301", "def f(x):\n    for i in range(3):\n        yield x + i\n",
     "def f(x):\n    return [x + i for i in range(3)]\n"),
    ("HY302", "def f(x, n):\n    if n == 0:\n        return x\n    return f(x * 2, n - 1)\n",
     "def f(x, n):\n    for _ in range(n):\n        x = x * 2\n    return x\n"),
    ("HY303", "def f(x):\n    for i in tf.range(10):\n        if x[i] > 0:\n            return i\n    return -1\n",
     "def f(x):\n    for i in range(10):\n        if i > 5:\n            return i\n    return -1\n"),
    ("HY304", "def f(x):\n    try:\n        y = tf.linalg.inv(x)\n    except Exception:\n        y = x\n    return y\n",
     "def f(x):\n    try:\n        import scipy\n    except ImportError:\n        scipy = None\n    return tf.linalg.inv(x)\n"),
    ("HY305", "def f(x):\n    if tf.reduce_sum(x) < 0:\n        raise ValueError('neg')\n    return x\n",
     "def f(x):\n    if x is None:\n        raise ValueError('none')\n    return x\n"),
    ("HY306", "def f(x):\n    v = tf.Variable(0.0)\n    v.assign_add(x)\n    return v\n",
     "class M:\n    def __init__(self):\n        self.v = tf.Variable(0.0)\n"
     "def f(m, x):\n    m.v.assign_add(x)\n    return m.v\n"),
    ("HY307", "def f(x):\n    layer = tf.keras.layers.Dense(3)\n    return layer(x)\n",
     "dense = tf.keras.layers.Dense(3)\ndef f(x):\n    return dense(x)\n"),
    ("HY307", "def f(model, x, y):\n    opt = tf.keras.optimizers.Adam()\n    return opt\n",
     "def f(model, x, y):\n    lr = tf.keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)\n    return lr\n"),
    ("HY308", "def f(model, opt, grads):\n    opt.apply_gradients(zip(grads, model.trainable_variables))\n",
     "def f(model, opt, x):\n    with tf.GradientTape() as tape:\n        loss = tf.reduce_sum(model(x))\n"
     "    grads = tape.gradient(loss, model.trainable_variables)\n"
     "    opt.apply_gradients(zip(grads, model.trainable_variables))\n"),
    ("HY501", "def f(fn, x):\n    return fn(x)\n",
     "def g(x):\n    return x * 2\ndef f(x):\n    return g(x)\n"),
    ("HY502", "def f(obj, name, x):\n    return getattr(obj, name)(x)\n",
     "def f(obj, x):\n    return getattr(obj, 'scale', 1) * x\n"),
]


def _own(report: FunctionReport) -> set[str]:
    return {f.code for f in report.findings if not f.via}


@pytest.mark.parametrize(("code", "before", "after"), PAIRS, ids=[f"{p[0]}-{i}" for i, p in enumerate(PAIRS)])
def test_rule_fires_before_and_not_after(fn: Callable[[str, str], FunctionReport], code: str, before: str,
                                         after: str) -> None:
    bad = fn(HEADER + before, "f")
    assert code in _own(bad), [(x.code, x.message) for x in bad.findings]
    good = fn(HEADER + after, "f")
    assert code not in {x.code for x in good.findings}, [(x.code, x.message) for x in good.findings]


MUST_NOT_FLAG = {
    "locals and objects created inside": """
        def f(x):
            acc = []
            for i in range(3):
                acc.append(x * i)
            d = {"a": x}
            d["b"] = x
            s = set()
            s.add(1)
            return tf.add_n(acc)
    """,
    "tf.print, tf.random, tf.range loops": """
        def f(x):
            tf.print("x:", x)
            total = tf.zeros_like(x)
            for i in tf.range(5):
                total += tf.random.normal(tf.shape(x))
            return total
    """,
    "tf.data iterators": """
        def f(x):
            ds = tf.data.Dataset.from_tensor_slices(x).batch(2)
            it = iter(ds)
            return next(it)
    """,
    "reads of globals and closures": """
        SCALE = 3.0
        TABLE = {"a": 1}
        def f(x):
            return x * SCALE + TABLE["a"]
    """,
    "variable assign": """
        class Counter:
            def __init__(self):
                self.count = tf.Variable(0)
            def f(self, x):
                self.count.assign_add(1)
                return x + tf.cast(self.count, x.dtype)
    """,
    "list comprehensions": """
        def f(xs):
            ys = [tf.square(x) for x in xs]
            zs = {k: v for k, v in enumerate(ys)}
            return tf.add_n(ys), zs
    """,
    "shape checks outside conditions and isinstance": """
        def f(x):
            if isinstance(x, (list, tuple)):
                x = tf.stack(x)
            n = tf.shape(x)[0]
            return tf.reshape(x, [n, -1])
    """,
}


@pytest.mark.parametrize("name", list(MUST_NOT_FLAG))
def test_must_not_flag(fn: Callable[[str, str], FunctionReport], name: str) -> None:
    src = MUST_NOT_FLAG[name]
    qual = "Counter.f" if "class Counter" in src else "f"
    report = fn(HEADER + __import__("textwrap").dedent(src), qual)
    assert report.verdict == "safe", [(x.code, x.message) for x in report.findings]
    assert not report.findings


def test_a_raise_under_a_tensor_condition_blocks_and_reaches_callers(fn: Callable[[str, str], FunctionReport]) -> None:
    """Measured: such a tf.function fails every trace (OperatorNotAllowedInGraphError), so trying it, or any
    caller of it, only costs trial runs (tensorflow/similarity: 21 of 28 trial runs were its callers' failures)."""
    src = HEADER + ("def check(x):\n    if tf.reduce_sum(x) < 0:\n        raise ValueError('neg')\n    return x\n\n\n"
                    "def f(x):\n    return check(x) * 2\n")
    own = fn(src, "check")
    assert [(x.code, x.severity) for x in own.findings] == [("HY305", "blocker")] and own.verdict == "unsafe"
    caller = fn(src, "f")
    assert any(x.code == "HY305" and x.via for x in caller.findings) and caller.verdict == "unsafe"
