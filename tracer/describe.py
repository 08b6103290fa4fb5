"""Cheap, hashable keys for argument values, and their JSON form.

A key is built per parameter per call, so it must cost well under a microsecond for the common cases: the handler
for each type is chosen once and cached. Tensors are recognised by type name and module, never by importing
TensorFlow, and only their metadata (dtype, shape) is read: never a value.

Key layouts (tuples, first item the kind):
    ("none",)
    ("python", type, value)                       bool/int/float/str/bytes-len/complex, numpy scalars
    ("tensor", dtype, shape, "eager"|"symbolic", type)
    ("variable", dtype, shape, type)
    ("ndarray", dtype, shape)
    ("container", type, len, keys|None, items|None)
    ("object", type, flags)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Key = tuple[Any, ...]
Handler = Callable[[Any, int], Key]

MAX_DEPTH = 2  # containers: element keys this deep
MAX_ITEMS = 8  # containers: this many elements described
MAX_KEYS = 16  # dicts: this many keys listed
MAX_STR = 80  # strings longer than this are cut (tf.function retraces per value anyway)

NONE_KEY: Key = ("none",)

_handlers: dict[type, Handler] = {}


def describe(value: Any, depth: int = 0) -> Key:
    """The key of one argument value."""
    t = type(value)
    handler = _handlers.get(t)
    if handler is None:
        handler = _handlers[t] = _make_handler(t)
    return handler(value, depth)


def _qualified(t: type) -> str:
    module = getattr(t, "__module__", "") or ""
    name = getattr(t, "__qualname__", t.__name__)
    return name if module == "builtins" else f"{module}.{name}"


def _py_scalar(v: Any, depth: int) -> Key:
    if type(v) is float and not math.isfinite(v):
        return ("python", "float", repr(v))
    return ("python", type(v).__name__, v)


def _py_str(v: str, depth: int) -> Key:
    return ("python", "str", v if len(v) <= MAX_STR else v[:MAX_STR] + "...")


def _py_bytes(v: bytes, depth: int) -> Key:
    return ("python", type(v).__name__, f"<{len(v)} bytes>")


def _py_complex(v: complex, depth: int) -> Key:
    return ("python", "complex", repr(v))


def _none(v: Any, depth: int) -> Key:
    return NONE_KEY


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None)
    return name if isinstance(name, str) else str(dtype)


def _shape_of(shape: Any) -> tuple[int | None, ...] | None:
    """A TensorShape, tuple or list as a tuple with None for unknown dims; None for unknown rank."""
    if shape is None:
        return None
    if isinstance(shape, tuple | list):
        return tuple(d if d is None else int(d) for d in shape)
    if getattr(shape, "rank", 0) is None:  # TensorShape of unknown rank
        return None
    as_list = getattr(shape, "as_list", None)
    if as_list is not None:
        return tuple(as_list())
    return tuple(shape)


def _eager_tensor(v: Any, depth: int) -> Key:
    return ("tensor", v.dtype.name, tuple(v._shape_tuple()), "eager", "EagerTensor")


def _symbolic_tensor(v: Any, depth: int) -> Key:
    return ("tensor", _dtype_name(v.dtype), _shape_of(v.shape), "symbolic", type(v).__name__)


def _variable(v: Any, depth: int) -> Key:
    return ("variable", _dtype_name(v.dtype), _shape_of(v.shape), _qualified(type(v)))


def _ndarray(v: Any, depth: int) -> Key:
    return ("ndarray", str(v.dtype), tuple(v.shape))


def _np_scalar(v: Any, depth: int) -> Key:
    item = v.item()
    if isinstance(item, float) and not math.isfinite(item):
        item = repr(item)
    elif not isinstance(item, bool | int | float | str):
        item = repr(item)
    return ("python", _qualified(type(v)), item)


def _sequence(v: Any, depth: int) -> Key:
    items = None
    if depth < MAX_DEPTH:
        items = tuple(describe(x, depth + 1) for x in v[:MAX_ITEMS]) if isinstance(v, list | tuple) else None
    return ("container", _qualified(type(v)), len(v), None, items)


def _mapping(v: dict[Any, Any], depth: int) -> Key:
    keys = []
    items: list[tuple[str, Key]] | None = [] if depth < MAX_DEPTH else None
    for i, (k, x) in enumerate(v.items()):
        if i >= MAX_KEYS:
            break
        ks = k if isinstance(k, str) else repr(k)
        keys.append(ks)
        if items is not None and i < MAX_ITEMS:
            items.append((ks, describe(x, depth + 1)))
    return ("container", _qualified(type(v)), len(v), tuple(keys), None if items is None else tuple(items))


def _set(v: Any, depth: int) -> Key:
    return ("container", _qualified(type(v)), len(v), None, None)


def _object_handler(t: type) -> Handler:
    flags: list[str] = []
    for klass in getattr(t, "__mro__", ()):
        mod = getattr(klass, "__module__", "") or ""
        name = klass.__name__
        if mod.startswith("keras") or mod.startswith("tf_keras") or mod.startswith("tensorflow.python.keras"):
            if name == "Layer" and "keras_layer" not in flags:
                flags.append("keras_layer")
            elif name in ("Model", "Functional", "Sequential") and "keras_model" not in flags:
                flags.append("keras_model")
        if mod.startswith("tensorflow") and name == "Module" and "tf_module" not in flags:
            flags.append("tf_module")
    key: Key = ("object", _qualified(t), tuple(flags))

    def handler(v: Any, depth: int) -> Key:
        return key

    return handler


class InstanceOf:
    """Stands for an instance we cannot reach (TensorFlow binds methods of tf.functions weakly): keyed by its class."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls


def _instance_of(v: InstanceOf, depth: int) -> Key:
    return describe_type(v.cls)


def describe_type(t: type) -> Key:
    """The key an instance of ``t`` would get, for objects (no instance needed)."""
    return _object_handler(t)(None, 0)


_SYMBOLIC_NAMES = {"SymbolicTensor", "Tensor", "KerasTensor"}


def _make_handler(t: type) -> Handler:
    if t is InstanceOf:
        return _instance_of
    if t is type(None):
        return _none
    if t in (bool, int, float):
        return _py_scalar
    if t is str:
        return _py_str
    if t in (bytes, bytearray):
        return _py_bytes
    if t is complex:
        return _py_complex
    mod = getattr(t, "__module__", "") or ""
    name = t.__name__
    if mod.startswith("tensorflow") or mod.startswith("keras"):
        if name == "EagerTensor":
            return _eager_tensor
        mro_names = {k.__name__ for k in getattr(t, "__mro__", ())}
        if name in _SYMBOLIC_NAMES and hasattr(t, "dtype"):
            return _symbolic_tensor
        if "Variable" in name or "BaseResourceVariable" in mro_names or "Variable" in mro_names:
            if hasattr(t, "dtype") and hasattr(t, "shape"):
                return _variable
    if mod == "numpy":
        if name == "ndarray":
            return _ndarray
        if any(k.__name__ == "generic" for k in t.__mro__):
            return _np_scalar
    if issubclass(t, list | tuple):
        return _sequence
    if issubclass(t, dict):
        return _mapping
    if issubclass(t, set | frozenset):
        return _set
    if issubclass(t, bool | int | float):  # IntEnum, numpy-free subclasses
        return lambda v, depth: ("python", _qualified(type(v)), repr(v))
    return _object_handler(t)


def is_symbolic(key: Key) -> bool:
    """True when a key (or, for containers, an element) is a graph tensor."""
    kind = key[0]
    if kind == "tensor":
        return bool(key[3] == "symbolic")
    if kind == "container" and key[4]:
        for item in key[4]:
            sub = item[1] if key[3] is not None else item
            if is_symbolic(sub):
                return True
    return False


def to_json(key: Key) -> dict[str, Any]:
    """The functions-JSON form of a key (the stable contract)."""
    kind = key[0]
    if kind == "none":
        return {"kind": "none", "type": "NoneType"}
    if kind == "python":
        return {"kind": "python", "type": key[1], "value": key[2]}
    if kind == "tensor":
        return {"kind": "tensor", "dtype": key[1], "shape": None if key[2] is None else list(key[2]),
                "type": key[4], "symbolic": key[3] == "symbolic"}
    if kind == "variable":
        return {"kind": "variable", "dtype": key[1], "shape": None if key[2] is None else list(key[2]), "type": key[3]}
    if kind == "ndarray":
        return {"kind": "ndarray", "dtype": key[1], "shape": list(key[2]), "type": "numpy.ndarray"}
    if kind == "container":
        out: dict[str, Any] = {"kind": "container", "type": key[1], "len": key[2]}
        if key[3] is not None:
            out["keys"] = list(key[3])
            if key[4] is not None:
                out["items"] = {k: to_json(sub) for k, sub in key[4]}
        elif key[4] is not None:
            out["items"] = [to_json(sub) for sub in key[4]]
        return out
    if kind == "object":
        out = {"kind": "object", "type": key[1]}
        for flag in key[2]:
            out[flag] = True
        return out
    return {"kind": "object", "type": str(kind)}
