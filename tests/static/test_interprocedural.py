"""Propagation through calls (across modules, methods on self, project classes), recursion, closures."""

from __future__ import annotations

from collections.abc import Callable

from hybridize.static import Analysis, FunctionReport

TF = "import tensorflow as tf\n"


def _codes(r: FunctionReport) -> set[str]:
    return {f.code for f in r.findings}


def test_propagates_across_modules_with_path(project: Callable[..., Analysis]) -> None:
    a = project({
        "pkg/__init__.py": "",
        "pkg/metrics.py": TF + "def log_metrics(loss):\n    print('loss', loss)\n",
        "pkg/train.py": TF + "from pkg.metrics import log_metrics\n\n"
                             "def train_step(x):\n    loss = tf.reduce_sum(x)\n    log_metrics(loss)\n    return loss\n",
    })
    step = a.get("pkg.train:train_step")
    assert step is not None
    prop = [f for f in step.findings if f.code == "HY101"]
    assert prop and prop[0].via == ["pkg.train:train_step", "pkg.metrics:log_metrics"]
    assert "train_step -> log_metrics: print" in prop[0].message and "pkg/metrics.py:3" in prop[0].message
    assert step.calls == ["pkg.metrics:log_metrics"]
    assert step.verdict == "unknown"  # print is a warning


def test_module_alias_and_reexport(project: Callable[..., Analysis]) -> None:
    a = project({
        "pkg/__init__.py": "from pkg.util import bump\n",
        "pkg/util.py": "STATE = {}\ndef bump(k):\n    STATE[k] = 1\n",
        "pkg/main.py": "import pkg as p\nimport pkg.util as u\n\ndef f(x):\n    p.bump('a')\n    return x\n\n"
                       "def g(x):\n    u.bump('b')\n    return x\n",
    })
    for name in ("pkg.main:f", "pkg.main:g"):
        r = a.get(name)
        assert r is not None and r.verdict == "unsafe" and "HY105" in _codes(r), name


def test_methods_on_self_and_inherited(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
class Base:
    def _track(self, x):
        self.seen = x

class Model(Base):
    def helper(self, x):
        return tf.square(x)
    def step(self, x):
        y = self.helper(x)
        self._track(y)
        return y
"""
    r = fn(src, "Model.step")
    assert "mod:Model.helper" in r.calls and "mod:Base._track" in r.calls
    hy = [f for f in r.findings if f.code == "HY104"]
    assert hy and hy[0].via[-1] == "mod:Base._track"


def test_typed_attribute_layer_call(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
class Block:
    def __call__(self, x):
        print(x)
        return x

class Net:
    def __init__(self):
        self.block = Block()
    def __call__(self, x):
        return self.block(x)
"""
    r = fn(src, "Net.__call__")
    assert "mod:Block.__call__" in r.calls and "HY101" in _codes(r)


def test_constructor_writes_to_new_object_are_not_side_effects(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
class Box:
    def __init__(self, v):
        self.v = v

def f(x):
    b = Box(x)
    return b.v
"""
    assert fn(src, "f").verdict == "safe"


def test_recursion_direct_and_mutual(project: Callable[..., Analysis]) -> None:
    a = project(TF + "def even(n):\n    return True if n == 0 else odd(n - 1)\n"
                     "def odd(n):\n    return False if n == 0 else even(n - 1)\n"
                     "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n"
                     "def user(x):\n    return even(x)\n")
    for name in ("mod:even", "mod:odd", "mod:fact"):
        r = a.get(name)
        assert r is not None and "HY302" in _codes(r) and r.verdict == "unsafe", name
        assert "IS_RECURSIVE" in r.precondition["failures"]
    user = a.get("mod:user")
    assert user is not None and user.verdict == "safe"  # calling a recursive helper is a Python call, traced once


def test_hybrid_callee_is_not_followed(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + "@tf.function\ndef inner(x):\n    print('tracing')\n    return x\n\ndef outer(x):\n    return inner(x)\n"
    assert fn(src, "outer").verdict == "safe"


def test_closure_writes_are_local_to_the_enclosing_function(project: Callable[..., Analysis]) -> None:
    a = project(TF + """
def outer(x):
    acc = []
    total = 0
    def add(v):
        nonlocal total
        acc.append(v)
        total += 1
    add(x)
    return acc, total
""")
    inner = a.get("mod:outer.<locals>.add")
    outer = a.get("mod:outer")
    assert inner is not None and {"HY103", "HY105"} <= _codes(inner)
    assert outer is not None and outer.verdict == "safe", [(f.code, f.message) for f in outer.findings]


def test_lambda_assigned_to_name_is_a_function(project: Callable[..., Analysis]) -> None:
    a = project("import numpy as np\nnoisy = lambda x: x + np.random.rand()\n")
    r = a.get("mod:noisy")
    assert r is not None and "HY108" in _codes(r)


def test_unknown_callee_is_never_silently_safe(fn: Callable[[str, str], FunctionReport]) -> None:
    r = fn(TF + "def f(x, callback):\n    return callback(x)\n", "f")
    assert r.verdict == "unknown"
    assert any("callback" in a for a in r.assumptions)
    assert "UNDETERMINABLE_SIDE_EFFECTS" in r.precondition["failures"] and not r.precondition["holds"]


def test_args_forwarding_is_an_assumption(fn: Callable[[str, str], FunctionReport]) -> None:
    r = fn(TF + "def f(*args, **kwargs):\n    return tf.add(*args, **kwargs)\n", "f")
    assert any("*args" in a for a in r.assumptions) and any("**kwargs" in a for a in r.assumptions)
    kinds = {p.name: p.kind for p in r.params}
    assert kinds == {"args": "var-positional", "kwargs": "var-keyword"}


def test_speculative_tensor_params(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
class Net(tf.keras.Model):
    def call(self, inputs, training=False):
        return inputs * 2
"""
    r = fn(src, "Net.call")
    assert r.precondition["speculative"] and r.precondition["tensor_params"] == ["inputs"]
    assert r.precondition["primitive_params"] == ["training"]
    assert "HAS_PRIMITIVE_PARAMETERS" in r.precondition["failures"] and not r.precondition["holds"]
    assert any(a.startswith("speculative") for a in r.assumptions)


def test_p1_holds_for_a_clean_tensor_function(fn: Callable[[str, str], FunctionReport]) -> None:
    r = fn(TF + "def f(x):\n    return tf.nn.relu(x) * 2\n", "f")
    assert r.verdict == "safe"
    assert r.precondition == {"refactoring": "P1", "holds": True, "tensor_params": ["x"], "primitive_params": [],
                              "speculative": False, "failures": []}


def test_first_call_variable_creation_is_info(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
class Lin:
    def __init__(self):
        self.w = None
    def __call__(self, x):
        if self.w is None:
            self.w = tf.Variable(tf.ones([x.shape[-1], 3]))
        return tf.matmul(x, self.w)
"""
    r = fn(src, "Lin.__call__")
    assert "HY309" in _codes(r) and "HY306" not in _codes(r)


def test_guarded_first_call_edge_downgrades_variable_creation(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
class Conv:
    def __init__(self):
        self.w = None
    def _make_w(self, n):
        return tf.Variable(tf.zeros([n]))
    def __call__(self, x):
        if self.w is None:
            self.w = self._make_w(3)
        return x * self.w
"""
    r = fn(src, "Conv.__call__")
    assert "HY306" not in {f.code for f in r.findings} and "HY309" in {f.code for f in r.findings}
    assert r.verdict == "safe"


def test_alias_is_decided_by_the_latest_binding(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
def f(inputs, layers):
    outputs = []
    for layer in layers:
        outputs.append(layer(inputs))
    outputs = inputs
    return outputs
"""
    r = fn(src, "f")
    assert "HY105" not in {f.code for f in r.findings}, r.findings
    r2 = fn(TF + "def g(items, x):\n    out = []\n    out = items\n    out.append(x)\n", "g")
    assert "HY105" in {f.code for f in r2.findings}


def test_ambiguous_mutator_needs_container_evidence(project: Callable[..., Analysis]) -> None:
    a = project(TF + """
REGISTRY = {}
def register(name, fn):
    REGISTRY.update({name: fn})

def step(ema, x):
    ema.update(x)
    return x
""")
    assert "HY105" in _codes(a.get("mod:register"))  # type: ignore[arg-type]
    assert "HY105" not in _codes(a.get("mod:step"))  # type: ignore[arg-type]


def test_reexported_library_module_is_canonical(project: Callable[..., Analysis]) -> None:
    a = project({
        "pkg/__init__.py": "try:\n    import tensorflow.keras as keras\nexcept ImportError:\n    import keras\n",
        "pkg/models.py": "from pkg import keras\n\ndef make(x):\n    return keras.layers.Dense(3)(x)\n",
    })
    r = a.get("pkg.models:make")
    assert r is not None and "HY307" in _codes(r) and "HY501" not in _codes(r)


def test_control_params(fn: Callable[[str, str], FunctionReport]) -> None:
    src = TF + """
def f(x, training, n, mask=None, scale=1.0):
    if training:
        x = tf.nn.dropout(x, 0.1)
    if mask is not None and isinstance(mask, tf.Tensor):
        x = x * mask
    for _ in range(n):
        x = x * scale
    return x
"""
    r = fn(src, "f")
    assert r.control_params == ["training", "n"] and r.to_json()["control_params"] == ["training", "n"]


def test_once_decorated_creator_blocks_itself_but_not_its_caller(fn: Callable[[str, str], FunctionReport]) -> None:
    """Like sonnet's `@once.once def _initialize`: the guard sits outside the body, so the function itself as a
    tf.function creates its variable on every trace (measured: ValueError on the first call); a caller that is
    converted instead runs it once per object, which tf.function allows."""
    src = TF + """
import once


class Dense:
    @once.once
    def _initialize(self, x):
        self.w = tf.Variable(tf.ones([x.shape[-1], 3]))
        self.ms = []
        self.ms.extend([self.w])  # first-call bookkeeping on self: not a once-per-trace mutation (HY105)

    def __call__(self, x):
        self._initialize(x)
        return tf.matmul(x, self.w)
"""
    own = fn(src, "Dense._initialize")
    assert {f.code for f in own.findings if f.severity != "info"} == {"HY306"} and own.verdict == "unsafe"
    caller = fn(src, "Dense.__call__")
    assert "HY306" not in _codes(caller) and "HY309" in _codes(caller)
