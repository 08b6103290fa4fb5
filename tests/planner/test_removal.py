"""The evidence of an existing tf.function: its measured tracing, not a difference that cancels to zero."""

from __future__ import annotations

from pathlib import Path

from hybridize.planner.assembly import build_plan
from hybridize.planner.candidates import Candidate
from hybridize.planner.measurement import Measurement
from hybridize.planner.trials import FunctionResult


def _m(base: FunctionResult, eager: FunctionResult) -> Measurement:
    c = Candidate("m:lib", "m.py", 1, "dehybridize", {"function": "m:lib", "tests": []}, None)
    return Measurement(c, base, eager)


def _trace_s(m: Measurement) -> float:
    plan = build_plan([m], [], root=Path("/nonexistent"), edges={}, perf_command=["python"], meta={},
                      created="now")
    (entry,) = [*plan.recommendations, *plan.rejected]
    return float(entry.evidence["trace_s"])


def test_a_tf_function_that_traced_on_its_only_call_shows_that_call_as_its_tracing() -> None:
    """One test call, traced: 0.437 s, all of it the trace (the removal is refused, the numbers stay honest)."""
    assert _trace_s(_m(FunctionResult(calls=1, time_s=0.437, traces=1, trace_calls=1, trace_time_s=0.437),
                       FunctionResult(calls=1, time_s=0.13))) == 0.437


def test_a_tf_function_retracing_every_call_shows_all_its_tracing() -> None:
    assert _trace_s(_m(FunctionResult(calls=20, time_s=1.0, traces=20, trace_calls=20, trace_time_s=1.0),
                       FunctionResult(calls=20, time_s=0.1))) == 1.0


def test_with_steady_calls_the_tracing_is_what_the_tracing_call_took_beyond_one() -> None:
    base = FunctionResult(calls=11, time_s=0.5, traces=1, trace_calls=1, trace_time_s=0.4)  # 10 steady: 0.01 s each
    assert _trace_s(_m(base, FunctionResult(calls=11, time_s=0.3))) == 0.39
