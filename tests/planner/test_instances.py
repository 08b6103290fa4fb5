"""A method called on a new object every call: a ``tf.function`` on it traces once per object (GPflow's
``SVGP.predict_f`` builds a new posterior per call). Predicted from the instance count, rejected after the
baseline run (which records the performance command's own count) before any run converts it."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hybridize.plan import Settings
from hybridize.planner.acceptance import judge
from hybridize.planner.assembly import build_plan
from hybridize.planner.candidates import PER_INSTANCE, build_candidates, choose_settings, per_instance_detail
from hybridize.planner.hook_patch import patch_module
from hybridize.planner.hook_state import HookState, Stats
from hybridize.planner.levels import levels, run_level
from hybridize.planner.measurement import Measurement
from hybridize.planner.session import Trials
from hybridize.planner.traces import every_call_on_new_object, per_instance_traces, predict_traces
from hybridize.planner.trials import FunctionResult, TrialResult, merge_results

OBJ = {"kind": "object", "type": "m.Posterior"}


def t(shape: list[int]) -> dict[str, Any]:
    return {"kind": "tensor", "dtype": "float32", "shape": shape, "type": "EagerTensor"}


def sig(count: int, shape: list[int]) -> dict[str, Any]:
    return {"count": count, "args": {"self": OBJ, "x": t(shape)}}


def test_predict_traces_counts_one_trace_per_object() -> None:
    one_spec = [sig(12, [3])]
    assert predict_traces("plain", one_spec) == 1  # self skipped: what the planner predicted for GPflow
    assert predict_traces("plain", one_spec, instances=12) == 12  # a new object per call: every call traces
    assert predict_traces("reduce_retracing", one_spec, instances=12) == 12
    assert predict_traces("input_signature", one_spec, instances=12) == 12
    assert predict_traces("plain", one_spec, instances=3) == 3
    assert predict_traces("plain", one_spec, instances=1) == 1
    assert predict_traces("plain", one_spec, instances=40) == 12  # never more than the calls
    three_specs = [sig(50, [1, 3]), sig(50, [2, 3]), sig(50, [4, 3])]
    assert predict_traces("plain", three_specs, instances=3) == 3  # an MLP's layers: each object its own shape
    assert per_instance_traces(5, None, 100) == 5
    assert per_instance_traces(5, 2, 3) == 3


def test_every_call_on_a_new_object_is_the_rejection_rule() -> None:
    assert every_call_on_new_object(12, 12)
    assert every_call_on_new_object(65, 12)  # a capped count is a lower bound: still at least one per call
    assert not every_call_on_new_object(10, 12)  # two calls reuse an object: left to the trial
    assert not every_call_on_new_object(1, 1)  # one call traces once whatever it is called on
    assert not every_call_on_new_object(None, 12)


def test_settings_predictions_and_notes_carry_the_instances() -> None:
    sigs = [sig(6, [2, 3]), sig(6, [5, 3])]
    choice = choose_settings(sigs, None, instances=12, calls=12)
    assert choice.kind == "input_signature" and choice.predicted_traces == 12
    assert all(n == 12 for _, _, n in choice.alternatives)
    assert choice.instances == 12 and choice.to_json()["instances"] == 12
    assert any("called on 12 different objects in 12 call(s)" in n for n in choice.notes)
    single = choose_settings(sigs, None, instances=1, calls=12)
    assert single.predicted_traces == 1 and not any("different objects" in n for n in single.notes)


HOOK_SOURCE = textwrap.dedent('''
    class Posterior:
        def __init__(self, k):
            self.k = k

        def predict(self, x):
            return x * self.k
''')


def test_hook_records_instances_with_signatures(tmp_path: Path) -> None:
    for record in (True, False):
        name = f"hyb_inst_hook{int(record)}"
        module = type(sys)(name)
        exec(compile(HOOK_SOURCE, f"{name}.py", "exec"), module.__dict__)
        target = f"{name}:Posterior.predict"
        out = tmp_path / name
        state = HookState({"out_dir": str(out), "targets": [{"function": target, "mode": "time"}],
                           "record_signatures": record})
        patch_module(state, module)
        assert target in state.patched
        for i in range(10):
            module.Posterior(2.0).predict(float(i))  # freed after each call: ids recycled
        keep = module.Posterior(3.0)
        keep.predict(1.0)
        keep.predict(2.0)
        st = state.stats[target].to_json()
        assert st["calls"] == 12
        if record:
            assert (st["instances"], st["instances_capped"]) == (11, False)
        else:
            assert "instances" not in st  # counted only in the run that records signatures (the baseline)
        state.write()
        state.write()  # a second process: its objects are other objects
        fr = merge_results("baseline", ["x"], 0, 1.0, out).func(target)
        assert fr.instances == (22 if record else None)


def test_hook_keeps_the_traces_of_a_freed_object_s_function() -> None:
    """One bound tf.function per object: when a freed object's function leaves its id to the next one, its trace
    count must still be summed (it was overwritten, so a trace per call read as one trace in all)."""

    class Bound:
        pass

    stats = Stats()
    ids = []
    for _ in range(10):
        b = Bound()
        ids.append(id(b))
        stats.note_traces(b, 0)
        stats.note_traces(b, 1)
        del b
        gc.collect()
    assert len(set(ids)) < len(ids), "no address reused: the test would not check recycling"
    assert stats.to_json()["traces"] == 10


def _candidates(tmp_path: Path) -> list[Any]:
    (tmp_path / "m.py").write_text(textwrap.dedent('''
        class Posterior:
            def predict(self, x):
                return x * 2.0


        class Model:
            def predict_f(self, x):
                return Posterior().predict(x) + 1.0
    '''), encoding="utf-8")
    profile = [
        {"function": "m:Posterior.predict", "file": "m.py", "line": 3, "calls": 12, "hybrid": False,
         "instances": 1, "signatures": [sig(12, [3])], "tests": ["t::a"]},  # the tests reused one object
        {"function": "m:Model.predict_f", "file": "m.py", "line": 8, "calls": 12, "hybrid": False,
         "instances": 1, "signatures": [{"count": 12, "args": {"self": {"kind": "object", "type": "m.Model"},
                                                              "x": t([3])}}], "tests": ["t::a"]},
    ]
    candidates, rejected = build_candidates(profile, [], root=tmp_path)
    assert not rejected and len(candidates) == 2
    return candidates


def test_new_object_per_call_is_rejected_after_the_baseline_and_never_converted(tmp_path: Path) -> None:
    candidates = _candidates(tmp_path)
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], candidates, None,
                    Console(quiet=True), {})
    runs: list[tuple[str, set[str]]] = []

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        runs.append((label, {x["function"] for x in targets if x["mode"] != "time"}))
        result = TrialResult(label, command, 0, 1.0)
        result.functions = {
            "m:Posterior.predict": FunctionResult(calls=12, time_s=0.97, signatures=[sig(12, [3])], instances=12),
            "m:Model.predict_f": FunctionResult(calls=12, time_s=1.2, signatures=[sig(12, [3])], instances=1),
        }
        result.edges = {("m:Model.predict_f", "m:Posterior.predict"): 12}
        return result

    trials.run = fake_run  # type: ignore[method-assign]
    trials.run_baseline()
    m = trials.measurements["m:Posterior.predict"]
    assert m.candidate.choice is not None and m.candidate.choice.predicted_traces == 12  # the perf command's count
    for i, names in enumerate(levels(trials)):
        run_level(trials, i, names)
    assert runs[0] == ("baseline", set())
    assert all("m:Posterior.predict" not in converted for _, converted in runs)  # no level run converts it
    assert any("m:Model.predict_f" in converted for _, converted in runs)  # its caller still is measured
    plan = build_plan(list(trials.measurements.values()), [], root=tmp_path, edges=trials.edges,
                      perf_command=["python", "perf.py"], meta={}, created="now")
    rejected = {r.function: r for r in plan.rejected}
    r = rejected["m:Posterior.predict"]
    assert r.reason == PER_INSTANCE == "retraces-per-instance"
    assert "12 different objects in 12 calls" in r.detail and "convert the caller" in r.detail
    assert r.evidence["instances"] == 12 and r.evidence["predicted_traces"] == 12


def test_profile_counts_decide_only_without_the_performance_command_s_own() -> None:
    c = build_candidates([{"function": "m:P.f", "file": "m.py", "line": 1, "calls": 5, "hybrid": False,
                                       "instances": 5, "signatures": [sig(5, [3])]}], [])[0][0]
    assert "5 different objects in 5 calls" in per_instance_detail(c)
    assert per_instance_detail(c, FunctionResult(calls=50, instances=2)) == ""  # the perf command reuses objects
    assert per_instance_detail(c, FunctionResult(calls=50)) == ""  # not recorded: no rule, the trial decides
    assert "at least 65 different objects" in per_instance_detail(c, FunctionResult(calls=50, instances=65,
                                                                                     instances_capped=True))


def test_every_call_traced_explains_the_objects() -> None:
    c = build_candidates([{"function": "m:P.f", "file": "m.py", "line": 1, "calls": 12, "hybrid": False,
                           "instances": 10, "signatures": [sig(12, [3])]}], [])[0][0]
    m = Measurement(c, FunctionResult(calls=12, time_s=1.0, instances=10),
                    FunctionResult(calls=12, time_s=18.0, traces=12, trace_calls=12, trace_time_s=18.0),
                    settings=Settings())
    ok, reason, detail = judge(m)
    assert (ok, reason) == (False, "too-few-calls")
    assert "every call traced" in detail and "called on 10 different objects in 12 call(s)" in detail


E2E_MODULE = '''
import numpy as np


class Posterior:
    def __init__(self, k):
        self.k = k

    def predict(self, x):
        return x * self.k


def run():
    out = 0.0
    for i in range(12):
        out += float(Posterior(2.0).predict(np.ones(3) * i).sum())
    return out
'''


def test_end_to_end_no_trial_converts_a_method_on_a_new_object_per_call(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    root = tmp_path / "proj"
    (root / "instpkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "instpkg"\nversion = "0"\n')
    (root / "instpkg" / "__init__.py").write_text("")
    (root / "instpkg" / "mod.py").write_text(E2E_MODULE)
    proc = subprocess.run([sys.executable, "-m", "hybridize", "profile", "--", sys.executable, "-c",
                           "import instpkg.mod as m; m.run()"], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = json.loads((root / ".hybridize" / "plan.json").read_text())
    rejected = {r["function"]: r for r in plan["rejected"]}
    r = rejected["instpkg.mod:Posterior.predict"]
    assert r["reason"] == "retraces-per-instance", r
    assert r["evidence"]["instances"] == 12
    assert [run["label"] for run in plan["meta"]["runs"]] == ["baseline"]  # nothing was converted
