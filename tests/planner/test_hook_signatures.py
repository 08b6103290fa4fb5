"""The trial hook and the tracer write argument signatures with one encoder (``tracer/describe.py``).

Why: the planner merges the signatures a trial run records with the profile's to choose ``tf.function`` settings
and predict traces; two encoders (one without container ``items``, cutting strings at another length) made the same
call look like two different signatures.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from hybridize.planner.hook_digests import record_signature
from hybridize.planner.hook_state import Stats
from hybridize.tracer.state import Record, Recorder, param_names


class Model:
    def step(self, x: Any, label: str = "s" * 100, *rest: Any, scale: float = 2.0, **opts: Any) -> Any:
        return x


def _both(tmp_path: Any, model: Model, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """The one signature each side records for ``Model.step(model, *args, **kwargs)``."""
    stats = Stats()
    record_signature(stats, inspect.signature(Model.step), (model, *args), kwargs)
    planner = stats.to_json()["signatures"]

    recorder = Recorder(tmp_path, None)
    record = Record("m", "Model.step", "m.py", 1, param_names(Model.step.__code__), None)
    bound = inspect.signature(Model.step).bind(model, *args, **kwargs)
    bound.apply_defaults()
    recorder.capture(record, dict(bound.arguments))  # the frame's locals at the call
    return planner, record.to_json()["signatures"]


def test_python_values_containers_and_arrays_encode_identically(tmp_path: Any) -> None:
    args = ([1, [2.5, "a" * 90], {"k": None}], "t" * 70, (3, 4), np.zeros((2, 3), dtype=np.float32))
    kwargs = {"scale": 0.5, "extra": {"lr": 1e-3, "names": ("a", "b")}}
    planner, tracer = _both(tmp_path, Model(), args, kwargs)
    assert planner == tracer
    x = planner[0]["args"]["x"]
    assert x["items"][1]["items"][1]["value"] == "a" * 80 + "..."  # cut where the tracer cuts


def test_defaults_and_none_encode_identically(tmp_path: Any) -> None:
    planner, tracer = _both(tmp_path, Model(), (None,), {})
    assert planner == tracer
    assert planner[0]["args"]["x"] == {"kind": "none", "type": "NoneType"}


def test_tensors_and_variables_encode_identically(tmp_path: Any) -> None:
    tf = pytest.importorskip("tensorflow")
    planner, tracer = _both(tmp_path, Model(), (tf.zeros((4, 2)),), {"v": tf.Variable([1.0, 2.0])})
    assert planner == tracer
    assert planner[0]["args"]["x"]["shape"] == [4, 2]
