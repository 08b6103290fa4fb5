"""From measurements to the plan: per-function comparison, nesting choice, ranking, confidence.

Pure logic over trial results (no TensorFlow, no processes), so every decision rule is unit-tested
with hand-written numbers. Thresholds are deliberately conservative: the plan must never make the
performance command slower, so a conversion has to save a clear margin, not win by noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.plan import Plan, Recommendation, Rejection, Settings, file_sha256, render_decorator
from hybridize.planner.candidates import PER_INSTANCE, Candidate, instance_counts, instances_note
from hybridize.planner.removal import (
    KEPT_FEW_CALLS,
    graph_trace_s,
    kept_detail,
    recommended_speedup,
    removal_evidence,
)
from hybridize.planner.settings import break_even_calls
from hybridize.planner.trials import FunctionResult

MIN_SAVED_S = 0.002  # absolute margin over timer noise
MIN_SAVED_FRACTION = 0.03  # of the function's eager time
MIN_NESTED_GAIN_S = 0.01  # a callee converted inside its converted caller must save this much more
FLOAT_RTOL = 1e-3  # outputs: graph and eager kernels may differ in the last bits
INPUT_RTOL = 1e-6  # inputs must be the same to compare outputs (a discontinuous function amplifies tiny diffs)


def noise_margin(total_s: float, floor_s: float = MIN_SAVED_S) -> float:
    """What noise could make up of a measured total: every acceptance must clear it."""
    return max(floor_s, MIN_SAVED_FRACTION * total_s)


@dataclass
class Measurement:
    """Everything measured about one candidate."""

    candidate: Candidate
    base: FunctionResult
    trial: FunctionResult | None = None
    run: str = ""
    settings: Settings | None = None  # the settings the trial used (convert/tune)
    failure: dict[str, str] | None = None  # failing test -> error, when this conversion broke tests
    crash: str | None = None  # the trial run itself failed (exit code, timeout) and blamed this function
    results_check: str = "not-checked"
    results_detail: str = ""
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    scalene: dict[str, Any] | None = None
    unreachable: str = ""  # the trial hook could not wrap it where `hybridize apply` puts the decorator
    per_instance: str = ""  # every call was on a new object: rejected after the baseline, never converted (why)
    inside: dict[str, dict[str, Any]] = field(default_factory=dict)  # caller -> converted inside it too: numbers
    skipped: str = ""  # not measured: a converted caller covers it whatever it would measure (why)
    skipped_by: str = ""  # that caller
    not_measured: str = ""  # why no run measured it, when known (a level past a user's --budget)
    backward_saved_s: float = 0.0  # its share of the change in tape.gradient time outside it (its backward pass)
    backward: dict[str, Any] | None = None  # how that share was measured (evidence)
    xla: dict[str, Any] | None = None  # jit_compile=True: eager / graph / XLA totals and the verdict (planner/xla.py)

    def eager_total(self) -> float:
        return self.base.time_s

    def trial_total(self) -> float | None:
        """The trial's time scaled to the baseline's call count (runs may differ slightly)."""
        if self.trial is None or self.trial.calls == 0:
            return None
        if self.trial.calls == self.base.calls:
            return self.trial.time_s
        per = self.trial.per_call_s() or 0.0
        return self.trial.trace_time_s + per * max(self.base.calls - self.trial.trace_calls, 0)

    def saved_s(self) -> float | None:
        """Seconds saved inside its own calls (what settings and nesting are compared on)."""
        total = self.trial_total()
        return None if total is None else self.eager_total() - total

    def robust_saved_s(self) -> float | None:
        """A second estimate of ``saved_s`` from each side's fastest call (see ``FunctionResult.robust_total``)."""
        if self.trial is None or self.trial.calls == 0:
            return None
        base, trial = self.base.robust_total(self.base.calls), self.trial.robust_total(self.base.calls)
        return None if base is None or trial is None else base - trial

    def total_saved_s(self) -> float | None:
        """Seconds saved on the performance command: its calls plus its backward pass under a tape outside it."""
        saved = self.saved_s()
        return None if saved is None else saved + self.backward_saved_s

    def speedup(self) -> float | None:
        eager = self.base.per_call_s()
        graph = self.trial.per_call_s() if self.trial is not None else None
        if not eager or not graph:
            return None
        return eager / graph

    def trace_overhead_s(self) -> float:
        if self.trial is None:
            return 0.0
        per = self.trial.per_call_s() or 0.0
        return max(self.trial.trace_time_s - per * self.trial.trace_calls, 0.0)


def compare_digests(base: list[dict[str, Any]], trial: list[dict[str, Any]]) -> tuple[str, str]:
    """Eager (baseline) versus converted outputs on the same inputs: match / mismatch / inconclusive."""
    pairs = [(b, t) for b, t in zip(base, trial, strict=False) if "out" in b and "out" in t]
    if not pairs:
        return "not-checked", "no outputs recorded"
    same_inputs = [(b, t) for b, t in pairs if _close(b.get("in"), t.get("in"), INPUT_RTOL)]
    if not same_inputs:
        return "inconclusive", "the inputs differed between runs (nondeterministic program)"
    for i, (b, t) in enumerate(same_inputs):
        if not _close(b["out"], t["out"]):
            return "mismatch", f"call {i + 1}: eager returned {_short(b['out'])}, graph returned {_short(t['out'])}"
    return "match", f"{len(same_inputs)} call(s) compared on identical inputs"


def compare_replays(replays: list[dict[str, Any]]) -> tuple[str, str]:
    """Graph outputs versus the same calls replayed eagerly in the same run (``run_functions_eagerly``)."""
    if not replays:
        return "not-checked", "no eager replay"
    errors = [r["error"] for r in replays if "error" in r]
    pairs = [(r["graph"], r["eager"]) for r in replays if "graph" in r and "eager" in r]
    for i, (graph, eager) in enumerate(pairs):
        if not _close(eager, graph):
            return "mismatch", (f"replayed eagerly in the same run, call {i + 1} returned {_short(eager)}; "
                                f"the graph returned {_short(graph)}")
    if pairs:
        return "match", f"{len(pairs)} call(s) replayed eagerly in the same run: outputs equal within rtol {FLOAT_RTOL:g}"
    return "inconclusive", f"the eager replay failed: {errors[0]}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict) and value.get("shape") == [] and isinstance(value.get("sum"), int | float):
        return float(value["sum"])
    return None


def _close(a: Any, b: Any, rtol: float = FLOAT_RTOL) -> bool:
    """Digest equality within float tolerance; Python scalars equal their 0-d tensor (graph outputs are tensors)."""
    na, nb = _as_number(a), _as_number(b)
    if na is not None and nb is not None:
        return math.isclose(na, nb, rel_tol=rtol, abs_tol=rtol * 1e-2)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        return all(_close(a[k], b[k], rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            return math.isclose(float(a), float(b))  # "nan"/"inf" sums
        except ValueError:
            return False
    return bool(a == b)


NOT_ISOLATED = "not isolated"  # prefix of the failure note that bisection writes when it runs out of runs


def _accepts(m: Measurement) -> tuple[bool, str, str]:
    """(accepted, reason code, detail) for one measured candidate."""
    c = m.candidate
    if m.unreachable:
        return False, "not-reachable", m.unreachable
    if m.base.calls == 0 and m.base.nested_calls:
        return False, "not-exercised", ("called by the performance command only while TensorFlow traced a graph (a "
                                        "tf.data map function, a tf.function caller): it already runs as a graph")
    if m.base.calls == 0:
        return False, "not-exercised", "not called by the performance command (nothing to measure)"
    if m.per_instance:
        return False, PER_INSTANCE, m.per_instance
    if m.skipped:
        return False, "covered-by-caller", m.skipped
    if m.failure and all(str(e).startswith(NOT_ISOLATED) for e in m.failure.values()):
        test, note = next(iter(m.failure.items()))
        why = "the planning budget was spent" if "budget" in str(note) else "the bisection run limit stopped"
        return False, "not-isolated", (f"{test} failed with this and other conversions applied together; {why} "
                                       "before this one was tried alone (no evidence against it)")
    if m.failure:
        test, err = next(iter(m.failure.items()))
        more = f" (+{len(m.failure) - 1} more)" if len(m.failure) > 1 else ""
        return False, "test-failure", f"{test} fails under conversion: {err}{more}"
    if m.crash:
        return False, "trial-error", m.crash
    if m.trial is None or m.trial.calls == 0:
        return False, "not-measured", m.not_measured or "no trial measurement (budget exhausted or the run did not reach it)"
    if m.results_check == "mismatch":
        code = "output-mismatch" if m.results_detail.startswith("replayed eagerly") else "result-mismatch"
        return False, code, m.results_detail
    totals = m.total_saved_s() or 0.0
    robust = m.robust_saved_s()
    saved = totals if robust is None else min(totals, robust + m.backward_saved_s)  # both must say it pays
    threshold = noise_margin(m.eager_total())
    speedup = m.speedup() or 0.0
    if saved > threshold and (speedup > 1.0 or c.action != "convert"):
        # tune / de-hybridize pay through fewer traces or no graph-call overhead: the total decides
        if c.action == "dehybridize" and not removal_evidence(m):  # a test's 1-2 calls measure mostly the trace
            return False, KEPT_FEW_CALLS, kept_detail(m)
        return True, "", ""
    if totals > threshold and robust is not None and (speedup > 1.0 or c.action != "convert"):
        # one noisy run inflated a total (big_kernel: a single conv2d looked 11 % faster converted, was 0.81x)
        fast_base, fast_trial = m.base.min_s or 0.0, (m.trial.min_s or 0.0)
        return False, "measured-slower", (f"the totals say it saves {totals:.3f} s, but its fastest calls do not "
                                          f"({fast_base * 1e6:.0f} µs -> {fast_trial * 1e6:.0f} µs per call; "
                                          f"{robust:+.3f} s from them): noise in one run, not a gain")
    if c.action == "dehybridize":
        return False, "already-optimal", (f"the existing tf.function pays: eager would take {m.trial_total() or 0:.3f} s "
                                          f"vs {m.eager_total():.3f} s as a graph")
    if m.trial.steady_calls <= 0:
        return False, "too-few-calls", (f"every call traced ({m.trial.calls} call(s), {m.trial.traces} trace(s)): "
                                        f"tracing is never paid back on this workload{_per_object(m)}")
    if speedup > 1.0 and saved > 0:
        return False, "too-few-calls", (f"{speedup:.2f}x per call, tracing included it saves {saved:.3f} s of "
                                        f"{m.eager_total():.3f} s: under the {threshold:.3f} s margin that noise could "
                                        f"make up ({MIN_SAVED_FRACTION:.0%} of its eager time, at least "
                                        f"{MIN_SAVED_S * 1000:.0f} ms); more calls would pay")
    if speedup > 1.0:
        eager_pc = m.base.per_call_s() or 0.0
        graph_pc = m.trial.per_call_s() or 0.0
        be = break_even_calls(eager_pc, graph_pc, m.trace_overhead_s() / max(m.trial.traces, 1))
        be_text = f"; break-even after {be:.0f} calls per trace" if be is not None else ""
        return False, "too-few-calls", (f"{speedup:.2f}x per call but tracing ({m.trace_overhead_s():.3f} s, "
                                        f"{m.trial.traces} trace(s)) is not paid back by {m.base.calls} calls{be_text}")
    if c.action == "tune":
        return False, "measured-slower", (f"{m.trial_total() or 0:.3f} s with the new settings vs {m.eager_total():.3f} s "
                                          "with the current decorator")
    return False, "measured-slower", (f"{m.trial_total() or 0:.3f} s as a graph vs {m.eager_total():.3f} s eager "
                                      f"({speedup:.2f}x per call)")


def _instances(m: Measurement) -> int | None:
    """Distinct objects the method was called on by the performance command (the baseline), else the profile's."""
    return instance_counts(m.candidate.profile, m.base)[0]


def _per_object(m: Measurement) -> str:
    """"; called on N different objects ..." when per-object tracing explains (part of) the traces."""
    n = _instances(m)
    if n is None or n <= 1:
        return ""
    return f"; {instances_note(n, m.base.calls, m.base.instances_capped)}"


def accepted(m: Measurement) -> bool:
    """Whether the measurements so far would recommend ``m`` (before nesting): the only conversions worth
    checking against the test command, since nothing else can reach the plan."""
    return _accepts(m)[0]


def choose_nesting(accepted: dict[str, float], edges: dict[tuple[str, str], int], calls: dict[str, int],
                   order: Iterable[str]) -> tuple[set[str], dict[str, str], dict[str, list[str]]]:
    """Prefer the outermost conversion measured best.

    ``accepted`` maps accepted functions to seconds saved; ``edges`` are candidate caller -> callee call
    counts. Returns (chosen, covered child -> chosen ancestor, callees-better: parent -> the callees that win).
    """
    nodes = set(calls) | {a for a, _ in edges} | {b for _, b in edges}
    children: dict[str, set[str]] = {n: set() for n in nodes}
    parents: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        if a != b:
            children[a].add(b)
            parents[b].add(a)
    memo: dict[str, float] = {}
    visiting: set[str] = set()

    def value(f: str) -> float:
        if f in memo:
            return memo[f]
        if f in visiting:
            return 0.0
        visiting.add(f)
        below = sum(value(c) for c in children.get(f, ()))
        visiting.discard(f)
        own = accepted.get(f)
        memo[f] = max(own, below) if own is not None else below
        return memo[f]

    chosen: set[str] = set()
    covered: dict[str, str] = {}
    better: dict[str, list[str]] = {}
    ordered = _topological(nodes, children, list(order))
    for f in ordered:
        if f in covered or f not in accepted:
            continue
        below = sum(value(c) for c in children.get(f, ()))
        if accepted[f] >= below or below <= 0:
            chosen.add(f)
            stack = list(children.get(f, ()))
            while stack:
                d = stack.pop()
                if d in covered or d in chosen:
                    continue
                inside = sum(n for (a, b), n in edges.items() if b == d and (a in chosen or a in covered))
                if inside >= calls.get(d, 0):
                    covered[d] = f
                    stack.extend(children.get(d, ()))
        else:
            better[f] = sorted(c for c in children.get(f, ()) if value(c) > 0)
    return chosen, covered, better


def _topological(nodes: set[str], children: dict[str, set[str]], order: list[str]) -> list[str]:
    """Callers before callees (cycles broken arbitrarily), ties in ``order``."""
    rank = {n: i for i, n in enumerate(order)}
    indeg = {n: 0 for n in nodes}
    for a in nodes:
        for b in children.get(a, ()):
            indeg[b] += 1
    out: list[str] = []
    ready = sorted((n for n in nodes if indeg[n] == 0), key=lambda n: rank.get(n, 1 << 30))
    seen: set[str] = set()
    while len(out) < len(nodes):
        if not ready:
            rest = sorted((n for n in nodes if n not in seen), key=lambda n: rank.get(n, 1 << 30))
            ready = [rest[0]]
        n = ready.pop(0)
        if n in seen:
            continue
        seen.add(n)
        out.append(n)
        for c in sorted(children.get(n, ()), key=lambda x: rank.get(x, 1 << 30)):
            indeg[c] -= 1
            if indeg[c] <= 0 and c not in seen:
                ready.append(c)
    return out


def shapes_seen(fn: dict[str, Any], limit: int = 6) -> dict[str, list[str]]:
    """Per parameter, the distinct tensor shapes / Python values the profile saw (for the report)."""
    seen: dict[str, list[str]] = {}
    for sig in fn.get("signatures") or []:
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


def confidence(m: Measurement) -> tuple[str, list[str]]:
    """high / medium / low from static verdict, test coverage, result check, trace prediction and margin."""
    c = m.candidate
    score = 0
    why: list[str] = []
    verdict = (c.static or {}).get("verdict", "unknown")
    if verdict == "safe":
        score += 2
    elif verdict == "unknown":
        score += 1
        why.append("static verdict unknown")
    else:
        why.append("static warnings")
    tests = c.profile.get("tests") or []
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


def _with_static_edges(measurements: list[Measurement], edges: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """The run's caller -> callee counts, completed by static callees (one run's dynamic edges can miss some)."""
    names = {m.candidate.function for m in measurements}
    out = dict(edges)
    for m in measurements:
        for callee in (m.candidate.static or {}).get("calls", []) or []:
            if callee in names and (m.candidate.function, callee) not in out:
                out[(m.candidate.function, callee)] = 0
    return out


def nesting(measurements: list[Measurement], edges: dict[tuple[str, str], int],
            decided: dict[str, tuple[bool, str, str]] | None = None) -> tuple[set[str], dict[str, str], dict[str, list[str]]]:
    """``choose_nesting`` over the conversions the measurements so far accept: which are chosen, which are
    covered by a converted caller (no point trying other settings for those), which callers lose to callees."""
    decided = decided if decided is not None else {m.candidate.function: _accepts(m) for m in measurements}
    by_name = {m.candidate.function: m for m in measurements}
    convert_ok = {n: by_name[n].total_saved_s() or 0.0 for n, (ok, _, _) in decided.items()
                  if ok and by_name[n].candidate.action == "convert"}
    calls = {m.candidate.function: m.base.calls for m in measurements}
    cand_edges = {k: v for k, v in _with_static_edges(measurements, edges).items() if k[0] in by_name and k[1] in by_name}
    return choose_nesting(convert_ok, cand_edges, calls, [m.candidate.function for m in measurements])


def build_plan(measurements: list[Measurement], early_rejections: list[Rejection], *, root: Path,
               edges: dict[tuple[str, str], int], perf_command: list[str], meta: dict[str, Any],
               created: str) -> Plan:
    """Decide every measured candidate, pick nesting, rank by seconds saved."""
    decided: dict[str, tuple[bool, str, str]] = {m.candidate.function: _accepts(m) for m in measurements}
    by_name = {m.candidate.function: m for m in measurements}
    convert_ok = {n: by_name[n].total_saved_s() or 0.0 for n, (ok, _, _) in decided.items()
                  if ok and by_name[n].candidate.action == "convert"}
    static_edges = _with_static_edges(measurements, edges)
    chosen, covered, better = nesting(measurements, edges, decided)

    kept_inside = {n for n, m in by_name.items() if n in covered and (m.inside.get(covered[n]) or {}).get("kept")
                   and covered[n] in chosen}
    recs: list[Recommendation] = []
    rejected: list[Rejection] = list(early_rejections)
    for m in measurements:
        c = m.candidate
        ok, reason, detail = decided[c.function]
        evidence = _evidence(m)
        callers = sorted({a for (a, b), n in static_edges.items() if b == c.function and a != c.function})
        if callers:
            evidence["callers"] = callers
            if evidence.get("retrace_params"):
                evidence.setdefault("notes", []).append(
                    f"call sites to change: in {', '.join(callers)}" if len(callers) <= 5 else
                    f"call sites to change: in {len(callers)} callers")
        nested_gain: float | None = None
        if ok and c.action == "convert" and c.function in covered:
            outer = covered[c.function]
            inside = m.inside.get(outer)
            if inside and inside.get("kept") and outer in chosen:
                nested_gain = float(inside["gain_s"])
                evidence["inside"] = {"caller": outer, **inside, "note": (
                    f"also converted inside {outer}: its graph calls this one's ({inside['calls_per_trace']:g} times "
                    f"per trace) instead of inlining a copy each time; {outer} then saves "
                    f"{inside['caller_saved_with_s']:.3f} s instead of {inside['caller_saved_alone_s']:.3f} s")}
            else:
                ok, reason = False, "covered-by-caller"
                detail = (f"converted as part of {outer} (saves {convert_ok.get(outer, 0):.3f} s; this function alone "
                          f"{convert_ok[c.function]:.3f} s): a decorator here too would be redundant")
                if inside:
                    margin = inside.get("margin_s")
                    detail += (f"; also converting it inside {outer} was measured: {inside['gain_s']:+.3f} s, "
                               + (f"under the {margin:.3f} s noise margin" if margin is not None else "not a clear gain"))
        elif ok and c.action == "convert" and c.function not in chosen:
            ok, reason = False, "callees-better"
            detail = f"converting its callees ({', '.join(better.get(c.function, []))}) saves more than converting it"
        if m.skipped and m.skipped_by not in chosen:  # the caller it was left to was rejected after all
            reason, detail = "not-measured", f"{m.skipped}; but {m.skipped_by} was not recommended in the end"
        if not ok:
            rejected.append(Rejection(c.function, c.file, c.line, reason, detail, evidence))
            continue
        settings = m.settings or c.trial_settings
        if c.action == "dehybridize":
            settings = Settings()
        level, why = confidence(m)
        evidence["confidence_notes"] = why
        nested_inside = sorted(k for k, v in covered.items() if v == c.function and k not in kept_inside)
        if nested_inside:
            evidence["nested"] = {"covers": nested_inside,
                                  "note": "its callees run inside this graph: converting them too is redundant"}
        recs.append(Recommendation(
            rank=0, id=0, function=c.function, file=c.file, line=c.line, action=c.action,  # type: ignore[arg-type]
            decorator="" if c.action == "dehybridize" else render_decorator(settings),
            settings=settings, speedup=_round(recommended_speedup(m), 3),
            saved_s=_round(m.total_saved_s() if nested_gain is None else nested_gain, 4), calls=m.base.calls,
            traces_before=m.base.traces if c.action != "convert" else 0,
            traces_after=(m.trial.traces if m.trial is not None else None) if c.action != "dehybridize" else 0,
            confidence=level, evidence=evidence))
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


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _evidence(m: Measurement) -> dict[str, Any]:
    c = m.candidate
    fn = c.profile
    report = c.static or {}
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
        "profile_calls": fn.get("calls"),
        "shapes": shapes_seen(fn),
        "signatures": len(fn.get("signatures") or []),
        "tests": list(fn.get("tests") or [])[:20],
        "tests_count": len(fn.get("tests") or []),
        "coverage": {"lines_covered": fn.get("lines_covered"), "lines_total": fn.get("lines_total")},
        "static_verdict": report.get("verdict", "unknown"),
        "findings": [{"code": f.get("code"), "severity": f.get("severity"), "line": f.get("line"),
                      "message": f.get("message")} for f in report.get("findings", [])][:10],
        "assumptions": list(c.assumptions),
        "results_check": m.results_check,
        "results_detail": m.results_detail,
    }
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
    instances = _instances(m)
    if instances is not None:
        ev["instances"] = instances
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
    return ev
