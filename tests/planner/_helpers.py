"""Profile signatures written by hand, in the shape ``tracer/describe.py`` records them, for settings tests."""

from __future__ import annotations

from typing import Any


def t(shape: list[int | None] | None, dtype: str = "float32") -> dict[str, Any]:
    """A recorded eager tensor argument."""
    return {"kind": "tensor", "dtype": dtype, "shape": shape, "type": "EagerTensor"}


def py(value: Any) -> dict[str, Any]:
    """A recorded Python value argument."""
    return {"kind": "python", "type": type(value).__name__, "value": value}


def sig(count: int = 1, **args: Any) -> dict[str, Any]:
    """One recorded signature: ``count`` calls with these arguments."""
    return {"count": count, "args": args}
