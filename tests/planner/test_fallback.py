"""The settings search after a failure, with fake runs (no processes): the next settings are tried before a
function is rejected, and a retracing existing tf.function ends with its decorator removed if nothing else passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from hybridize.plan import TensorSpecModel
from hybridize.planner.acceptance import judge
from hybridize.planner.candidates import build_candidates
from hybridize.planner.fallback import fallback_chain, retry_level
from hybridize.planner.measurement import Measurement
from hybridize.planner.session import Trials
from hybridize.planner.trials import FunctionResult, TrialResult
from hybridize.planner.variants import try_variants

MUL_ERROR = ("InvalidArgumentError: cannot compute Mul as input #1(zero-based) was expected to be a float tensor "
             "but is a int32 tensor")


def _retracing_hybrid() -> Any:
    """An existing tf.function called with a Python int that changes every call (it retraces each time)."""
    sigs = [{"count": 1, "args": {"x": {"kind": "tensor", "dtype": "float32", "shape": [4]},
                                  "step": {"kind": "python", "type": "int", "value": i}}} for i in range(8)]
    f = {"function": "m:scale", "file": "m.py", "line": 3, "hybrid": True, "signatures": sigs, "traces": 8,
         "calls": 8, "tests": ["tests/test_m.py::test_scale"]}
    rep = {"function": "m:scale", "file": "m.py", "line": 3, "verdict": "safe", "hybrid": True, "findings": [],
           "params": [{"name": "x", "kind": "positional", "has_default": False},
                      {"name": "step", "kind": "positional", "has_default": False}]}
    (c,), _ = build_candidates([f], [rep])
    return c


def test_chain_after_an_int32_spec_fails_a_float_operation() -> None:
    c = _retracing_hybrid()
    assert c.action == "tune"
    failed = c.trial_settings
    assert failed.input_signature is not None and failed.input_signature[1] == TensorSpecModel(shape=[], dtype="int32")
    chain = fallback_chain(c, failed, MUL_ERROR)
    assert [v for v, _ in chain] == ["signature-dtype", "dehybridize"]
    retyped = chain[0][1]
    assert retyped is not None and retyped.input_signature is not None
    assert [s.dtype for s in retyped.input_signature] == ["float32", "float32"]
    # an error that names no dtype need: no retyped spec, removal is still tried
    assert [v for v, _ in fallback_chain(c, failed, "AssertionError: wrong")] == ["dehybridize"]


def _trials(tmp_path: Path, c: Any, outcomes: list[bool]) -> tuple[Trials, list[dict[str, Any]]]:
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["pytest"], ["pytest"], [c], None, Console(quiet=True),
                    {"tests/test_m.py::test_scale": "passed"})
    trials.baseline = TrialResult("baseline", ["pytest"], 0, 1.0)
    trials.perf_baseline = {"tests/test_m.py::test_scale": "passed"}
    base = FunctionResult(calls=8, time_s=0.8, traces=8, trace_calls=8, trace_time_s=0.75)
    trials.measurements[c.function] = Measurement(c, base, FunctionResult(calls=8, time_s=0.1), settings=c.trial_settings,
                                                  failure={"tests/test_m.py::test_scale": MUL_ERROR})
    runs: list[dict[str, Any]] = []
    results = iter(outcomes)

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        (target,) = targets
        runs.append(target)
        result = TrialResult(label, command, 0, 1.0)
        passed = next(results)
        result.tests = {"tests/test_m.py::test_scale": {"outcome": "passed" if passed else "failed",
                                                        "message": "" if passed else MUL_ERROR}}
        result.functions = {c.function: FunctionResult(calls=8, time_s=0.05, traces=1, trace_calls=1,
                                                       trace_time_s=0.03)}
        return result

    trials.run = fake_run  # type: ignore[method-assign]
    return trials, runs


def test_a_failing_signature_is_followed_by_a_float_spec(tmp_path: Path) -> None:
    c = _retracing_hybrid()
    trials, runs = _trials(tmp_path, c, [True])
    retry_level(trials, 0, [c.function], crashed=False)
    m = trials.measurements[c.function]
    assert len(runs) == 1 and runs[0]["mode"] == "graph"
    assert [s["dtype"] for s in runs[0]["settings"]["input_signature"]] == ["float32", "float32"]
    assert m.failure is None and m.candidate.action == "tune"
    assert m.settings is not None and m.settings.input_signature is not None
    assert m.alternatives[-1]["variant"] == "signature-dtype" and "Mul" in m.alternatives[-1]["error"]
    assert judge(m)[0]


def test_removal_is_tried_when_every_setting_fails(tmp_path: Path) -> None:
    c = _retracing_hybrid()
    trials, runs = _trials(tmp_path, c, [False, True])
    retry_level(trials, 0, [c.function], crashed=False)
    m = trials.measurements[c.function]
    assert [r["mode"] for r in runs] == ["graph", "eager"]
    assert m.failure is None and m.candidate.action == "dehybridize"
    assert judge(m)[0]  # it retraced on all 8 calls: removal is justified


def test_rejected_only_when_the_chain_is_exhausted(tmp_path: Path) -> None:
    c = _retracing_hybrid()
    trials, runs = _trials(tmp_path, c, [False, False])
    retry_level(trials, 0, [c.function], crashed=False)
    assert len(runs) == 2
    ok, reason, _ = judge(trials.measurements[c.function])
    assert not ok and reason == "test-failure"


def test_a_user_budget_stops_the_search(tmp_path: Path) -> None:
    c = _retracing_hybrid()
    trials, runs = _trials(tmp_path, c, [True])
    trials.budget_s, trials.strict_budget, trials.last_isolation_s = 0.0, True, 5.0
    retry_level(trials, 0, [c.function], crashed=False)
    assert runs == [] and trials.measurements[c.function].failure


def test_a_still_retracing_tune_gets_removal_tried_past_the_default_budget(tmp_path: Path) -> None:
    c = _retracing_hybrid()
    trials, runs = _trials(tmp_path, c, [True, True])
    m = trials.measurements[c.function]
    m.failure = None
    m.trial = FunctionResult(calls=8, time_s=0.7, traces=8, trace_calls=8, trace_time_s=0.65)  # the spec retraced
    trials.budget_s = 0.0  # the default budget is spent
    try_variants(trials, [[c.function]])
    assert [r["mode"] for r in runs] == ["eager"]
    trials.strict_budget = True  # a user's --budget is not exceeded
    runs.clear()
    m.alternatives.clear()
    m.candidate.action = "tune"
    try_variants(trials, [[c.function]])
    assert runs == []


def test_the_top_conversion_s_other_settings_are_tried_past_the_default_budget(tmp_path: Path) -> None:
    """The default budget is spent: the conversion that saves most still gets its other settings measured (one
    run) where they may pay (a plain graph, as few traces, where the first choice relaxed a dimension), a smaller
    one's wait for budget; a user's --budget stops both, and relaxing a graph that traced once is never worth it."""
    from hybridize.plan import Settings
    from hybridize.planner.candidates import Candidate
    from hybridize.planner.settings import derive_settings
    from hybridize.planner.variants import _variants_round

    sigs = [{"count": 5, "args": {"x": {"kind": "tensor", "dtype": "float32", "shape": [n, 4]}}} for n in (8, 16)]
    cands = [Candidate(n, "m.py", 1, "convert", {"function": n, "tests": []}, None, derive_settings(sigs))
             for n in ("m:big", "m:small")]
    for c in cands:  # the tests' shapes relaxed the spec; on the workload a plain decorator traces once
        assert c.choice is not None and c.choice.kind == "input_signature"
        c.choice.alternatives = [("plain", Settings(), 1)]
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], cands, 0.0,
                    Console(quiet=True), {})
    trials.baseline = TrialResult("baseline", ["python", "perf.py"], 0, 1.0)
    for c, eager, graph in ((cands[0], 3.0, 1.0), (cands[1], 0.6, 0.3)):
        trials.measurements[c.function] = Measurement(
            c, FunctionResult(calls=10, time_s=eager), FunctionResult(calls=10, time_s=graph, traces=1, trace_calls=1,
                                                                      trace_time_s=0.05),
            run="level0", settings=c.trial_settings)
    runs: list[dict[str, Any]] = []

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        runs.append({t["function"]: t.get("settings") for t in targets if t["mode"] == "graph"})
        return TrialResult(label, command, 0, 1.0)

    trials.run = fake_run  # type: ignore[method-assign]
    _variants_round(trials, [["m:big", "m:small"]])
    assert runs == [{"m:big": {}}]
    runs.clear()
    big = trials.measurements["m:big"]
    big.alternatives.clear()
    trials.strict_budget = True
    _variants_round(trials, [["m:big", "m:small"]])
    assert runs == [] and any("budget reached: variants" in n for n in trials.notes)
    trials.strict_budget = False
    assert big.candidate.choice is not None
    big.candidate.choice.kind, big.settings = "plain", Settings()  # xla_finetune: plain, then reduce_retracing
    big.candidate.choice.alternatives = [("reduce_retracing", Settings(reduce_retracing=True), 1)]
    _variants_round(trials, [["m:big", "m:small"]])
    assert runs == []
