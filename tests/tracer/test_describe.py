"""Argument keys: each recorded kind, built without TensorFlow (fake classes carry TensorFlow's type names)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hybridize.tracer.describe import InstanceOf, describe, describe_type, is_symbolic, to_json
from hybridize.tracer.record import is_heavy


class _DType:
    def __init__(self, name: str) -> None:
        self.name = name


class _Shape:
    def __init__(self, dims: list[int | None] | None) -> None:
        self.rank = None if dims is None else len(dims)
        self._dims = dims

    def as_list(self) -> list[int | None]:
        if self._dims is None:
            raise ValueError("unknown rank")
        return list(self._dims)


def _fake(module: str, name: str, bases: tuple[type, ...] = (object,), **attrs: Any) -> type:
    return type(name, bases, {"__module__": module, **attrs})


EagerTensor = _fake("tensorflow.python.framework.ops", "EagerTensor", dtype=_DType("float32"),
                    _shape_tuple=lambda self: (2, 3))
SymbolicTensor = _fake("tensorflow.python.framework.ops", "SymbolicTensor", dtype=_DType("int64"),
                       shape=_Shape([None, 4]))
UnknownRank = _fake("tensorflow.python.framework.ops", "SymbolicTensor", dtype=_DType("int64"), shape=_Shape(None))
ResourceVariable = _fake("tensorflow.python.ops.resource_variable_ops", "ResourceVariable", dtype=_DType("float32"),
                         shape=_Shape([3]))
KerasVariable = _fake("keras.src.backend.tensorflow.core", "Variable", dtype="float16", shape=(2, 2))
Layer = _fake("keras.src.layers.layer", "Layer")
Model = _fake("keras.src.models.model", "Model", (Layer,))
Module = _fake("tensorflow.python.module.module", "Module")


def test_python_scalars_keep_type_and_value() -> None:
    assert to_json(describe(3)) == {"kind": "python", "type": "int", "value": 3}
    assert to_json(describe(2.5)) == {"kind": "python", "type": "float", "value": 2.5}
    assert to_json(describe(True)) == {"kind": "python", "type": "bool", "value": True}
    assert describe(1) != describe(True) and describe(1) != describe(1.0)  # tf.function retraces on each
    assert to_json(describe(float("nan")))["value"] == "nan"
    long = describe("x" * 500)
    assert len(long[2]) < 100 and long[2].endswith("...")
    assert to_json(describe(None)) == {"kind": "none", "type": "NoneType"}


def test_tensors_by_type_name_without_tensorflow() -> None:
    assert to_json(describe(EagerTensor())) == {"kind": "tensor", "dtype": "float32", "shape": [2, 3],
                                                "type": "EagerTensor", "symbolic": False}
    sym = describe(SymbolicTensor())
    assert to_json(sym) == {"kind": "tensor", "dtype": "int64", "shape": [None, 4], "type": "SymbolicTensor",
                            "symbolic": True}
    assert is_symbolic(sym) and not is_symbolic(describe(EagerTensor()))
    assert to_json(describe(UnknownRank()))["shape"] is None
    assert is_symbolic(describe([1, SymbolicTensor()]))


def test_variables_and_arrays() -> None:
    var = to_json(describe(ResourceVariable()))
    assert var["kind"] == "variable" and var["dtype"] == "float32" and var["shape"] == [3]
    keras_var = to_json(describe(KerasVariable()))
    assert keras_var["kind"] == "variable" and keras_var["dtype"] == "float16" and keras_var["shape"] == [2, 2]
    arr = to_json(describe(np.zeros((4, 5), dtype=np.int16)))
    assert arr == {"kind": "ndarray", "dtype": "int16", "shape": [4, 5], "type": "numpy.ndarray"}
    assert to_json(describe(np.float32(1.5))) == {"kind": "python", "type": "numpy.float32", "value": 1.5}


def test_containers_by_length_keys_and_items_to_a_small_depth() -> None:
    j = to_json(describe([1, (2.0, "a")]))
    assert j["kind"] == "container" and j["type"] == "list" and j["len"] == 2
    assert j["items"][1]["items"][1] == {"kind": "python", "type": "str", "value": "a"}
    d = to_json(describe({"lr": 0.1, "x": np.ones(3)}))
    assert d["keys"] == ["lr", "x"] and d["items"]["x"]["kind"] == "ndarray"
    deep = to_json(describe([[[[1]]]]))
    assert "items" not in deep["items"][0]["items"][0]  # depth capped
    big = describe(list(range(1000)))
    assert big[2] == 1000 and len(big[4]) == 8  # length exact, elements capped


def test_objects_flag_keras_and_tf_modules() -> None:
    class MyLayer(Layer):  # type: ignore[misc,valid-type]
        pass

    class MyModel(Model):  # type: ignore[misc,valid-type]
        pass

    assert to_json(describe(MyLayer())) == {"kind": "object", "type": f"{__name__}.{MyLayer.__qualname__}",
                                            "keras_layer": True}
    model = to_json(describe(MyModel()))
    assert model["keras_model"] and model["keras_layer"]
    assert to_json(describe(Module()))["tf_module"] is True
    assert to_json(describe(object())) == {"kind": "object", "type": "object"}
    assert describe(InstanceOf(MyLayer)) == describe(MyLayer()) == describe_type(MyLayer)


def test_candidates_are_functions_with_tensor_like_arguments() -> None:
    assert is_heavy(describe(EagerTensor())) and is_heavy(describe(np.ones(2))) and is_heavy(describe(Module()))
    assert is_heavy(describe({"a": [ResourceVariable()]}))
    assert not is_heavy(describe(3)) and not is_heavy(describe([1, "a"])) and not is_heavy(describe(object()))
