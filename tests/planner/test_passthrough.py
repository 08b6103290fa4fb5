"""Pass-through wrappers are rejected from the source, before any run; real work is never mistaken for one."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridize.planner.candidates import build_candidates
from hybridize.planner.passthrough import pass_through_reason

WRAPPERS = {
    "decorator": "def wrapper(*args, **kwargs):\n    return fn(*args, **kwargs)\n",
    "name_scope": ("def wrap(method, instance, args, kwargs):\n    if instance is None:\n        instance = args[0]\n"
                   "        args = args[1:]\n        method = functools.partial(method, instance)\n"
                   "    with instance.name_scope:\n        return method(*args, **kwargs)\n"),
    "metaclass": ("def __call__(cls, *args, **kwargs):\n    module = cls.__new__(cls, *args, **kwargs)\n"
                  "    try:\n        module.__init__(*args, **kwargs)\n    finally:\n        pass\n    return module\n"),
    "once": ("def wrapper(wrapped, instance, args, kwargs):\n    seen = getattr(instance, '_once', None)\n"
             "    if seen is None:\n        seen = set()\n    if 1 not in seen:\n        wrapped(*args, **kwargs)\n"
             "        seen.add(1)\n"),
    "tf_scope": "def w(*a, **k):\n    with tf.name_scope('s'):\n        return f(*a, **k)\n",
}

WORK = {
    "tensor_op": "def w(x, *rest):\n    return tf.matmul(x, *rest)\n",
    "layer_call": "def call(self, x, training=False):\n    return self.dense(x)\n",
    "sequential": ("def __call__(self, x, *args, **kwargs):\n    for mod in self.layers:\n"
                   "        x = mod(x, *args, **kwargs)\n    return x\n"),
    "transformed": "def __call__(self, *args):\n    args = tree.map_structure(merge, args)\n    return self.module(*args)\n",
    "numeric": "def step(model, x, *a):\n    y = model(x, *a)\n    return np.mean(y)\n",
}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrappers_are_pass_through(name: str) -> None:
    reason = pass_through_reason(WRAPPERS[name])
    assert reason is not None and "only forwards its arguments" in reason


@pytest.mark.parametrize("name", sorted(WORK))
def test_functions_doing_work_are_not(name: str) -> None:
    assert pass_through_reason(WORK[name]) is None


def test_build_candidates_rejects_wrappers_before_any_run(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("import tensorflow as tf\n\n" + WRAPPERS["decorator"] + "\n\ndef f(x):\n"
                                   "    return tf.reduce_sum(x * 2.0)\n", encoding="utf-8")
    tensor_sig = [{"count": 3, "args": {"x": {"kind": "tensor", "dtype": "float32", "shape": [3]}}}]
    functions = [{"function": "m:wrapper", "file": "m.py", "line": 3, "signatures": tensor_sig, "calls": 3},
                 {"function": "m:f", "file": "m.py", "line": 7, "signatures": tensor_sig, "calls": 3}]
    reports = [{"function": "m:wrapper", "file": "m.py", "line": 3, "end_line": 4, "findings": []},
               {"function": "m:f", "file": "m.py", "line": 7, "end_line": 8, "findings": []}]
    cands, rejected = build_candidates(functions, reports, True, tmp_path)
    assert [c.function for c in cands] == ["m:f"]
    assert [(r.function, r.reason) for r in rejected] == [("m:wrapper", "pass-through")]
    assert "fn" in rejected[0].detail
