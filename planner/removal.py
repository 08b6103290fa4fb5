"""When removing an existing ``tf.function`` is justified, and the speedup a recommendation shows.

A library's ``@tf.function`` is usually deliberate, and its users call it many times. One test calling it once
measures mostly the trace, which a real workload pays once: that is no evidence that the graph is slower. So a
removal needs evidence that holds outside the test run (any one of):

- no tensor ever reached it (a graph has nothing to compute, and every Python value retraces);
- it retraced on (nearly) every call, over enough calls to say so (tracing is never paid back);
- its steady-state graph calls, tracing excluded, were measured slower than eager, by both estimates (the
  totals and the fastest calls), over enough calls.

Otherwise the decorator is kept, listed as ``kept-few-calls`` with the numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridize.planner.candidates import received_tensors

if TYPE_CHECKING:
    from hybridize.planner.measurement import Measurement

KEPT_FEW_CALLS = "kept-few-calls"  # the rejection code: removal not justified by the workload's calls
MIN_CALLS_TO_JUDGE = 5  # calls (and steady graph calls) before a retrace rate or a per-call time says anything
RETRACE_EVERY_CALL = 0.8  # "nearly every call": this share of the calls traced
STEADY_SLOWER = 1.03  # graph per call must exceed eager per call by this factor (3 %: the noise margin)


def _signatures(m: Measurement) -> list[dict[str, Any]]:
    return [*m.candidate.profile.signatures, *(m.base.signatures or [])]


def no_tensor_reached(m: Measurement) -> bool:
    """Recorded calls exist (profile or performance run) and none passed a tensor or variable."""
    sigs = _signatures(m)
    return bool(sigs) and not received_tensors(sigs)


def retraces_every_call(m: Measurement) -> bool:
    """The existing tf.function traced on nearly every one of at least ``MIN_CALLS_TO_JUDGE`` calls (baseline)."""
    calls = m.base.calls
    traces = max(m.base.traces, m.base.trace_calls)
    return calls >= MIN_CALLS_TO_JUDGE and traces >= RETRACE_EVERY_CALL * calls


def steady_graph_slower(m: Measurement) -> bool:
    """Steady graph calls (baseline, tracing excluded) slower than the eager body (trial) per call, by the mean
    and, where both runs recorded it, by the fastest call; each side with enough calls."""
    graph, eager = m.base, m.trial
    if eager is None or graph.steady_calls < MIN_CALLS_TO_JUDGE or eager.calls < MIN_CALLS_TO_JUDGE:
        return False
    graph_pc, eager_pc = graph.per_call_s(), eager.per_call_s()
    if not graph_pc or not eager_pc or graph_pc <= eager_pc * STEADY_SLOWER:
        return False
    if graph.min_s is not None and eager.min_s is not None and graph.min_s <= eager.min_s:
        return False
    return True


def removal_evidence(m: Measurement) -> str:
    """Which rule justifies removing ``m``'s decorator, in words, or "" when none does."""
    if no_tensor_reached(m):
        return "no tensor reached it in any recorded call"
    if retraces_every_call(m):
        return (f"it retraced on {max(m.base.traces, m.base.trace_calls)} of {m.base.calls} calls: tracing is never "
                "paid back")
    if steady_graph_slower(m):
        graph_pc, eager_pc = m.base.per_call_s() or 0.0, (m.trial.per_call_s() if m.trial else None) or 0.0
        return (f"its steady graph calls (tracing excluded) are slower than eager: {graph_pc * 1e6:.1f} µs vs "
                f"{eager_pc * 1e6:.1f} µs per call over {m.base.steady_calls} calls")
    return ""


def graph_trace_s(m: Measurement) -> float:
    """What tracing cost the existing tf.function on the performance run (its baseline): the tracing calls' time
    beyond a steady graph call's, or their whole time when no call ran without tracing (a test that calls it once:
    there is no steady call to subtract, and the per-call mean of such a run is the tracing itself)."""
    graph = m.base
    if graph.steady_calls <= 0:
        return graph.trace_time_s
    return max(graph.trace_time_s - (graph.per_call_s() or 0.0) * graph.trace_calls, 0.0)


def kept_detail(m: Measurement) -> str:
    """Why the decorator stays although eager measured faster in total: the numbers, and what would decide."""
    graph, eager = m.base, m.trial
    eager_s = eager.time_s if eager is not None else 0.0
    traces = max(graph.traces, graph.trace_calls)
    return (f"kept: too few calls to judge: as a graph {graph.time_s:.3f} s over {graph.calls} call(s) "
            f"({traces} trace(s), tracing {graph.trace_time_s:.3f} s, {graph.steady_calls} steady call(s)), eager "
            f"{eager_s:.3f} s; removal needs no tensor input, a retrace on nearly every one of at least "
            f"{MIN_CALLS_TO_JUDGE} calls, or steady graph calls measured slower than eager over at least "
            f"{MIN_CALLS_TO_JUDGE} calls (give a workload that calls it more: `--perf`)")


def recommended_speedup(m: Measurement) -> float | None:
    """How much faster the recommended state is: the per-call ratio, or, where that is below 1 (a tune or a
    removal that pays through fewer traces), the ratio of the totals (tracing included)."""
    per_call = m.speedup()
    if per_call is not None and per_call >= 1.0:
        return per_call
    before, after = m.eager_total(), m.trial_total()
    if before and after:
        total = before / after
        return total if per_call is None else max(per_call, total)
    return per_call
