"""The plan from the measurements: each candidate judged (``acceptance``), the nesting applied (``nesting``),
recommendations ranked by seconds saved, rejections kept with their reason, and the evidence of each."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hybridize.plan import Plan, Recommendation, Rejection, Settings, file_sha256, render_decorator
from hybridize.planner.acceptance import Decision, confidence, instances, judge
from hybridize.planner.measurement import Measurement, Reason
from hybridize.planner.nesting import Nesting, converted_savings, nesting, with_static_edges
from hybridize.planner.removal import graph_trace_s, recommended_speedup, removal_evidence
from hybridize.planner.traces import break_even_calls
from hybridize.profile_types import Signature


def build_plan(measurements: list[Measurement], early_rejections: list[Rejection], *, root: Path,
               edges: dict[tuple[str, str], int], perf_command: list[str], meta: dict[str, Any],
               created: str) -> Plan:
    """Decide every measured candidate, pick nesting, rank by seconds saved."""
    decided: dict[str, Decision] = {m.candidate.function: judge(m) for m in measurements}
    savings = converted_savings(measurements, decided)
    static_edges = with_static_edges(measurements, edges)
    nest = nesting(measurements, edges, decided)
    chosen, covered = nest[0], nest[1]
    by_name = {m.candidate.function: m for m in measurements}
    kept_inside = {n for n, m in by_name.items() if n in covered and (m.inside.get(covered[n]) or {}).get("kept")
                   and covered[n] in chosen}
    recs: list[Recommendation] = []
    rejected: list[Rejection] = list(early_rejections)
    for m in measurements:
        c = m.candidate
        evidence = _evidence(m)
        _note_callers(evidence, c.function, static_edges)
        (ok, reason, detail), nested_gain = _after_nesting(m, decided[c.function], nest, savings, evidence)
        if not ok:
            rejected.append(Rejection(c.function, c.file, c.line, reason, detail, evidence))
            continue
        nested_inside = sorted(k for k, v in covered.items() if v == c.function and k not in kept_inside)
        recs.append(_recommendation(m, evidence, nested_gain, nested_inside))
    recs.sort(key=lambda r: -(r.saved_s or 0.0))
    for i, r in enumerate(recs, 1):
        r.rank = r.id = i
    hashes: dict[str, str] = {}
    for r in recs:
        path = root / r.file
        if r.file and path.is_file():
            hashes[r.file] = file_sha256(path)
    return Plan(recommendations=recs, rejected=rejected, file_hashes=hashes, project_root=str(root),
                perf_command=list(perf_command), created=created, meta=meta)


def _note_callers(evidence: dict[str, Any], function: str, static_edges: dict[tuple[str, str], int]) -> None:
    callers = sorted({a for (a, b), n in static_edges.items() if b == function and a != function})
    if callers:
        evidence["callers"] = callers
        if evidence.get("retrace_params"):
            evidence.setdefault("notes", []).append(
                f"call sites to change: in {', '.join(callers)}" if len(callers) <= 5 else
                f"call sites to change: in {len(callers)} callers")


def _after_nesting(m: Measurement, decision: Decision, nest: Nesting, savings: dict[str, float],
                   evidence: dict[str, Any]) -> tuple[Decision, float | None]:
    """The decision once nesting is chosen, and the gain of a conversion kept inside its converted caller."""
    chosen, covered, better = nest
    ok, reason, detail = decision
    function = m.candidate.function
    nested_gain: float | None = None
    if ok and m.candidate.action == "convert" and function in covered:
        outer = covered[function]
        inside = m.inside.get(outer)
        if inside and inside.get("kept") and outer in chosen:
            nested_gain = float(inside["gain_s"])
            evidence["inside"] = {"caller": outer, **inside, "note": (
                f"also converted inside {outer}: its graph calls this one's ({inside['calls_per_trace']:g} times "
                f"per trace) instead of inlining a copy each time; {outer} then saves "
                f"{inside['caller_saved_with_s']:.3f} s instead of {inside['caller_saved_alone_s']:.3f} s")}
        else:
            ok, reason = False, Reason.COVERED_BY_CALLER.value
            detail = (f"converted as part of {outer} (saves {savings.get(outer, 0):.3f} s; this function alone "
                      f"{savings[function]:.3f} s): a decorator here too would be redundant")
            if inside:
                margin = inside.get("margin_s")
                detail += (f"; also converting it inside {outer} was measured: {inside['gain_s']:+.3f} s, "
                           + (f"under the {margin:.3f} s noise margin" if margin is not None else "not a clear gain"))
    elif ok and m.candidate.action == "convert" and function not in chosen:
        ok, reason = False, Reason.CALLEES_BETTER.value
        detail = f"converting its callees ({', '.join(better.get(function, []))}) saves more than converting it"
    if m.skipped and m.skipped_by not in chosen:  # the caller it was left to was rejected after all
        reason, detail = Reason.NOT_MEASURED.value, f"{m.skipped}; but {m.skipped_by} was not recommended in the end"
    return (ok, reason, detail), nested_gain


def _recommendation(m: Measurement, evidence: dict[str, Any], nested_gain: float | None,
                    nested_inside: list[str]) -> Recommendation:
    c = m.candidate
    settings = m.settings or c.trial_settings
    if c.action == "dehybridize":
        settings = Settings()
    level, why = confidence(m)
    evidence["confidence_notes"] = why
    if nested_inside:
        evidence["nested"] = {"covers": nested_inside,
                              "note": "its callees run inside this graph: converting them too is redundant"}
    return Recommendation(
        rank=0, id=0, function=c.function, file=c.file, line=c.line, action=c.action,  # type: ignore[arg-type]
        decorator="" if c.action == "dehybridize" else render_decorator(settings),
        settings=settings, speedup=_round(recommended_speedup(m), 3),
        saved_s=_round(m.total_saved_s() if nested_gain is None else nested_gain, 4), calls=m.base.calls,
        traces_before=m.base.traces if c.action != "convert" else 0,
        traces_after=(m.trial.traces if m.trial is not None else None) if c.action != "dehybridize" else 0,
        confidence=level, evidence=evidence)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def shapes_seen(signatures: Sequence[Signature], limit: int = 6) -> dict[str, list[str]]:
    """Per parameter, the distinct tensor shapes / Python values the profile saw (for the report)."""
    seen: dict[str, list[str]] = {}
    for sig in signatures:
        for name, arg in (sig.get("args") or {}).items():
            if not isinstance(arg, dict):
                continue
            kind = arg.get("kind")
            if kind in ("tensor", "ndarray", "variable"):
                shape = arg.get("shape")
                text = f"{arg.get('dtype')}[{', '.join('?' if d is None else str(d) for d in shape)}]" if shape is not None \
                    else f"{arg.get('dtype')}[...]"
            elif kind == "python":
                text = f"{arg.get('type')}={arg.get('value')!r}"
            else:
                continue
            values = seen.setdefault(name, [])
            if text not in values and len(values) < limit:
                values.append(text)
    return seen


def _evidence(m: Measurement) -> dict[str, Any]:
    c = m.candidate
    fn = c.profile
    report = c.static
    trial = m.trial
    eager_pc = m.base.per_call_s()
    graph_pc = trial.per_call_s() if trial is not None else None
    trace_s = m.trace_overhead_s()
    be = None
    if eager_pc is not None and graph_pc is not None and trial is not None:
        be = break_even_calls(eager_pc, graph_pc, trace_s / max(trial.traces, 1))
    ev: dict[str, Any] = {
        "eager_s": round(m.eager_total(), 4),
        "graph_s": _round(m.trial_total(), 4),
        "eager_per_call_us": _round(None if eager_pc is None else eager_pc * 1e6, 1),
        "graph_per_call_us": _round(None if graph_pc is None else graph_pc * 1e6, 1),
        "trace_s": round(trace_s, 4),
        "break_even_calls": None if be is None else math.ceil(be),
        "run": m.run,
        "profile_calls": fn.calls,
        "shapes": shapes_seen(fn.signatures),
        "signatures": len(fn.signatures),
        "tests": fn.tests[:20],
        "tests_count": len(fn.tests),
        "coverage": {"lines_covered": fn.lines_covered, "lines_total": fn.lines_total},
        "static_verdict": report.verdict if report is not None else "unknown",
        "findings": [{"code": f.code, "severity": f.severity, "line": f.line, "message": f.message}
                     for f in (report.findings if report is not None else [])][:10],
        "assumptions": list(c.assumptions),
        "results_check": m.results_check,
        "results_detail": m.results_detail,
    }
    _optional_evidence(m, ev)
    return ev


def _optional_evidence(m: Measurement, ev: dict[str, Any]) -> None:
    """The evidence only some candidates have: backward pass, XLA, removal, instances, settings notes, errors."""
    c = m.candidate
    trial = m.trial
    if m.backward is not None:
        ev["backward"] = m.backward
    if m.xla is not None:
        ev["xla"] = m.xla
    if c.action == "dehybridize" and (why := removal_evidence(m)):
        ev["removal_evidence"] = why
    if c.action == "dehybridize" and trial is not None:
        # the baseline ran the existing tf.function and the trial its eager body: name each by what it measured
        base_pc = m.base.per_call_s()
        ev.update(eager_s=_round(m.trial_total(), 4), graph_s=round(m.eager_total(), 4),
                  eager_per_call_us=ev["graph_per_call_us"],
                  graph_per_call_us=_round(None if base_pc is None else base_pc * 1e6, 1),
                  trace_s=round(graph_trace_s(m), 4),
                  break_even_calls=None)
    n = instances(m)
    if n is not None:
        ev["instances"] = n
        if m.base.instances_capped:
            ev["instances_capped"] = True
    if c.choice is not None:
        ev["settings_kind"] = c.choice.kind
        ev["predicted_traces"] = c.choice.predicted_traces
        ev["notes"] = list(c.choice.notes)
        if c.choice.signature_note and (m.settings or c.trial_settings).input_signature:
            ev["notes"].append(c.choice.signature_note)
        if c.choice.retrace_params:
            ev["retrace_params"] = dict(c.choice.retrace_params)
    if c.current is not None:
        ev["current_decorator"] = render_decorator(c.current)
    if trial is not None and trial.errors:
        ev["errors"] = dict(list(trial.errors.items())[:5])
    if m.alternatives:
        ev["alternatives"] = m.alternatives
    if m.scalene:
        ev["scalene"] = m.scalene
