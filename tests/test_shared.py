"""The shared types: the plan's JSON contract and function identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridize.errors import HybridizeError
from hybridize.identity import FunctionId, module_name_for
from hybridize.plan import Plan, Recommendation, Rejection, Settings, TensorSpecModel, render_decorator


def test_render_decorator_plain_and_with_settings() -> None:
    assert render_decorator(Settings()) == "@tf.function"
    sig = [TensorSpecModel([None, 64], "float32"), TensorSpecModel([], "int32")]
    text = render_decorator(Settings(input_signature=sig, jit_compile=True), tf="tensorflow")
    assert text == (
        "@tensorflow.function(input_signature=[tensorflow.TensorSpec(shape=[None, 64], dtype=tensorflow.float32), "
        "tensorflow.TensorSpec(shape=[], dtype=tensorflow.int32)], jit_compile=True)"
    )
    assert render_decorator(Settings(reduce_retracing=True), tf="") == "@function(reduce_retracing=True)"


def test_plan_round_trip(tmp_path: Path) -> None:
    rec = Recommendation(
        rank=1, id=3, function="pkg.mod:Model.step", file="pkg/mod.py", line=10, action="convert",
        decorator="@tf.function(reduce_retracing=True)", settings=Settings(reduce_retracing=True),
        speedup=2.5, saved_s=0.4, calls=100, traces_before=0, traces_after=2, evidence={"tests": ["t::a"]},
    )
    plan = Plan(recommendations=[rec], rejected=[Rejection("pkg.mod:f", "pkg/mod.py", 3, "blocker-finding", "print")],
                file_hashes={"pkg/mod.py": "ab"})
    path = tmp_path / "plan.json"
    plan.save(path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["recommendations"][0]["settings"] == {"reduce_retracing": True}
    assert Plan.load(path).to_json() == plan.to_json()


def test_plan_load_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(HybridizeError, match="no plan"):
        Plan.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(HybridizeError, match="not valid JSON"):
        Plan.load(bad)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema_version": 0}))
    with pytest.raises(HybridizeError, match="schema version"):
        Plan.load(old)


def test_function_identity() -> None:
    fid = FunctionId("pkg.mod", "A.f", "pkg/mod.py", 3)
    assert fid.name == "pkg.mod:A.f"
    assert FunctionId.parse_name("pkg.mod:A.f.<locals>.g") == ("pkg.mod", "A.f.<locals>.g")
    with pytest.raises(ValueError):
        FunctionId.parse_name("nocolon")
    assert module_name_for("src/pkg/__init__.py") == "pkg"
    assert module_name_for("pkg/sub/m.py") == "pkg.sub.m"


def test_function_identity_scopes_are_read_and_written_in_one_place() -> None:
    """The planner, hook, tracer and rewriter ask ``FunctionId`` instead of splitting names by hand."""
    nested = FunctionId("pkg.mod", FunctionId.local_prefix("A.f") + "g", "pkg/mod.py", 7)
    assert nested.qualname == "A.f.<locals>.g" == FunctionId.join_qualname("A", "f", "<locals>", "g")
    assert nested.parts == ["A", "f", "<locals>", "g"] and nested.is_nested
    method = FunctionId("pkg.mod", "A.f", "pkg/mod.py", 3)
    assert method.parts == ["A", "f"] and not method.is_nested
    assert not FunctionId.is_nested_qualname("locals_helper")  # a name containing "locals" is not nested
    assert FunctionId.short_name("A.f.<locals>.g") == "g" and FunctionId.short_name("f") == "f"
    assert FunctionId.qualname_of("nb/train.ipynb:train_step") == "train_step"
    assert FunctionId.module_of("nb/train.ipynb:train_step") == "nb/train.ipynb"
    assert (FunctionId.module_of(":f"), FunctionId.qualname_of(":f")) == ("", "f")  # a project-root __init__.py
