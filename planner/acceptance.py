"""Whether one measured candidate is recommended (before nesting), and how confident the recommendation is.

Acceptance needs two estimates to agree that the change pays beyond the noise margin: the totals of both runs,
and the fastest calls of each (one noisy run can inflate a total). A rejection says why with a ``Reason`` and a
detail that gives the numbers.
"""

from __future__ import annotations

from hybridize.planner.candidates import instance_counts, instances_note
from hybridize.planner.measurement import MIN_SAVED_FRACTION, MIN_SAVED_S, Measurement, Reason, noise_margin
from hybridize.planner.removal import kept_detail, removal_evidence
from hybridize.planner.traces import break_even_calls
from hybridize.planner.trials import FunctionResult

Decision = tuple[bool, str, str]  # (accepted, reason code as in the plan, detail); ("", "") when accepted


def judge(m: Measurement) -> Decision:
    """(accepted, reason code, detail) for one measured candidate."""
    blocked = m.blocked()
    if blocked is not None:
        return False, blocked[0].value, blocked[1]
    if m.results_check == "mismatch":
        code = Reason.OUTPUT_MISMATCH if m.results_detail.startswith("replayed eagerly") else Reason.RESULT_MISMATCH
        return False, code.value, m.results_detail
    return _judge_times(m)


def _judge_times(m: Measurement) -> Decision:
    """A complete, result-checked measurement: both estimates of the seconds saved against the noise margin."""
    action = m.candidate.action
    trial = m.trial
    assert trial is not None  # blocked() rejects a missing trial
    totals = m.total_saved_s() or 0.0
    robust = m.robust_saved_s()
    saved = totals if robust is None else min(totals, robust + m.backward_saved_s)  # both must say it pays
    threshold = noise_margin(m.eager_total())
    speedup = m.speedup() or 0.0
    if saved > threshold and (speedup > 1.0 or action != "convert"):
        # tune / de-hybridize pay through fewer traces or no graph-call overhead: the total decides
        if action == "dehybridize" and not removal_evidence(m):  # a test's 1-2 calls measure mostly the trace
            return False, Reason.KEPT_FEW_CALLS.value, kept_detail(m)
        return True, "", ""
    if totals > threshold and robust is not None and (speedup > 1.0 or action != "convert"):
        # one noisy run can inflate a total (a single big kernel can look faster converted when it is slower)
        fast_base, fast_trial = m.base.min_s or 0.0, (trial.min_s or 0.0)
        return False, Reason.MEASURED_SLOWER.value, (
            f"the totals say it saves {totals:.3f} s, but its fastest calls do not "
            f"({fast_base * 1e6:.0f} µs -> {fast_trial * 1e6:.0f} µs per call; "
            f"{robust:+.3f} s from them): noise in one run, not a gain")
    if action == "dehybridize":
        return False, Reason.ALREADY_OPTIMAL.value, (
            f"the existing tf.function pays: eager would take {m.trial_total() or 0:.3f} s "
            f"vs {m.eager_total():.3f} s as a graph")
    return _not_faster(m, trial, saved, threshold, speedup)


def _not_faster(m: Measurement, trial: FunctionResult, saved: float, threshold: float, speedup: float) -> Decision:
    """The rejection of a conversion or tuning that does not clear the margin: too few calls, or slower."""
    if trial.steady_calls <= 0:
        return False, Reason.TOO_FEW_CALLS.value, (
            f"every call traced ({trial.calls} call(s), {trial.traces} trace(s)): "
            f"tracing is never paid back on this workload{_per_object(m)}")
    if speedup > 1.0 and saved > 0:
        return False, Reason.TOO_FEW_CALLS.value, (
            f"{speedup:.2f}x per call, tracing included it saves {saved:.3f} s of "
            f"{m.eager_total():.3f} s: under the {threshold:.3f} s margin that noise could "
            f"make up ({MIN_SAVED_FRACTION:.0%} of its eager time, at least "
            f"{MIN_SAVED_S * 1000:.0f} ms); more calls would pay")
    if speedup > 1.0:
        eager_pc = m.base.per_call_s() or 0.0
        graph_pc = trial.per_call_s() or 0.0
        be = break_even_calls(eager_pc, graph_pc, m.trace_overhead_s() / max(trial.traces, 1))
        be_text = f"; break-even after {be:.0f} calls per trace" if be is not None else ""
        return False, Reason.TOO_FEW_CALLS.value, (
            f"{speedup:.2f}x per call but tracing ({m.trace_overhead_s():.3f} s, "
            f"{trial.traces} trace(s)) is not paid back by {m.base.calls} calls{be_text}")
    if m.candidate.action == "tune":
        return False, Reason.MEASURED_SLOWER.value, (
            f"{m.trial_total() or 0:.3f} s with the new settings vs {m.eager_total():.3f} s "
            "with the current decorator")
    return False, Reason.MEASURED_SLOWER.value, (f"{m.trial_total() or 0:.3f} s as a graph vs {m.eager_total():.3f} s "
                                                 f"eager ({speedup:.2f}x per call)")


def instances(m: Measurement) -> int | None:
    """Distinct objects the method was called on by the performance command (the baseline), else the profile's."""
    return instance_counts(m.candidate.profile, m.base)[0]


def _per_object(m: Measurement) -> str:
    """"; called on N different objects ..." when per-object tracing explains (part of) the traces."""
    n = instances(m)
    if n is None or n <= 1:
        return ""
    return f"; {instances_note(n, m.base.calls, m.base.instances_capped)}"


def accepted(m: Measurement) -> bool:
    """Whether the measurements so far would recommend ``m`` (before nesting): the only conversions worth
    checking against the test command, since nothing else can reach the plan."""
    return judge(m)[0]


def confidence(m: Measurement) -> tuple[str, list[str]]:
    """high / medium / low from static verdict, test coverage, result check, trace prediction and margin."""
    c = m.candidate
    score = 0
    why: list[str] = []
    verdict = c.static.verdict if c.static is not None else "unknown"
    if verdict == "safe":
        score += 2
    elif verdict == "unknown":
        score += 1
        why.append("static verdict unknown")
    else:
        why.append("static warnings")
    tests = c.profile.tests
    if tests:
        score += 2
    else:
        why.append("no test exercises it")
    if m.results_check == "match":
        score += 1
    elif m.results_check == "inconclusive":
        why.append("results not comparable")
    predicted = c.choice.predicted_traces if c.choice else None
    if m.trial is not None and predicted is not None and m.trial.traces <= max(predicted, 1):
        score += 1
    elif predicted is not None:
        why.append("more traces than predicted")
    speedup = m.speedup() or 0.0
    if speedup >= 1.5:
        score += 1
    if c.assumptions:
        score -= 1
        why.append("assumptions made")
    level = "high" if score >= 6 else "medium" if score >= 3 else "low"
    return level, why
