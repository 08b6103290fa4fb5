"""Pure-Python helpers are never tried as conversions (tf.function fails on them or gains nothing)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from hybridize.planner.candidates import build_candidates, received_tensors
from hybridize.profile_types import FunctionProfile
from hybridize.static.model import FunctionReport

SOURCE = textwrap.dedent('''
    import tensorflow as tf


    def listify(value, empty_if_none=True):
        if not isinstance(value, list):
            if value is None and empty_if_none:
                value = []
            elif isinstance(value, tuple):
                value = list(value)
            else:
                value = [value]
        return value


    IS_TRAINABLE = lambda x: isinstance(x, tf.Variable) and x.trainable


    def scale(x, factor):
        return x * factor


    def total(xs):
        return tf.add_n(xs)


    def pick(x):
        return x[0]
''')
LINES = {"listify": 5, "<lambda>": 16, "scale": 19, "total": 23, "pick": 27}
TENSOR = {"kind": "tensor", "dtype": "float32", "shape": [3], "type": "tensorflow.python.framework.ops.EagerTensor"}
MODEL = {"kind": "object", "type": "tensorflow.python.keras.Model", "keras_model": True}


def fn(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"function": f"m:{name}", "file": "m.py", "line": LINES[name], "calls": 5, "hybrid": False,
            "signatures": [{"count": 5, "args": args}]}


def sigs_of(name: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    return list(fn(name, args)["signatures"])


def test_container_of_objects_named_tensorflow_is_not_a_tensor() -> None:
    """The old string search took any item whose type name contained "tensor" for a tensor."""
    assert not received_tensors(sigs_of("listify", {"value": {"kind": "container", "type": "list", "len": 1,
                                                          "items": [MODEL]}}))
    assert received_tensors(sigs_of("total", {"xs": {"kind": "container", "type": "list", "len": 2,
                                                "items": [{"kind": "container", "type": "tuple", "items": [TENSOR]}]}}))
    assert received_tensors(sigs_of("total", {"xs": {"kind": "container", "type": "dict", "keys": ["a"],
                                                "items": {"a": {"kind": "variable", "dtype": "float32"}}}}))
    assert received_tensors(sigs_of("scale", {"x": TENSOR}))


def test_pure_python_helpers_rejected_before_any_run(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    functions = [
        fn("listify", {"value": TENSOR, "empty_if_none": {"kind": "python", "type": "bool", "value": True}}),
        fn("<lambda>", {"x": TENSOR}),
        fn("scale", {"x": TENSOR, "factor": {"kind": "python", "type": "float", "value": 2.0}}),
        fn("total", {"xs": {"kind": "container", "type": "list", "len": 2, "items": [TENSOR, TENSOR]}}),
        fn("pick", {"x": TENSOR}),
    ]
    candidates, rejected = build_candidates(functions, [], root=tmp_path)
    assert sorted(c.function for c in candidates) == ["m:pick", "m:scale", "m:total"]
    reasons = {r.function: (r.reason, r.detail) for r in rejected}
    assert reasons["m:listify"][0] == "pure-python" and "no tensor computation" in reasons["m:listify"][1]
    assert reasons["m:<lambda>"][0] == "pure-python"


def test_no_tensor_ever_passed_is_said_when_it_looked_like_one(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    functions = [fn("listify", {"value": {"kind": "container", "type": "list", "len": 1, "items": [MODEL]}}),
                 fn("scale", {"x": {"kind": "python", "type": "float", "value": 1.0},
                              "factor": {"kind": "python", "type": "float", "value": 2.0}})]
    candidates, rejected = build_candidates(functions, [], root=tmp_path)
    assert candidates == []
    assert [(r.function, r.reason) for r in rejected] == [("m:listify", "pure-python")]  # plain floats: silent
    assert "no tensor or variable" in rejected[0].detail


def test_unreadable_source_is_still_tried(tmp_path: Path) -> None:
    candidates, rejected = build_candidates([fn("listify", {"value": TENSOR})], [], root=tmp_path)
    assert [c.function for c in candidates] == ["m:listify"] and rejected == []


def test_typed_records_and_json_rows_join_the_same(tmp_path: Path) -> None:
    """The planner reads the profile's ``FunctionProfile`` records and the static ``FunctionReport`` objects; the
    ``functions --json`` / ``check --json`` forms convert to exactly those (the adapters tests and scripts use)."""
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    blocker = {"code": "HY201", "line": 28, "message": "x.numpy()", "via": []}
    rows = [fn("scale", {"x": TENSOR}), fn("pick", {"x": TENSOR})]
    reports = [{"function": "m:scale", "file": "m.py", "line": 19, "end_line": 20, "verdict": "safe"},
               {"function": "m:pick", "file": "m.py", "line": 27, "end_line": 28, "verdict": "unsafe",
                "findings": [blocker]}]
    typed = build_candidates([FunctionProfile.from_json(r) for r in rows],
                             [FunctionReport.from_json(r) for r in reports], root=tmp_path)
    untyped = build_candidates(rows, reports, root=tmp_path)
    assert typed == untyped
    (c,), (r,) = typed
    assert isinstance(c.profile, FunctionProfile) and isinstance(c.static, FunctionReport)
    assert (c.function, c.static.verdict, c.profile.calls) == ("m:scale", "safe", 5)
    assert (r.function, r.reason, r.detail) == ("m:pick", "blocker-finding", "HY201 at line 28: x.numpy()")
