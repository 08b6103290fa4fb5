"""Every workload: a valid oracle, a quick bench, and oracle outputs equal to eager ones (the benchmark relies on it)."""

import inspect

import pytest

from .. import registry

ACTIONS = {"convert", "tune", "dehybridize", "keep"}


@pytest.mark.parametrize("name", registry.NAMES)
def test_oracle_names_real_functions_with_valid_settings(name):
    workload = registry.load(name)
    assert workload.oracle, "every workload lists its candidates"
    for qualname, entry in workload.oracle.items():
        fn = getattr(workload.module, qualname)
        assert inspect.isfunction(getattr(fn, "python_function", fn)), qualname
        assert entry["action"] in ACTIONS and entry["why"]
        registry._settings_kwargs(entry.get("settings") or {})
    assert workload.test_file.is_file()


@pytest.mark.parametrize("name", [n for n in registry.NAMES if n != "side_effects"])
def test_oracle_placement_keeps_outputs_and_is_restored(name):
    workload = registry.load(name)
    before = {q: getattr(workload.module, q) for q in workload.oracle}
    result = registry.compare(name, quick=True)
    assert result["eager_s"] > 0 and result["placed_s"] > 0
    assert result["max_rel_output_diff"] < 2e-2, result
    assert {q: getattr(workload.module, q) for q in workload.oracle} == before


def test_converting_side_effect_functions_changes_results():
    placement = {name: {"action": "convert"} for name in ("log_batch", "count_batch", "track_norm")}
    result = registry.compare("side_effects", quick=True, placement=placement)
    # log_batch still prints every call here: its Python int ``step`` changes, so it retraces on every call
    assert result["outputs_placed"]["lines"] == result["outputs_eager"]["lines"]
    assert result["outputs_placed"]["batches"] < result["outputs_eager"]["batches"]
    assert result["outputs_placed"]["updates"] < result["outputs_eager"]["updates"]


def test_unknown_workload():
    with pytest.raises(KeyError):
        registry.load("nope")


def test_materialize_writes_a_standalone_project(tmp_path):
    dest = registry.materialize("numeric_library", tmp_path / "proj")
    test_src = (dest / "tests" / "test_numeric_library.py").read_text()
    assert "import numeric_library as wl" in test_src and "from .." not in test_src
    assert 'perf-command = "python bench.py"' in (dest / "pyproject.toml").read_text()
    assert (dest / "numeric_library.py").read_text() == registry.HERE.joinpath("numeric_library.py").read_text()
    compile((dest / "bench.py").read_text(), "bench.py", "exec")


def test_examples_oracle_names_existing_functions():
    import ast

    root = registry.HERE.parent.parent / "examples"
    for function_id, entry in registry.EXAMPLES_ORACLE.items():
        module, qualname = function_id.split(":")
        tree = ast.parse((root / (module.replace(".", "/") + ".py")).read_text())
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        names |= {f"{c.name}.{f.name}" for c in tree.body if isinstance(c, ast.ClassDef) for f in c.body
                  if isinstance(f, ast.FunctionDef)}
        assert qualname in names, function_id
        assert entry["action"] in ACTIONS


def test_convert_everything_skips_unsafe_entries():
    module = registry.load("actor_critic").module
    assert set(registry.convert_everything(module)) == {"ac_update", "greedy_actions"}
    assert "rollout" in registry.convert_everything(module, include_unsafe=True)
    assert registry.convert_everything(registry.load("side_effects").module) == {}
