"""XLA (``jit_compile=True``) as a measured setting for every function the plan runs as a graph.

XLA fuses many small element-wise ops into few kernels (1.6x over a plain graph for ~60 small ops, measured), but
compiles once per concrete shape (11-156 ms), adds nothing to one big kernel, made a Keras train step slower on CPU,
and refuses some ops outright. So it is never predicted: it is tried where it can pay (the graph already won by
cutting per-op dispatch, shapes are fixed, enough calls to pay the compile, no op XLA refuses in the source), and
kept only when both estimates (the totals and the fastest calls) say it beats the plain graph by 10 % (at least
the noise margin) and its outputs match. Every function gets its three numbers (eager, graph, XLA) or the
reason XLA was not tried.
"""

from __future__ import annotations

from typing import Any

from hybridize.plan import Settings
from hybridize.planner.acceptance import accepted
from hybridize.planner.compare import compare_digests, compare_replays
from hybridize.planner.measurement import Measurement, noise_margin
from hybridize.planner.nesting import nesting
from hybridize.planner.trials import FunctionResult, TrialResult

MIN_GRAPH_GAIN = 1.2  # eager / graph per call: below this the graph saved little dispatch (few ops, big kernels)
MIN_STEADY_CALLS = 5  # XLA compiles per shape: calls to pay that back
# what XLA must save over the plain graph (like any other variant): XLA's CPU timings swing with machine load (a
# 1.04x win measured in a trial run was 0.5x in fresh processes minutes later), so a small win is not kept
MIN_XLA_GAIN = 0.10
# source markers of ops XLA cannot compile (host callbacks, strings, dynamic shapes, sparse/ragged, I/O, printing)
UNSUPPORTED = ("py_function", "numpy_function", "tf.strings", "tf.io.", "tf.print", "tf.data", "tf.unique",
               "tf.boolean_mask", "tf.sparse", "tf.ragged", "tf.py_func", "tf.summary", "StringLookup", "tf.image.decode")


def graph_role(m: Measurement) -> str:
    """"convert"/"tune" when the plan would run it as a new graph, "kept" for an existing tf.function it keeps,
    "" when it stays eager (nothing for XLA to compile)."""
    c = m.candidate
    if m.failure or m.crash or m.trial is None or m.trial.calls == 0:
        return ""
    if c.action in ("convert", "tune"):
        return c.action if accepted(m) else ""
    return "kept" if not accepted(m) else ""  # a removal the evidence rejects keeps the graph


def graph_and_eager(m: Measurement) -> tuple[FunctionResult | None, FunctionResult | None]:
    """(graph, eager) results of a measurement, whichever side the baseline ran."""
    if m.candidate.action == "dehybridize":
        return m.base, m.trial
    return m.trial, m.base


def _total(fr: FunctionResult | None, calls: int) -> float | None:
    if fr is None or fr.calls == 0:
        return None
    if fr.calls == calls:
        return fr.time_s
    return fr.trace_time_s + (fr.per_call_s() or 0.0) * max(calls - fr.trace_calls, 0)


def skip_reason(m: Measurement, sources: list[tuple[str, str]]) -> str:
    """Why ``jit_compile=True`` cannot pay or cannot compile here, or "" to try it."""
    graph, eager = graph_and_eager(m)
    if graph is None or eager is None:
        return "no graph measurement"
    settings = current_settings(m)
    args = (m.candidate.static or {}).get("decorator_args") or {}
    other = sorted(set(args) - {"reduce_retracing", "experimental_relax_shapes", "jit_compile"}) \
        if m.candidate.current is not None and isinstance(args, dict) else []
    if other:
        return f"its decorator also sets {', '.join(other)}: a retuned decorator would drop it"
    if settings.jit_compile is not None:
        return f"jit_compile={settings.jit_compile} already set"
    for where, text in sources:
        hit = next((mk for mk in UNSUPPORTED if mk in text), None)
        if hit is not None:
            return f"`{hit.rstrip('.(')}` in {where}: an op XLA cannot compile"
    if shapes_vary(m):
        return "tensor shapes vary between calls: XLA would compile once per concrete shape"
    if graph.steady_calls < MIN_STEADY_CALLS:
        return f"{graph.steady_calls} steady graph call(s): too few to pay back an XLA compile"
    g, e = graph.per_call_s(), eager.per_call_s()
    if not g or not e or e / g < MIN_GRAPH_GAIN:
        gain = f"{e / g:.2f}x" if g and e else "unknown"
        return (f"the graph gained {gain} per call over eager: few ops per call (a big kernel dominates), "
                "nothing for XLA to fuse")
    return ""


def shapes_vary(m: Measurement) -> bool:
    """Whether a tensor argument took several shapes on the performance command (its baseline's signatures; the
    settings' merged shapes, which include the tests' calls, only when the baseline recorded none)."""
    sigs = m.base.signatures
    if not sigs:
        shapes = m.candidate.choice.shapes if m.candidate.choice is not None else {}
        return any(s is None or None in s for s in shapes.values())
    seen: dict[str, set[Any]] = {}
    for sig in sigs:
        for name, arg in (sig.get("args") or {}).items():
            if isinstance(arg, dict) and arg.get("kind") in ("tensor", "ndarray", "variable"):
                shape = arg.get("shape")
                seen.setdefault(name, set()).add(None if shape is None else tuple(shape))
    return any(len(v) > 1 or None in v for v in seen.values())


def current_settings(m: Measurement) -> Settings:
    c = m.candidate
    if graph_role(m) == "kept" or c.action == "dehybridize":
        return c.current or Settings()
    return m.settings or c.trial_settings


def with_jit(settings: Settings) -> Settings:
    return Settings(reduce_retracing=settings.reduce_retracing, input_signature=settings.input_signature,
                    autograph=settings.autograph, jit_compile=True)


def judge(m: Measurement, fr: FunctionResult, baseline: FunctionResult | None = None) -> dict[str, Any]:
    """Eager, graph and XLA totals for ``m`` given the XLA trial ``fr``; ``kept`` only when the totals and the
    fastest calls both say XLA beats the graph by ``MIN_XLA_GAIN`` (at least the noise margin), no call raised
    and outputs match."""
    graph, eager = graph_and_eager(m)
    calls = m.base.calls
    graph_s, eager_s, xla_s = _total(graph, calls), _total(eager, calls), _total(fr, calls)
    entry: dict[str, Any] = {"eager_s": _r(eager_s), "graph_s": _r(graph_s), "xla_s": _r(xla_s), "kept": False}
    if fr.errors:
        entry["why"] = f"XLA failed: {next(iter(fr.errors))}"
        return entry
    if graph_s is None or xla_s is None or graph is None:
        entry["why"] = "not measured under XLA"
        return entry
    margin = max(noise_margin(graph_s), MIN_XLA_GAIN * graph_s)
    robust_graph, robust_xla = graph.robust_total(calls), fr.robust_total(calls)
    fast = None if robust_graph is None or robust_xla is None else robust_graph - robust_xla - margin
    outputs = compare_replays(fr.replays)
    if outputs[0] not in ("match", "mismatch") and baseline is not None:
        outputs = compare_digests(baseline.digests, fr.digests)
    if outputs[0] == "mismatch":
        entry["why"] = f"outputs differ under XLA: {outputs[1]}"
    elif graph_s - xla_s <= margin:
        entry["why"] = (f"not faster than the plain graph by the {margin:.3f} s margin ({MIN_XLA_GAIN:.0%} of it, at "
                        "least the noise margin)")
    elif fast is not None and fast <= 0:
        entry["why"] = (f"the totals say XLA saves {graph_s - xla_s:.3f} s, its fastest calls do not clear the "
                        f"margin ({fast + margin:+.3f} s): noise in one run")
    else:
        entry.update(kept=True, why=f"{graph_s / xla_s:.2f}x faster than the plain graph; outputs {outputs[0]}")
    return entry


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def adopt(m: Measurement, settings: Settings, fr: FunctionResult, label: str) -> None:
    """Make the XLA settings the plan's choice (an existing tf.function it keeps becomes a ``tune``)."""
    c = m.candidate
    if c.action == "dehybridize":
        c.action = "tune"
    m.trial, m.run, m.settings = fr, label, settings
    if c.choice is not None:
        c.choice.notes.append("jit_compile=True measured faster than the plain graph (XLA fuses its small ops)")


def try_xla(trials: Any, levels: list[list[str]]) -> None:
    """One run per nesting level converting, with ``jit_compile=True``, every function of it the plan runs as a
    graph and ``skip_reason`` lets through; a function that raised under XLA is dropped and the rest measured
    again once. Past the default budget too (it is the setting a hand placement misses), never past a user's.
    ``trials`` is the pipeline's ``Trials``."""
    assert trials.baseline is not None
    covered = nesting(list(trials.measurements.values()), trials.edges)[1]
    for i, names in enumerate(levels):
        chosen: dict[str, Settings] = {}
        for n in names:
            m = trials.measurements[n]
            if not graph_role(m) or (n in covered and not any(v.get("kept") for v in m.inside.values())):
                continue  # eager in the plan, or inlined into a converted caller's graph
            why = skip_reason(m, trials._bodies(m.candidate))
            if why:
                m.xla = {"tried": False, "why": why}
                continue
            chosen[n] = with_jit(current_settings(m))
        for attempt in range(2):
            if not chosen:
                break
            if trials.strict_budget and not trials._optional_run_fits():
                trials.notes.append(f"budget reached: jit_compile not tried for level {i} ({', '.join(sorted(chosen))})")
                return
            targets = []
            for c in trials.candidates:
                if c.function in chosen:
                    target = c.target("graph", chosen[c.function])
                    if trials.replayable(c) is None:
                        target["replay"] = 2
                    targets.append(target)
                else:
                    targets.append(c.target("time"))
            result: TrialResult = trials.run(f"xla{i}" + ("-again" if attempt else ""), trials.perf, targets,
                                             digests=True)
            raised = {n for n in chosen if result.func(n).errors}
            for n in raised:
                trials.measurements[n].xla = judge(trials.measurements[n], result.func(n))
            if trials._broke(result):
                if raised and attempt == 0:
                    chosen = {n: s for n, s in chosen.items() if n not in raised}
                    continue
                for n in chosen:
                    if n not in raised:
                        trials.measurements[n].xla = {"tried": True, "kept": False, "why": "XLA broke the run"}
                break
            for n, settings in chosen.items():
                if n in raised:
                    continue
                m = trials.measurements[n]
                entry = judge(m, result.func(n), trials.baseline.func(n))
                entry["tried"] = True
                m.xla = entry
                m.alternatives.append({"variant": "jit_compile", "settings": settings.to_json(), "kept": entry["kept"],
                                       "saved_s": None, "traces": result.func(n).traces})
                if entry["kept"]:
                    adopt(m, settings, result.func(n), result.label)
            break
