"""Other settings for the conversions that paid (removing a retuned decorator, the best other settings),
kept only where they clearly win; then ``jit_compile=True`` (``xla.try_xla``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridize.plan import Settings
from hybridize.planner.absorb import credit_backward
from hybridize.planner.decide import Measurement, nesting
from hybridize.planner.fallback import must_try
from hybridize.planner.nested import try_nested
from hybridize.planner.removal import removal_evidence
from hybridize.planner.trials import TrialResult
from hybridize.planner.xla import try_xla

if TYPE_CHECKING:
    from hybridize.planner.session import Trials

Choices = dict[str, tuple[str, Settings | None]]  # function -> (variant, settings)


def variant_choices(trials: Trials, round_name: str, names: list[str] | None = None) -> Choices:
    """Each measured function's next untried choice for this round: ``variants`` = removing a retuned
    decorator, or the best other settings (XLA is tried by ``xla.try_xla``)."""
    covered = nesting(list(trials.measurements.values()), trials.edges)[1]
    chosen: Choices = {}
    for n in names if names is not None else list(trials.measurements):
        m = trials.measurements[n]
        c = m.candidate
        if c.action == "dehybridize" or m.failure or m.crash or m.trial is None or m.trial.calls == 0:
            continue
        # other settings for a function its converted caller covers would change nothing in the plan
        if n in covered and not any(v.get("kept") for v in m.inside.values()):
            continue
        tried = {str(a.get("variant")) for a in m.alternatives}
        if round_name == "variants":
            if tried & {"dehybridize", "alternative"}:
                continue
            if c.action == "tune":
                chosen[n] = ("dehybridize", None)
            elif c.choice is not None and c.choice.alternatives:
                chosen[n] = ("alternative", c.choice.alternatives[0][1])
    return chosen


def try_variants(trials: Trials, levels: list[list[str]]) -> None:
    """Within the budget: repeated callees converted inside their converted callers; then one run per level
    trying, for each function at once, what ``variant_choices`` gives that did not ride along a level run;
    then ``jit_compile=True`` (``xla.try_xla``: last, as XLA refuses some ops and a refusal breaks a run)."""
    assert trials.baseline is not None
    if try_nested(trials):
        _variants_round(trials, levels)
    try_xla(trials, levels)


def _variants_round(trials: Trials, levels: list[list[str]]) -> None:
    for i, names in enumerate(levels):
        chosen = variant_choices(trials, "variants", names)
        if not chosen:
            continue
        if not trials._optional_run_fits():
            # a retracing existing tf.function's fix is tried past the default budget (not a user's)
            chosen = {} if trials.strict_budget else must_try(trials.measurements, chosen)
            if not chosen:
                trials.notes.append(f"budget reached: variants not tried for level {i}")
                return
        eager = {n for n, (variant, _) in chosen.items() if variant == "dehybridize"}
        result = trials.run(f"variants{i}", trials.perf, trials.targets({n: s for n, (_, s) in chosen.items()}, eager))
        if trials._broke(result):
            trials.notes.append(f"variants broke the run at level {i}: kept the first choices")
            for n, (variant, settings) in chosen.items():
                variant_broke_run(trials, n, variant, settings)
            continue
        for n, (variant, settings) in chosen.items():
            judge_variant(trials, n, variant, settings, result)


def variant_broke_run(trials: Trials, n: str, variant: str, settings: Settings | None) -> None:
    trials.measurements[n].alternatives.append({"variant": variant, "settings": settings.to_json() if settings else {},
                                                "kept": False, "broke_run": True})


def judge_variant(trials: Trials, n: str, variant: str, settings: Settings | None, result: TrialResult) -> None:
    """Keep a variant only when it saves clearly more than the first choice (10 %, at least 2 ms)."""
    m = trials.measurements[n]
    fr = result.func(n)
    saved_alt, saved_main = Measurement(m.candidate, m.base, fr).saved_s(), m.saved_s()
    entry: dict[str, Any] = {"variant": variant, "settings": settings.to_json() if settings else {},
                             "saved_s": None if saved_alt is None else round(saved_alt, 4), "traces": fr.traces,
                             "errors": dict(list(fr.errors.items())[:3])}
    kept = (not fr.errors and saved_alt is not None and
            (saved_main is None or saved_alt > saved_main + max(0.1 * abs(saved_main), 0.002)))
    if kept and variant == "dehybridize" and not removal_evidence(Measurement(m.candidate, m.base, fr)):
        kept, entry["why_not"] = False, "removal not justified by this workload (too few calls to judge)"
    entry["kept"] = kept
    m.alternatives.append(entry)
    if kept:
        m.trial, m.run = fr, result.label
        credit_backward(trials, result, [n])
        if variant == "dehybridize":
            m.candidate.action = "dehybridize"
        else:
            m.settings = settings
