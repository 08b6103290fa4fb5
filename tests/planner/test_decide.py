"""Decision rules over hand-written measurements: acceptance, nesting choice, ranking, result comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hybridize.plan import Plan, Settings
from hybridize.planner.acceptance import judge
from hybridize.planner.assembly import build_plan
from hybridize.planner.candidates import Candidate, build_candidates
from hybridize.planner.compare import compare_digests
from hybridize.planner.measurement import NOT_ISOLATED, Measurement, Reason
from hybridize.planner.nesting import choose_nesting
from hybridize.planner.settings import derive_settings
from hybridize.planner.trials import FunctionResult


def t(shape: list[int]) -> dict[str, Any]:
    return {"kind": "tensor", "dtype": "float32", "shape": shape, "type": "EagerTensor"}


def fn(name: str, line: int = 1, *, hybrid: bool = False, tensors: bool = True, tests: list[str] | None = None,
       shapes: list[list[int]] | None = None) -> dict[str, Any]:
    sigs = [{"count": 5, "args": {"x": t(s) if tensors else {"kind": "python", "type": "int", "value": 1}}}
            for s in (shapes or [[4]])]
    return {"function": name, "file": "pkg/mod.py", "line": line, "calls": 10, "hybrid": hybrid, "signatures": sigs,
            "tests": tests if tests is not None else ["tests/test_a.py::test_a"], "lines_covered": 3, "lines_total": 4}


def report(name: str, *, findings: list[dict[str, Any]] | None = None, calls: list[str] | None = None,
           verdict: str = "safe") -> dict[str, Any]:
    return {"function": name, "file": "pkg/mod.py", "line": 1, "verdict": verdict, "hybrid": False,
            "decorator_args": {}, "findings": findings or [], "assumptions": [], "calls": calls or [],
            "params": [{"name": "x", "kind": "positional", "has_default": False}]}


def cand(name: str, action: str = "convert", static: dict[str, Any] | None = None) -> Candidate:
    profile = fn(name)
    return Candidate(name, "pkg/mod.py", 1, action, profile, static if static is not None else report(name),
                     derive_settings(profile["signatures"]))


def fr(calls: int, time_s: float, traces: int = 0, trace_calls: int = 0, trace_time_s: float = 0.0) -> FunctionResult:
    return FunctionResult(calls=calls, time_s=time_s, traces=traces, trace_calls=trace_calls, trace_time_s=trace_time_s)


def plan_of(measurements: list[Measurement], edges: dict[tuple[str, str], int] | None = None) -> Plan:
    return build_plan(measurements, [], root=Path("/nonexistent"), edges=edges or {}, perf_command=["python", "perf.py"],
                      meta={}, created="now")


def test_candidates_sorting() -> None:
    blocker = {"code": "HY201", "severity": "blocker", "line": 3, "message": "x.numpy()", "via": []}
    functions = [fn("m:a"), fn("m:b"), fn("m:pure", tensors=False), fn("m:hyb", hybrid=True, tensors=False),
                 fn("m:outer.<locals>.inner")]
    reports = [report("m:a"), report("m:b", findings=[blocker])]
    cands, rejected = build_candidates(functions, reports)
    assert {c.function: c.action for c in cands} == {"m:a": "convert", "m:hyb": "dehybridize"}
    reasons = {r.function: r.reason for r in rejected}
    assert reasons == {"m:b": "blocker-finding", "m:outer.<locals>.inner": "not-reachable"}
    assert "HY201 at line 3" in next(r.detail for r in rejected if r.function == "m:b")


def test_retracing_tf_function_is_a_tune_candidate() -> None:
    f = fn("m:h", hybrid=True, shapes=[[1, 3], [2, 3], [3, 3]])
    cands, _ = build_candidates([f], [report("m:h")])
    assert cands[0].action == "tune"
    assert cands[0].trial_settings.input_signature is not None


def test_faster_conversion_is_recommended_with_evidence() -> None:
    m = Measurement(cand("m:a"), fr(100, 1.0), fr(100, 0.3, traces=1, trace_calls=1, trace_time_s=0.1), run="level0",
                    results_check="match")
    plan = plan_of([m])
    assert len(plan.recommendations) == 1
    r = plan.recommendations[0]
    assert (r.rank, r.action, r.decorator) == (1, "convert", "@tf.function")
    assert r.saved_s == 0.7
    assert r.speedup is not None and r.speedup > 4  # 10 ms eager vs ~2 ms steady graph
    assert r.traces_after == 1
    assert r.evidence["tests_count"] == 1 and r.evidence["shapes"] == {"x": ["float32[4]"]}
    assert r.confidence == "high"


def test_slower_or_unpaid_conversions_are_rejected() -> None:
    slower = Measurement(cand("m:slow"), fr(100, 0.1), fr(100, 0.3, traces=1, trace_calls=1, trace_time_s=0.05))
    once = Measurement(cand("m:once"), fr(1, 0.01), fr(1, 0.2, traces=1, trace_calls=1, trace_time_s=0.2))
    few = Measurement(cand("m:few"), fr(10, 0.05), fr(10, 0.2, traces=1, trace_calls=1, trace_time_s=0.19))
    unexercised = Measurement(cand("m:none"), fr(0, 0.0))
    plan = plan_of([slower, once, few, unexercised])
    assert plan.recommendations == []
    reasons = {r.function: r.reason for r in plan.rejected}
    assert reasons == {"m:slow": "measured-slower", "m:once": "too-few-calls", "m:few": "too-few-calls",
                       "m:none": "not-exercised"}


def test_a_saving_the_fastest_calls_do_not_show_is_noise() -> None:
    """big_kernel, one run: a single conv2d measured 0.325 s eager and 0.287 s as a graph over 20 calls (11 %, over
    the margin), yet its fastest calls were equal: a noisy baseline. Both estimates must say it pays."""
    base = FunctionResult(calls=20, time_s=0.325, min_s=0.0140)
    noisy = Measurement(cand("m:conv"), base, FunctionResult(calls=20, time_s=0.287, traces=1, trace_calls=1,
                                                              trace_time_s=0.020, min_s=0.0140))
    assert (noisy.saved_s() or 0) > 0.03 and abs(noisy.robust_saved_s() or 0) < 0.01
    ok, reason, detail = judge(noisy)
    assert (ok, reason) == (False, "measured-slower") and "fastest calls do not" in detail
    real = Measurement(cand("m:ops"), FunctionResult(calls=100, time_s=1.0, min_s=0.009),
                       FunctionResult(calls=100, time_s=0.3, traces=1, trace_calls=1, trace_time_s=0.1, min_s=0.0018))
    assert judge(real)[0]
    # a retune pays through traces avoided: the fastest calls are alike, the baseline's 30 traces are not
    tune = Measurement(cand("m:h", "tune"), FunctionResult(calls=30, time_s=2.99, traces=10, trace_calls=10,
                                                           trace_time_s=2.9, min_s=0.003),
                       FunctionResult(calls=30, time_s=0.2, traces=1, trace_calls=1, trace_time_s=0.1, min_s=0.003))
    assert judge(tune)[0]


def test_the_fastest_calls_count_tracing_at_its_cpu_time() -> None:
    """A tutorial's train step on a loaded machine: 80 calls, 11.8 ms eager at best (42 ms on average), 1.19 ms as a
    graph, 1.2 s of wall-clock tracing of which the process ran 0.35 s. The fastest-call estimate must not weigh
    quiet-machine calls against loaded-machine tracing (it vetoed the conversion; applied, the script ran 1.5x faster)."""
    base = FunctionResult(calls=80, time_s=3.4, min_s=0.0118)
    trial = FunctionResult(calls=80, time_s=1.3, traces=1, trace_calls=1, trace_time_s=1.2, trace_cpu_s=0.35,
                           min_s=0.00119)
    assert judge(Measurement(cand("m:train_one_step"), base, trial))[0]
    # without the CPU time (a plan from an older hook) the wall-clock trace decides, as before
    old = FunctionResult(calls=80, time_s=1.3, traces=1, trace_calls=1, trace_time_s=1.2, min_s=0.00119)
    assert judge(Measurement(cand("m:train_one_step"), base, old))[1] == "measured-slower"


def test_a_saving_under_the_noise_margin_says_so() -> None:
    # 8.46 s eager, 8.24 s as a graph (7.28 s of it one trace): it pays back, by less than 3 % of 8.46 s
    m = Measurement(cand("m:loss"), fr(101, 8.46), fr(101, 8.24, traces=1, trace_calls=1, trace_time_s=7.28))
    ok, reason, detail = judge(m)
    assert (ok, reason) == (False, "too-few-calls")
    assert "saves 0.220 s of 8.460 s: under the 0.254 s margin" in detail and "not paid back" not in detail


def test_test_failure_and_mismatch_reject() -> None:
    broke = Measurement(cand("m:a"), fr(10, 1.0), fr(10, 0.1), failure={"t.py::test_x": "AssertionError: 1 != 2"})
    wrong = Measurement(cand("m:b"), fr(10, 1.0), fr(10, 0.1), results_check="mismatch", results_detail="call 1")
    plan = plan_of([broke, wrong])
    reasons = {r.function: (r.reason, r.detail) for r in plan.rejected}
    assert reasons["m:a"][0] == "test-failure" and "t.py::test_x" in reasons["m:a"][1]
    assert reasons["m:b"][0] == "result-mismatch"


def test_blocked_measurements_reject_in_priority_order_with_plain_reason_strings() -> None:
    # several "why not" fields at once: the first in blocked()'s order decides, as the if-chain did
    both = Measurement(cand("m:a"), fr(10, 1.0), fr(10, 0.1), failure={"t.py::t": "boom"}, crash="exited 1",
                       skipped="inside m:b", unreachable="a wrapper")
    assert both.blocked() == (Reason.NOT_REACHABLE, "a wrapper")
    both.unreachable = ""
    assert both.blocked() == (Reason.COVERED_BY_CALLER, "inside m:b")
    both.skipped = ""
    assert both.blocked() is not None and both.blocked()[0] is Reason.TEST_FAILURE  # type: ignore[index]
    both.failure = None
    assert both.blocked() == (Reason.TRIAL_ERROR, "exited 1")
    ok, reason, _ = judge(both)
    assert not ok and reason == "trial-error" and type(reason) is str  # the plan stores the plain string
    both.crash = None
    assert both.blocked() is None and judge(both)[0]


def test_reason_codes_are_the_documented_plan_strings() -> None:
    import hybridize.planner as planner_pkg

    documented = planner_pkg.__doc__ or ""
    assert len({r.value for r in Reason}) == len(Reason)
    assert [r.value for r in Reason if f"``{r.value}``" not in documented] == []


def test_eager_replay_mismatch_rejects_as_output_mismatch() -> None:
    from hybridize.planner.compare import compare_replays

    check, detail = compare_replays([{"graph": {"shape": [], "sum": 1.0}, "eager": {"shape": [], "sum": 1.00001}},
                                     {"graph": {"shape": [], "sum": 1.0}, "eager": {"shape": [], "sum": 3.0}}])
    assert check == "mismatch" and "call 2" in detail
    wrong = Measurement(cand("m:b"), fr(10, 1.0), fr(10, 0.1), results_check=check, results_detail=detail)
    plan = plan_of([wrong])
    assert [(r.function, r.reason) for r in plan.rejected] == [("m:b", "output-mismatch")]
    assert compare_replays([{"graph": [1.0, 2.0], "eager": [1.0, 2.0000001]}])[0] == "match"


def test_outer_preferred_when_it_saves_more() -> None:
    outer = Measurement(cand("m:outer"), fr(10, 1.0), fr(10, 0.2))
    inner = Measurement(cand("m:inner"), fr(10, 0.6), fr(10, 0.3))
    plan = plan_of([outer, inner], edges={("m:outer", "m:inner"): 10})
    assert [r.function for r in plan.recommendations] == ["m:outer"]
    assert plan.recommendations[0].evidence["nested"]["covers"] == ["m:inner"]
    assert {r.function: r.reason for r in plan.rejected} == {"m:inner": "covered-by-caller"}


def _inside(gain: float, kept: bool) -> dict[str, dict[str, Any]]:
    return {"m:outer": {"calls_per_trace": 24.0, "caller_saved_alone_s": 0.8, "caller_saved_with_s": 0.8 + gain,
                        "gain_s": gain, "kept": kept, "caller_trace_s": [0.9, 0.4]}}


def test_repeated_callee_converted_inside_its_caller_when_measured_better() -> None:
    outer = Measurement(cand("m:outer"), fr(10, 1.0), fr(10, 0.2))
    inner = Measurement(cand("m:inner"), fr(10, 0.6), fr(10, 0.3), inside=_inside(0.25, True))
    plan = plan_of([outer, inner], edges={("m:outer", "m:inner"): 10})
    assert [r.function for r in plan.recommendations] == ["m:outer", "m:inner"]
    rec = plan.recommendations[1]
    assert rec.saved_s == 0.25  # ranked by what it adds on top of the caller's conversion, not by its own saving
    assert "also converted inside m:outer" in rec.evidence["inside"]["note"]
    assert "nested" not in plan.recommendations[0].evidence  # it no longer claims to cover the callee
    assert not plan.rejected


def test_repeated_callee_stays_covered_when_the_gain_was_not_clear() -> None:
    outer = Measurement(cand("m:outer"), fr(10, 1.0), fr(10, 0.2))
    inner = Measurement(cand("m:inner"), fr(10, 0.6), fr(10, 0.3), inside=_inside(0.004, False))
    plan = plan_of([outer, inner], edges={("m:outer", "m:inner"): 10})
    assert [r.function for r in plan.recommendations] == ["m:outer"]
    (rej,) = plan.rejected
    assert rej.reason == "covered-by-caller" and "+0.004 s, not a clear gain" in rej.detail


def test_callees_preferred_when_they_save_more() -> None:
    chosen, covered, better = choose_nesting({"o": 0.1, "a": 0.3, "b": 0.2}, {("o", "a"): 5, ("o", "b"): 5},
                                             {"o": 5, "a": 5, "b": 5}, ["o", "a", "b"])
    assert chosen == {"a", "b"} and not covered and better == {"o": ["a", "b"]}


def test_callee_with_other_callers_stays_independent() -> None:
    chosen, covered, _ = choose_nesting({"o": 1.0, "a": 0.3}, {("o", "a"): 5}, {"o": 5, "a": 50}, ["o", "a"])
    assert chosen == {"o", "a"} and covered == {}


def test_ranking_by_seconds_saved_and_tune_decorator() -> None:
    a = Measurement(cand("m:a"), fr(100, 1.0), fr(100, 0.5))
    b = Measurement(cand("m:b"), fr(100, 2.0), fr(100, 0.5))
    tune = cand("m:h", "tune")
    sig = Settings(reduce_retracing=True)
    h = Measurement(tune, fr(100, 3.0, traces=50), fr(100, 0.4, traces=2), settings=sig)
    plan = plan_of([a, b, h])
    assert [(r.rank, r.function) for r in plan.recommendations] == [(1, "m:h"), (2, "m:b"), (3, "m:a")]
    top = plan.recommendations[0]
    assert top.action == "tune" and top.decorator == "@tf.function(reduce_retracing=True)"
    assert (top.traces_before, top.traces_after) == (50, 2)
    assert Plan.from_json(plan.to_json()).recommendations[0].settings == sig


def test_dehybridize_only_when_eager_is_faster() -> None:
    slow_graph = Measurement(cand("m:g", "dehybridize"), fr(100, 1.0, traces=100), fr(100, 0.2))
    good_graph = Measurement(cand("m:k", "dehybridize"), fr(100, 0.2, traces=1), fr(100, 1.0))
    plan = plan_of([slow_graph, good_graph])
    assert [(r.function, r.action, r.decorator) for r in plan.recommendations] == [("m:g", "dehybridize", "")]
    assert {r.function: r.reason for r in plan.rejected} == {"m:k": "already-optimal"}


def test_compare_digests() -> None:
    base = [{"in": [[{"dtype": "float32", "shape": [2], "sum": 2.0}], {}], "out": 3.0}]
    same = [{"in": [[{"dtype": "float32", "shape": [2], "sum": 2.0}], {}],
             "out": {"dtype": "float32", "shape": [], "sum": 3.0000001}}]
    diff = [{"in": base[0]["in"], "out": {"dtype": "float32", "shape": [], "sum": 4.0}}]
    other_in = [{"in": [[{"dtype": "float32", "shape": [2], "sum": 9.0}], {}], "out": 4.0}]
    assert compare_digests(base, same)[0] == "match"
    assert compare_digests(base, diff)[0] == "mismatch"
    assert compare_digests(base, other_in)[0] == "inconclusive"
    assert compare_digests([], [])[0] == "not-checked"


def test_retracing_python_only_tf_function_is_tuned_with_scalar_specs() -> None:
    sigs = [{"count": 1, "args": {"step": {"kind": "python", "type": "int", "value": i},
                                  "lr": {"kind": "python", "type": "float", "value": 0.1}}} for i in range(6)]
    f = {"function": "m:warmup", "file": "m.py", "line": 3, "hybrid": True, "signatures": sigs, "traces": 6}
    rep = {"function": "m:warmup", "file": "m.py", "line": 3, "verdict": "safe", "hybrid": True, "findings": [],
           "params": [{"name": "step", "kind": "positional", "has_default": False},
                      {"name": "lr", "kind": "positional", "has_default": True}]}
    cands, _ = build_candidates([f], [rep])
    # lr is a constant keyword with a default: freezing it is not allowed, so no signature -> probe removal instead
    assert cands[0].action == "dehybridize"
    sigs2 = [{"count": 1, "args": {"step": {"kind": "python", "type": "int", "value": i}}} for i in range(6)]
    rep2 = {**rep, "params": rep["params"][:1]}
    cands, _ = build_candidates([{**f, "signatures": sigs2}], [rep2])
    assert cands[0].action == "tune"
    spec = cands[0].trial_settings.input_signature
    assert spec is not None and spec[0].shape == [] and spec[0].dtype == "int32"


def test_unisolated_failure_is_not_reported_as_a_test_failure() -> None:
    """Bisection that ran out of runs has no evidence against a conversion: say so, with its own reason."""
    unproven = Measurement(cand("m:a"), fr(10, 1.0), fr(10, 0.1),
                           failure={"t.py::test_x": f"{NOT_ISOLATED} (bisection run limit)"})
    reasons = {r.function: (r.reason, r.detail) for r in plan_of([unproven]).rejected}
    assert reasons["m:a"][0] == "not-isolated" and "never" not in reasons["m:a"][1]
    assert "t.py::test_x" in reasons["m:a"][1]


def test_dehybridize_evidence_names_the_eager_and_the_graph_time_by_what_ran() -> None:
    """The baseline ran the existing tf.function (1.0 s, 0.4 s of it tracing), the trial its eager body (0.2 s)."""
    from hybridize.planner.report import detail_lines

    m = Measurement(cand("m:g", "dehybridize"), fr(100, 1.0, traces=4, trace_calls=4, trace_time_s=0.424),
                    fr(100, 0.2))
    rec = plan_of([m]).recommendations[0]
    ev = rec.evidence
    assert (ev["eager_s"], ev["graph_s"]) == (0.2, 1.0)
    assert (ev["eager_per_call_us"], ev["graph_per_call_us"]) == (2000.0, 6000.0)
    assert ev["trace_s"] == pytest.approx(0.4) and ev["break_even_calls"] is None
    measured = dict(detail_lines(rec))["measured"]
    assert measured.startswith("as a graph 1.000 s (tracing 0.400 s) -> eager 0.200 s")


def test_the_dtype_note_follows_the_final_settings() -> None:
    """The first choice was a signature; a variant that won with reduce_retracing freezes no dtype."""
    from hybridize.plan import TensorSpecModel

    c = cand("m:f")
    assert c.choice is not None
    c.choice.kind, c.choice.settings = "input_signature", Settings(input_signature=[TensorSpecModel(shape=[None],
                                                                                                    dtype="int32")])
    c.choice.signature_note = "the signature accepts only the dtypes seen (`y` int32)"
    m = Measurement(c, fr(100, 1.0), fr(100, 0.2, traces=1, trace_calls=1, trace_time_s=0.01))
    assert c.choice.signature_note in plan_of([m]).recommendations[0].evidence["notes"]
    m.settings = Settings(reduce_retracing=True)
    assert c.choice.signature_note not in plan_of([m]).recommendations[0].evidence["notes"]


def test_a_function_called_only_inside_graphs_says_so() -> None:
    """A tf.data map function: the hook saw it only while TensorFlow traced (nested calls), never eagerly."""
    m = Measurement(cand("m:augment"), FunctionResult(calls=0, nested_calls=20))
    ok, reason, detail = judge(m)
    assert (ok, reason) == (False, "not-exercised") and "already runs as a graph" in detail
    ok, reason, detail = judge(Measurement(cand("m:unused"), FunctionResult()))
    assert reason == "not-exercised" and "nothing to measure" in detail


def test_removal_refused_on_one_or_two_calls() -> None:
    """A test calling a library's tf.function once measures its trace: keep the decorator, with the numbers."""
    for calls in (1, 2):
        m = Measurement(cand("m:lib", "dehybridize"), fr(calls, 0.437 * calls, traces=1, trace_calls=1,
                                                          trace_time_s=0.4), fr(calls, 0.13 * calls))
        plan = plan_of([m])
        assert plan.recommendations == []
        (rej,) = plan.rejected
        assert rej.reason == "kept-few-calls"
        assert rej.detail.startswith("kept: too few calls to judge") and f"over {calls} call(s)" in rej.detail


def test_removal_accepted_for_per_call_retracing_and_for_no_tensor_functions() -> None:
    retracing = Measurement(cand("m:r", "dehybridize"), fr(20, 1.0, traces=20, trace_calls=20, trace_time_s=0.9),
                            fr(20, 0.1))
    c = cand("m:p", "dehybridize")
    c.profile.signatures = [{"count": 2, "args": {"x": {"kind": "python", "type": "int", "value": 1}}}]
    python_only = Measurement(c, fr(2, 0.5, traces=1, trace_calls=1, trace_time_s=0.45), fr(2, 0.01))
    plan = plan_of([retracing, python_only])
    recs = {r.function: r for r in plan.recommendations}
    assert set(recs) == {"m:r", "m:p"} and plan.rejected == []
    assert "retraced on 20 of 20 calls" in recs["m:r"].evidence["removal_evidence"]
    assert "no tensor" in recs["m:p"].evidence["removal_evidence"]
    assert all((r.speedup or 0) >= 1.0 for r in plan.recommendations)


def test_removal_accepted_when_steady_graph_calls_are_slower_but_not_on_the_mean_alone() -> None:
    steady = Measurement(cand("m:s", "dehybridize"), fr(50, 0.5, traces=1, trace_calls=1, trace_time_s=0.05),
                         fr(50, 0.2))
    assert judge(steady)[0]
    steady.base.min_s, steady.trial.min_s = 0.0029, 0.003  # type: ignore[union-attr]
    ok, reason, _ = judge(steady)  # the fastest calls say the graph is faster: one noisy run, keep it
    assert not ok and reason == "kept-few-calls"


def test_recommended_speedup_is_never_below_one() -> None:
    """A tune that pays through fewer traces, slower per steady call: the column reads the totals' ratio."""
    sig = Settings(reduce_retracing=True)
    m = Measurement(cand("m:t", "tune"), fr(100, 3.0, traces=50, trace_calls=50, trace_time_s=2.9),
                    fr(100, 0.8, traces=2, trace_calls=2, trace_time_s=0.2), settings=sig)
    (rec,) = plan_of([m]).recommendations
    assert rec.speedup is not None and rec.speedup == pytest.approx(3.0 / 0.8, rel=1e-3)


def test_print_and_logging_are_refused_with_the_finding_but_warnings_warn_is_not() -> None:
    """A print no test observes still runs once per trace as a graph: refused, not converted as is."""
    printing = {"code": "HY101", "severity": "warning", "line": 7,
                "message": "print runs only while tracing (and shows symbolic tensors): use tf.print", "via": []}
    logging = {"code": "HY102", "severity": "warning", "line": 9, "message": "`logger.info(...)` logs only while tracing",
               "via": ["m:helper"]}
    warn = {"code": "HY102", "severity": "warning", "line": 4, "message": "`warnings.warn(...)` logs only while tracing"}
    functions = [fn("m:p"), fn("m:l"), fn("m:w"), fn("m:hyb", hybrid=True)]
    reports = [report("m:p", findings=[printing]), report("m:l", findings=[logging]), report("m:w", findings=[warn]),
               report("m:hyb", findings=[printing])]
    cands, rejected = build_candidates(functions, reports)
    assert {c.function for c in cands} == {"m:w", "m:hyb"}  # an existing tf.function already prints once per trace
    details = {r.function: (r.reason, r.detail) for r in rejected}
    assert details["m:p"][0] == "blocker-finding" and details["m:p"][1].startswith("HY101 at line 7")
    assert "once per trace instead of once per call" in details["m:p"][1] and "tf.print" in details["m:p"][1]
    assert details["m:l"][0] == "blocker-finding" and "via m:helper" in details["m:l"][1]
