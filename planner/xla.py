"""XLA (``jit_compile=True``) as a measured setting for every function the plan runs as a graph.

XLA fuses many small element-wise ops into few kernels, but compiles once per concrete shape, adds nothing to one
big kernel, can make a Keras train step slower on CPU, and refuses some ops outright. So it is never predicted: it
is tried where it can pay (the graph already won by cutting per-op dispatch, shapes are fixed, enough calls to pay
the compile, no op XLA refuses in the source), and kept only when its outputs match and both estimates save 10 % of
the plain graph (at least the noise margin): the totals, and the fastest calls, each against its own estimate of the
graph; or when they agree in sign and one more run of each side confirms it (``judge`` says why that evidence fits
a graph-vs-graph variant). Every function gets its three numbers (eager, graph, XLA) or the reason XLA was not
tried.
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
# what XLA must save over the plain graph, more than the noise margin: its CPU timings swing with machine load (the
# compile is CPU-bound and slows most), so a small win in one trial run is not evidence
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
    args = m.candidate.static.decorator_args if m.candidate.static is not None else {}
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


def judge(m: Measurement, fr: FunctionResult, baseline: FunctionResult | None = None,
          again: tuple[FunctionResult, FunctionResult] | None = None) -> dict[str, Any]:
    """Eager, graph and XLA totals for ``m`` given the XLA trial ``fr``, and the verdict: ``kept`` when no call
    raised, outputs match and both estimates save ``MIN_XLA_GAIN`` of the plain graph (at least the noise margin):
    the totals, and the fastest calls (``FunctionResult.robust_total``); ``confirm`` when the fastest calls agree
    in sign but under their margin, to be settled by ``again``: a second run of the plain graph and one of XLA
    (``confirm_runs``), each side then judged by the better of its two runs, totals by the same margin, fastest
    calls by sign.

    Each estimate is held to a margin taken from the graph's time by that same estimate (after a repeat, from the
    better of the graph's two runs, the one the comparison uses). A loaded machine inflates the totals (waits for
    other processes) and leaves the fastest calls and the tracing CPU nearly as they are; a margin taken from the
    inflated totals would ask the load-immune estimate to clear a bar raised by the very noise it is immune to, so
    a clear win would be left to a repeat (and dropped where the budget has no room for one).

    Why a repeat settles it: timing noise only adds time, so the better of two runs is each side's closer
    estimate, and a win that one slow graph run made up does not survive. Why the sign of the fastest calls is
    evidence enough after it, unlike for a conversion: this variant changes the kernels of a graph already
    accepted, not the Python dispatch, and a graph of dozens of small kernels rarely runs at its floor (every
    kernel can wait for a thread) while XLA's few fused kernels run near theirs, so the fastest-call estimate
    understates an XLA win."""
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
    graphs, xlas = [graph], [fr]
    if again is not None:
        if not all(r.calls and not r.errors for r in again):
            entry["why"] = "the repeat of the plain graph and XLA measured nothing: not kept"
            return entry
        graphs.append(again[0])
        xlas.append(again[1])
        entry.update(graph_again_s=_r(_total(again[0], calls)), xla_again_s=_r(_total(again[1], calls)))
    best_graph_s = min(t for t in (_total(g, calls) for g in graphs) if t is not None)
    best_xla_s = min(t for t in (_total(x, calls) for x in xlas) if t is not None)
    margin = gain_margin(best_graph_s)
    robust_graphs = [r for r in (g.robust_total(calls) for g in graphs) if r is not None]
    robust_xlas = [r for r in (x.robust_total(calls) for x in xlas) if r is not None]
    fast = min(robust_graphs) - min(robust_xlas) if robust_graphs and robust_xlas else None
    fast_margin = gain_margin(min(robust_graphs)) if robust_graphs else margin
    twice = " (each the better of two runs)" if again is not None else ""
    outputs = compare_replays(fr.replays)
    if outputs[0] not in ("match", "mismatch") and baseline is not None:
        outputs = compare_digests(baseline.digests, fr.digests)
    if outputs[0] == "mismatch":
        entry["why"] = f"outputs differ under XLA: {outputs[1]}"
    elif best_graph_s - best_xla_s <= margin:
        entry["why"] = (f"not faster than the plain graph{twice} by the {margin:.3f} s margin ({MIN_XLA_GAIN:.0%} of "
                        "it, at least the noise margin)")
    elif fast is not None and fast <= 0:
        entry["why"] = (f"the totals say XLA saves {best_graph_s - best_xla_s:.3f} s, its fastest calls say it does "
                        f"not ({fast:+.3f} s{twice}): noise in one run")
    elif fast is not None and fast <= fast_margin and again is None:
        entry.update(confirm=True, why=(f"the totals say XLA saves {graph_s - xla_s:.3f} s, its fastest calls agree "
                                        f"but under their {fast_margin:.3f} s margin ({fast:+.3f} s): both measured "
                                        "again"))
    else:
        entry.update(kept=True, why=f"{best_graph_s / best_xla_s:.2f}x faster than the plain graph{twice}; "
                                    f"outputs {outputs[0]}")
    return entry


def gain_margin(graph_s: float) -> float:
    """What XLA must save over a plain graph that took ``graph_s`` by some estimate."""
    return max(noise_margin(graph_s), MIN_XLA_GAIN * graph_s)


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
    again once; a verdict left to confirm gets one more run of the plain graph and of XLA (``confirm_runs``). Past the
    default budget too (it is the setting a hand placement misses), never past a user's. ``trials`` is the
    session's ``Trials``."""
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
                                             digests=True, cold=True)
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
            unsure = {n: s for n, s in chosen.items() if n not in raised and (trials.measurements[n].xla or {}).get("confirm")}
            if unsure:
                confirm_runs(trials, i, unsure, result)
            break


def confirm_runs(trials: Any, index: int, unsure: dict[str, Settings], xla_run: TrialResult) -> None:
    """The plain graph, then XLA, of each function whose XLA verdict ``judge`` left to confirm, each measured once
    more (one run each, the others timed as they are, as in the XLA run), and the verdict given on the better run
    of each side."""
    assert trials.baseline is not None
    if trials.strict_budget and not trials._optional_run_fits():
        for n in unsure:
            xla = trials.measurements[n].xla or {}
            xla.update(confirm=False, why=xla.get("why", "") + "; budget reached before the repeat: not kept")
        return
    results: list[TrialResult] = []
    for label, jit in ((f"xla{index}-graph-again", False), (f"xla{index}-xla-again", True)):
        targets = []
        for c in trials.candidates:
            m = trials.measurements.get(c.function)
            if c.function in unsure and m is not None and (jit or c.action != "dehybridize"):
                targets.append(c.target("graph", unsure[c.function] if jit else current_settings(m)))
            else:  # the others, and an existing tf.function kept as a graph, run as they are
                targets.append(c.target("time"))
        results.append(trials.run(label, trials.perf, targets, digests=True, cold=True))
        if trials._broke(results[-1]):
            break
    broke = len(results) < 2 or trials._broke(results[-1])
    for n, settings in unsure.items():
        m = trials.measurements[n]
        if broke:
            entry = {**(m.xla or {}), "confirm": False}
            entry["why"] = entry.get("why", "") + "; the repeat broke the run: not kept"
        else:
            entry = judge(m, xla_run.func(n), trials.baseline.func(n), again=(results[0].func(n), results[1].func(n)))
            entry["tried"] = True
        m.xla = entry
        for alt in m.alternatives:
            if alt.get("variant") == "jit_compile":
                alt["kept"] = entry["kept"]
        if entry["kept"]:  # the plan's numbers from the first XLA run, not the better of two (no optimistic pick)
            adopt(m, settings, xla_run.func(n), xla_run.label)
