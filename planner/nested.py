"""Nested conversions: callees that need no run of their own (a converted caller covers them whatever they
measure), and callees worth converting inside their converted callers (traced once, called from the graph)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridize.plan import Settings
from hybridize.planner.acceptance import accepted
from hybridize.planner.compare import compare_replays
from hybridize.planner.measurement import MIN_NESTED_GAIN_S, Measurement, noise_margin
from hybridize.planner.trials import TrialResult

if TYPE_CHECKING:
    from hybridize.planner.session import Trials

NESTED_MIN_CALLS_PER_TRACE = 2.0  # a callee run this often per caller trace is worth trying converted inside it


def _covering_caller(trials: Trials, n: str) -> tuple[str, float, float] | None:
    """An accepted conversion that covers ``n`` whatever ``n`` measures: (caller, its saving, eager time below it)."""
    m = trials.measurements[n]
    for p, outer in trials.measurements.items():
        if n not in trials.descendants.get(p, ()) or outer.candidate.action != "convert" or not accepted(outer):
            continue
        inside = {p} | trials.descendants.get(p, set())
        from_inside = sum(k for (a, b), k in trials.edges.items() if b == n and a in inside)
        if from_inside < m.base.calls:
            continue  # called from elsewhere too: its own conversion can matter
        if calls_per_trace(trials, outer, n) >= NESTED_MIN_CALLS_PER_TRACE:
            continue
        below = sum(trials.measurements[d].base.time_s for d in trials.descendants.get(p, ()) if d in trials.measurements)
        saved = outer.saved_s() or 0.0
        if saved >= below:
            return p, saved, below
    return None


def unbeatable_callees_skipped(trials: Trials, names: list[str]) -> list[str]:
    """``names`` less the callees whose measurement cannot change the plan, each marked as skipped.

    A callee C is skipped when an accepted conversion P, measured at an earlier level, makes every call of C
    (directly or through P's other callees) and P saves more than the whole eager time of everything below it:
    no conversion saves more than its function's eager time, so the nesting choice keeps P whatever C measures.
    A callee P's trace ran repeatedly is still measured (it may pay converted inside P)."""
    keep: list[str] = []
    for n in names:
        cover = _covering_caller(trials, n)
        if cover is None:
            keep.append(n)
            continue
        p, saved, below = cover
        m = trials.measurements[n]
        m.skipped_by = p
        m.skipped = (f"not measured alone: every call comes from inside {p}, whose conversion saves "
                     f"{saved:.3f} s, more than the whole eager time below it ({below:.3f} s): converted "
                     "as part of it")
    if len(keep) < len(names):
        trials.notes.append(f"{len(names) - len(keep)} callee(s) not measured alone: their callers' conversions "
                            "cover them whatever they would measure")
    return keep


def calls_per_trace(trials: Trials, outer: Measurement, callee: str) -> float:
    """How often ``outer``'s trace ran ``callee``, in the run that measured ``outer``."""
    run = trials.level_results.get(outer.run)
    if run is None:
        return 0.0
    return run.func(callee).nested_calls / max(outer.trial.traces if outer.trial else 1, 1)


def nested_pairs(trials: Trials) -> dict[str, list[tuple[str, float]]]:
    """Accepted conversions whose trace ran an accepted callee several times: caller -> [(callee, calls per
    trace)]. Inlined, every call is a copy of the callee's ops in the caller's graph; converted too, the
    callee is traced once and its graph called, so the caller traces (and often runs) faster."""
    pairs: dict[str, list[tuple[str, float]]] = {}
    for (caller, callee), _n in sorted(trials.edges.items()):
        if caller == callee or caller not in trials.measurements or callee not in trials.measurements:
            continue
        outer, inner = trials.measurements[caller], trials.measurements[callee]
        if outer.candidate.action != "convert" or inner.candidate.action != "convert":
            continue
        if not (accepted(outer) and accepted(inner)) or outer.trial is None or not outer.trial.traces:
            continue
        per_trace = calls_per_trace(trials, outer, callee)
        if per_trace >= NESTED_MIN_CALLS_PER_TRACE:
            pairs.setdefault(caller, []).append((callee, per_trace))
    return pairs


def try_nested(trials: Trials) -> bool:
    """One run converting each such caller together with its repeated callees; False when out of budget.
    Without a user's ``--budget`` this run is always made: the pairs are found from measurements, rare,
    and worth a lot when present (an RNN cell called at every time step of its converted loop)."""
    assert trials.baseline is not None
    pairs = nested_pairs(trials)
    if not pairs:
        return True
    if trials.strict_budget and not trials._optional_run_fits():
        trials.notes.append("budget reached: converting repeated callees inside their converted callers not tried")
        return False
    converted: dict[str, Settings | None] = {}
    for caller, inner in pairs.items():
        for n in [caller] + [c for c, _ in inner]:
            m = trials.measurements[n]
            converted[n] = m.settings or m.candidate.trial_settings
    result = trials.run("nested", trials.perf, trials.targets(converted, replay=True), digests=True)
    if trials._broke(result):
        trials.notes.append("converting callees inside their converted callers broke the run: not recommended")
        return True
    gains = {caller: nested_gain(trials, caller, inner, result) for caller, inner in pairs.items()}
    unsure = [c for c, g in gains.items() if g is not None and 0 < g <= nested_margin(trials, c)]
    if unsure and (not trials.strict_budget or trials._optional_run_fits()):
        # a trace-dominated difference measured once can fall under the margin in one noisy run: kept when a
        # second run agrees, both over half the margin
        again = trials.run("nested-again", trials.perf, trials.targets(converted, replay=True), digests=True)
        if not trials._broke(again):
            for caller in unsure:
                nested_gain(trials, caller, pairs[caller], again, first=gains[caller])
    return True


def nested_margin(trials: Trials, caller: str) -> float:
    """The margin every acceptance uses (what noise could make up of the caller's eager time), not one in
    proportion to the caller's saving, which throws away a real saving that is small next to its caller."""
    return noise_margin(trials.measurements[caller].eager_total(), MIN_NESTED_GAIN_S)


def nested_gain(trials: Trials, caller: str, inner: list[tuple[str, float]], result: TrialResult,
                first: float | None = None) -> float | None:
    """Record what converting ``inner`` inside ``caller`` gained in ``result``: kept when the gain clears the
    margin, or, on a second run (``first`` is the first run's gain), when both gains clear half of it."""
    outer = trials.measurements[caller]
    fr = result.func(caller)
    with_callees = Measurement(outer.candidate, outer.base, fr)
    alone, together = outer.saved_s(), with_callees.saved_s()
    if fr.errors or alone is None or together is None:
        return None
    gain = together - alone
    margin = nested_margin(trials, caller)
    ok = compare_replays(fr.replays)[0] != "mismatch"
    kept = ok and (gain > margin if first is None else min(gain, first) > margin / 2)
    for callee, per_trace in inner:
        entry = {"calls_per_trace": round(per_trace, 1), "caller_saved_alone_s": round(alone, 4),
                 "caller_saved_with_s": round(together, 4), "gain_s": round(gain, 4), "margin_s": round(margin, 4),
                 "kept": kept, "caller_trace_s": [round(outer.trace_overhead_s(), 4),
                                                  round(with_callees.trace_overhead_s(), 4)]}
        if first is not None:
            entry.update(gain_s=round((first + gain) / 2, 4), gains_s=[round(first, 4), round(gain, 4)],
                         caller_saved_with_s=round(alone + (first + gain) / 2, 4))
        trials.measurements[callee].inside[caller] = entry
    return gain
