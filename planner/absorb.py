"""A trial run's numbers into the measurements: the converted functions' timings, the output checks (digests
across runs, eager replays within the run) and the credit for a faster backward pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridize.plan import Settings
from hybridize.planner.decide import Measurement, compare_digests, compare_replays, noise_margin
from hybridize.planner.trials import TrialResult

if TYPE_CHECKING:
    from hybridize.planner.session import Trials


def absorb(trials: Trials, result: TrialResult, names: list[str], converted: dict[str, Settings | None]) -> None:
    """Record ``result`` as the measurement of each of ``names`` (converted with ``converted``'s settings)."""
    assert trials.baseline is not None
    credit_backward(trials, result, names)
    for n in names:
        m = trials.measurements[n]
        m.trial = result.func(n)
        m.run = result.label
        m.settings = converted[n]
        m.results_check, m.results_detail = compare_digests(trials.baseline.func(n).digests, m.trial.digests)
        _check_outputs(trials, m)


def _check_outputs(trials: Trials, m: Measurement) -> None:
    """Refine the cross-run digest check: a random draw explains a mismatch; an eager replay (same inputs by
    construction) outranks it; a call that could not be replayed says why."""
    assert m.trial is not None
    if m.results_check == "mismatch" and trials.oracle.draws_random(m.candidate):
        m.results_check = "inconclusive"
        m.results_detail = ("outputs differ, as expected: it draws tf.random numbers, whose stream differs "
                            "between eager and graph execution (" + m.results_detail + ")")
    replayed = compare_replays(m.trial.replays)
    if replayed[0] in ("match", "mismatch"):  # same inputs by construction: it outranks the cross-run check
        m.results_check, m.results_detail = replayed
    elif m.results_check != "match":
        why = trials.oracle.replayable(m.candidate)
        if why and m.candidate.action != "dehybridize":
            m.results_detail += f"; not replayed eagerly: {why}"
            if m.results_check == "not-checked":
                m.results_check = "inconclusive"
        elif replayed[0] == "inconclusive":
            m.results_detail += f"; {replayed[1]}"


def credit_backward(trials: Trials, result: TrialResult, names: list[str]) -> None:
    """Credit the change in ``tape.gradient`` time outside every wrapped function to this run's conversions
    that a tape recorded (their backward pass), in proportion to their eager time under a tape. No credit
    when another change of the run (a rider) was recorded too, when the runs made different numbers of
    gradient calls, or when the change is within the noise margin (3 % of the baseline's, at least 2 ms)."""
    assert trials.baseline is not None
    for n in names:  # a later run's measurement replaces an earlier run's credit, or its lack of one
        trials.measurements[n].backward_saved_s, trials.measurements[n].backward = 0.0, None
    base = trials.baseline
    taped = {n for n in result.changed if base.func(n).taped_calls > 0}
    if not taped or not base.gradient_calls or not taped <= set(names):
        return
    if result.gradient_calls != base.gradient_calls:
        return
    delta = base.gradient_s - result.gradient_s
    margin = noise_margin(base.gradient_s)
    weights = {n: base.func(n).time_s * base.func(n).taped_calls / max(base.func(n).calls, 1) for n in taped}
    total = sum(weights.values()) or 1.0
    for n in sorted(taped):
        share = delta * weights[n] / total if abs(delta) > margin else 0.0
        m = trials.measurements[n]
        m.backward_saved_s = share
        m.backward = {"gradient_before_s": round(base.gradient_s, 4), "gradient_after_s": round(result.gradient_s, 4),
                      "gradient_calls": base.gradient_calls, "taped_calls": base.func(n).taped_calls,
                      "share": round(weights[n] / total, 3), "saved_s": round(share, 4),
                      "margin_s": round(margin, 4), "run": result.label}
