"""The settings to try next after one broke a test or crashed the run, in order, before rejecting a function.

One failed setting says little about the others: an ``input_signature`` that made a Python ``int`` an ``int32``
tensor fails where the body multiplies it by a ``float32`` (a ``float32`` spec would pass), relaxed shapes break
code that reads ``x.shape[0]`` (a plain decorator would pass), and an existing ``tf.function`` that retraces on
every call is fixed by removing it. So the search goes on: a spec with the dtype the operation needs, then
``reduce_retracing=True`` where shapes vary, then a plain decorator (a conversion) or removal (an existing one).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hybridize.plan import Settings
from hybridize.planner.candidates import Candidate
from hybridize.planner.settings import derive_settings
from hybridize.planner.traces import predict_traces

# error text that says an operation wanted a floating-point operand (TensorFlow's dtype errors name both sides)
_WANTS_FLOAT = re.compile(r"expected to be a (?:float|half|double|bfloat16)|float(?:16|32|64)|\bdouble\b|\bhalf\b")


def _as_float(signatures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The signatures with every Python int argument recorded as a float (so a derived spec is ``float32``)."""
    out = copy.deepcopy(signatures)
    for sig in out:
        for arg in (sig.get("args") or {}).values():
            if isinstance(arg, dict) and arg.get("kind") == "python" and arg.get("type") == "int":
                arg["type"] = "float"
                if isinstance(arg.get("value"), int):
                    arg["value"] = float(arg["value"])
    return out


def retyped_signature(c: Candidate, failed: Settings, error: str,
                      workload: list[dict[str, Any]] | None = None) -> Settings | None:
    """A signature whose Python-number specs are ``float32`` instead of ``int32``, when ``failed`` had an
    ``int32`` scalar spec and the error says an operation wanted a float; else None."""
    specs = failed.input_signature or []
    if not any(s.shape == [] and s.dtype == "int32" for s in specs) or not _WANTS_FLOAT.search(error or ""):
        return None
    sigs = [*c.profile.signatures, *(workload or [])]
    choice = derive_settings(_as_float(sigs), c.static.params if c.static is not None else None)
    if choice.kind != "input_signature" or choice.settings == failed:
        return None
    return Settings(input_signature=choice.settings.input_signature, jit_compile=failed.jit_compile)


def _shapes_vary(c: Candidate) -> bool:
    shapes = c.choice.shapes if c.choice is not None else {}
    return any(s is None or None in s for s in shapes.values())


def fallback_chain(c: Candidate, failed: Settings | None, error: str,
                   workload: list[dict[str, Any]] | None = None) -> list[tuple[str, Settings | None]]:
    """(variant, settings) to try in order after ``failed`` broke a run; settings None means removing the
    decorator (run eagerly). Empty for a removal that failed (nothing is left to try)."""
    if c.action == "dehybridize":
        return []
    failed = failed or Settings()
    chain: list[tuple[str, Settings | None]] = []
    retyped = retyped_signature(c, failed, error, workload)
    if retyped is not None:
        chain.append(("signature-dtype", retyped))
    if failed.reduce_retracing is not True and _shapes_vary(c):
        chain.append(("reduce_retracing", Settings(reduce_retracing=True)))
    if c.action == "tune":
        chain.append(("dehybridize", None))
    elif failed != Settings():
        chain.append(("plain-after-failure", Settings()))
    return chain


MAX_FALLBACK_RUNS = 4  # re-runs of one level after a failure (the chains are at most three long)


def retry_level(trials: Any, index: int, names: list[str], crashed: bool) -> None:
    """After a level run's culprits were isolated, measure the level again with each culprit on its next
    settings (``fallback_chain``), the others as they were; a culprit that fails again moves down its chain.
    The others' numbers from a crashed run are worthless (the command stopped early), so when no culprit has
    settings left they still get a clean run. ``trials`` is the session's ``Trials``."""
    assert trials.baseline is not None
    measurements = trials.measurements
    culprits = [n for n in names if measurements[n].failure or measurements[n].crash]
    if not culprits:
        return
    errors = {n: next(iter((measurements[n].failure or {}).values()), measurements[n].crash or "") for n in culprits}
    chains = {n: fallback_chain(measurements[n].candidate, measurements[n].settings, str(errors[n]),
                                measurements[n].base.signatures) for n in culprits}
    step = dict.fromkeys(chains, 0)
    others: dict[str, Settings | None] = {n: measurements[n].settings for n in names if n not in culprits}
    for attempt in range(MAX_FALLBACK_RUNS + 1):
        active = {n: chain[step[n]] for n, chain in chains.items() if step[n] < len(chain)}
        if not active and not (crashed and others):
            return
        if not trials.isolation_allowed("re-measuring a level without its culprits"):
            return
        converted = {**others, **{n: s for n, (_, s) in active.items()}}
        eager = {n for n, (variant, _) in active.items() if variant == "dehybridize"}
        result = trials.run(f"level{index}-again{attempt}", trials.perf, trials.targets(converted, eager, replay=True),
                            digests=True)
        trials.level_results[result.label] = result
        if not trials._broke(result):
            for n, (variant, settings) in active.items():
                _adopt(measurements[n], variant, settings, str(errors[n]), result.label)
            trials._absorb(result, list(converted), converted)
            return
        if not active:
            return
        failing = trials.newly_failing(result)
        suspects = {n for n in active if result.func(n).errors
                    or set(measurements[n].candidate.profile.tests) & set(failing)}
        for n in suspects if suspects and not trials._crashed(result) else active:
            step[n] += 1


def _adopt(m: Any, variant: str, settings: Settings | None, error: str, label: str) -> None:
    """Record that ``variant`` passed where the first settings failed, and make it the function's choice."""
    failed = (m.settings or m.candidate.trial_settings).to_json() if m.candidate.action != "dehybridize" else {}
    m.alternatives.append({"variant": variant, "settings": settings.to_json() if settings else {},
                           "failed_with": failed, "error": error, "kept": True, "run": label})
    m.failure, m.crash = None, None
    choice = m.candidate.choice
    if variant == "dehybridize":
        m.candidate.action = "dehybridize"
        if choice is not None:
            choice.notes.append(f"{choice.kind} failed here ({error}); removing the decorator passed")
        return
    if choice is not None and settings is not None:
        kind = "reduce_retracing" if settings.reduce_retracing else "input_signature" if settings.input_signature \
            else "plain"
        choice.notes.append(f"{choice.kind} failed here ({error}); {kind} "
                            f"{'with float32 specs ' if variant == 'signature-dtype' else ''}passed")
        choice.kind, choice.settings = kind, settings
        choice.predicted_traces = predict_traces(kind, m.base.signatures or list(m.candidate.profile.signatures))


def must_try(measurements: dict[str, Any], chosen: dict[str, tuple[str, Settings | None]]
             ) -> dict[str, tuple[str, Settings | None]]:
    """The variants tried whatever the default budget says: removing an existing tf.function whose new settings
    still retrace (more traces than predicted) or do not pay, and the other settings of the plan's top conversion
    (the accepted function that saves most: where a setting matters most, one run) where they may pay
    (``_may_pay``); the rest wait for budget.

    Why the top one past the budget: the default budget (twice the traced test run) is often spent by the required
    runs alone when the performance command is as long as the tests (xla_fusion: baseline, level run and the
    test check's reserve), and the settings of the function that dominates the plan are what a maintainer tunes
    first."""
    from hybridize.planner.acceptance import accepted

    ranked = [(m.total_saved_s() or 0.0, n) for n, m in measurements.items()
              if m.trial is not None and m.candidate.action in ("convert", "tune") and accepted(m)]
    top = max(ranked)[1] if ranked else None
    out: dict[str, tuple[str, Settings | None]] = {}
    for n, (variant, settings) in chosen.items():
        m = measurements[n]
        if n == top and variant == "alternative":
            if _may_pay(m, settings):
                out[n] = (variant, settings)
            continue
        if variant != "dehybridize" or m.candidate.action != "tune" or m.trial is None:
            continue
        predicted = m.candidate.choice.predicted_traces if m.candidate.choice is not None else 1
        if m.trial.traces > max(predicted, 1) or not accepted(m):
            out[n] = (variant, settings)
    return out


def _relaxed(settings: Settings | None) -> bool:
    """Settings whose graph is traced for unknown dimensions (relaxed shapes, or a spec with a ``None`` dim)."""
    if settings is None:
        return False
    return bool(settings.reduce_retracing) or any(s.shape is None or None in s.shape
                                                  for s in settings.input_signature or [])


def _may_pay(m: Any, settings: Settings | None) -> bool:
    """Whether other settings can beat the first choice on the workload: predicted to trace less than the first
    choice measured, or as little with shapes fixed where the first choice relaxed them (a specialised graph);
    relaxing the shapes of a graph that traced once cannot (xla_finetune: plain, then ``reduce_retracing``)."""
    choice = m.candidate.choice
    measured = m.trial.traces if m.trial is not None else 0
    predicted = next((n for _, s, n in (choice.alternatives if choice is not None else []) if s == settings), None)
    if predicted is None:
        return False
    current = m.settings or m.candidate.trial_settings
    return predicted < measured or (predicted <= measured and _relaxed(current) and not _relaxed(settings))
