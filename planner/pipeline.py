"""``hybridize profile`` after the traced run: analyse, try, rank, write ``plan.json``, print the report.

Runs, in order (each a real run of the user's command with conversions applied in memory):

1. baseline: every candidate timed eagerly as it is (the eager oracle: outputs digested for comparison);
2. one run per nesting level of the candidate call graph (a function is never measured while a
   converted caller hides it), each converting that level's candidates with the derived settings; the
   first calls of each conversion whose source shows no randomness or state change are replayed
   eagerly in the same run (``run_functions_eagerly(True)``) and the outputs compared;
3. bisection of any test that passed at baseline and fails under conversion, down to the conversion
   (with a user's ``--budget``, only while it lasts: the rest are rejected as ``not-isolated``; the
   baseline and the first level always run, the other levels while a user's budget lasts, all of them
   under the default budget);
4. within ``--budget``: alternative settings (the best other choice) for the conversions that paid, kept
   only where they win; then ``jit_compile=True`` where it can pay (``xla.py``, past the default budget);
5. when the test command is not the performance command, one correctness run of the test command
   with the conversions that would be recommended, restricted to the test files that call them
   (then bisection).
Ctrl-C keeps what was measured: the plan is written from it, unmeasured candidates marked as such.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from hybridize.plan import PLAN_FILE, Plan, Rejection
from hybridize.planner.assembly import build_plan
from hybridize.planner.budget import telling_line
from hybridize.planner.candidates import Candidate, build_candidates
from hybridize.planner.correctness import run_correctness
from hybridize.planner.earlystop import plan as plan_early_stop
from hybridize.planner.inputs import Inputs, load_inputs
from hybridize.planner.levels import level_fits, levels, run_level
from hybridize.planner.nested import unbeatable_callees_skipped
from hybridize.planner.outputs import output_note
from hybridize.planner.outside import outside_summary
from hybridize.planner.session import Trials
from hybridize.planner.trials import BOOT, TrialResult, output_tail, trial_env
from hybridize.planner.variants import try_variants
from hybridize.planner.warmstart import WarmStarter
from hybridize.planner.workload import calls_per_trace, choose_performance, thin_workload_note
from hybridize.project import Config

MIN_DEFAULT_BUDGET_S = 20.0  # seconds of planning a small project gets for optional runs by default


def default_budget(traced_s: float) -> float:
    """Seconds of planning after which optional runs stop, without a user's ``--budget``: twice the traced run,
    so the whole profile stays near 4x a plain test run (the traced run is about 1.1x one), but at least
    ``MIN_DEFAULT_BUDGET_S``, which buys a small project a few optional runs (a warm-started run of the example
    project is 3-4 s). The baseline, the level runs and the test check always run under it."""
    return max(2.0 * traced_s, MIN_DEFAULT_BUDGET_S)


def performance_command(config: Config, command: list[str], perf_command: list[str] | None,
                        root: Path | None = None) -> list[str]:
    """``--perf``, else ``perf-command`` of ``[tool.hybridize]``, else the only performance suite found under
    ``root`` (``workload.choose_performance``), else the profiled command."""
    return performance_choice(config, command, perf_command, root)[0]


def performance_choice(config: Config, command: list[str], perf_command: list[str] | None,
                       root: Path | None = None) -> tuple[list[str], str]:
    """``performance_command`` and the note saying which suite discovery found (one look at the project)."""
    given = perf_command or config.perf_command
    found, note = choose_performance(root, given)
    return list(given or found or command), note


def start_warm_starter(root: Path, data_dir: Path, command: list[str], perf_command: list[str] | None,
                       config: Config) -> WarmStarter:
    """The warm starter of the trial runs, its server for the performance command already importing TensorFlow."""
    warm = WarmStarter(data_dir / "warm-server.log", boot=[BOOT], root=root)
    warm.prepare(performance_command(config, command, perf_command, root), trial_env())
    return warm


def _budget(budget_s: float | None, config: Config, inputs: Inputs) -> tuple[float, bool, str]:
    """The planning budget, whether it is a user's (``--budget`` or ``budget`` in the config), and its note."""
    budget = budget_s if budget_s is not None else config.budget_s
    if budget is not None:
        return budget, True, f"budget {budget:.0f} s"
    budget = default_budget(float(inputs.meta.get("duration_s") or 0.0))
    return budget, False, (f"default budget {budget:.0f} s (2x the traced run, at least {MIN_DEFAULT_BUDGET_S:.0f} s)"
                           " for optional trials")


def _session(root: Path, data_dir: Path, perf: list[str], command: list[str], inputs: Inputs, config: Config,
             candidates: list[Candidate], console: Console, budget_s: float | None,
             warm: WarmStarter | None) -> Trials:
    """The trial session of this plan: its budget, the traced run's outcomes, a long script's stop rule."""
    budget, user_budget, note = _budget(budget_s, config, inputs)
    baseline_tests = {str(k): str(v.get("outcome") if isinstance(v, dict) else v)
                      for k, v in (inputs.meta.get("tests") or {}).items()}
    trials = Trials(root, data_dir, perf, list(command), candidates, budget, console, baseline_tests,
                    test_exit=int(inputs.meta.get("exit_code", 0) or 0), strict_budget=user_budget, warm=warm)
    trials.notes.append(note)
    trials.traced_s = float(inputs.meta.get("duration_s") or 0.0) or None
    trials.early = plan_early_stop(candidates, perf, list(command), root, config.raw)
    if perf != list(command):  # the optional runs leave room for the test check that follows them
        trials.reserve_s = float(inputs.meta.get("duration_s") or 0.0)
    return trials


def _baseline_failed(trials: Trials, base: TrialResult, inputs: Inputs, early: list[Rejection]) -> bool:
    """When the performance command failed at baseline: every candidate rejected, nothing measured."""
    if not (base.timed_out or (not base.tests and base.exit_code != 0 and
                               base.exit_code != inputs.meta.get("exit_code", 0))):
        return False
    tail = output_tail(trials.work, "baseline")
    reason = (f"was stopped after {base.limit.timeout_s:.0f} s ({base.limit.why})"
              if base.timed_out and base.limit and base.limit.timeout_s else
              "timed out" if base.timed_out else f"exited {base.exit_code}")
    said = telling_line(tail)
    detail = f"the performance command {reason} at baseline: nothing was measured" + (f" ({said})" if said else "")
    trials.console.print(f"[red]hybridize: {escape(detail)}[/red]")
    for c in trials.candidates:
        early.append(Rejection(c.function, c.file, c.line, "baseline-failed", detail))
    trials.measurements.clear()
    return True


def _measure_levels(trials: Trials) -> None:
    """One run per nesting level (past level 0 within a user's budget), then the optional runs."""
    found = levels(trials)
    for i, names in enumerate(found):
        names[:] = unbeatable_callees_skipped(trials, names)
        if names and not level_fits(trials, i, names):
            names.clear()
        if names:
            run_level(trials, i, names)
    try_variants(trials, [names for names in found if names])


def _measure(trials: Trials, inputs: Inputs, early: list[Rejection], scalene: bool) -> int:
    """Every trial run of the plan; the exit status (1 when there was nothing to measure or the baseline failed)."""
    console = trials.console
    if not inputs.functions:
        code = inputs.meta.get("exit_code")
        console.print(f"hybridize: the profile recorded no project function (the command exited {code}): "
                      "nothing to measure", highlight=False)
        return 1
    if not trials.candidates:
        console.print("hybridize: no candidate functions (none received tensors, none is a tf.function)")
        return 0
    base = trials.run_baseline()
    if _baseline_failed(trials, base, inputs, early):
        return 1
    _measure_levels(trials)
    if not base.tests and trials.level_results:  # a script: its printed numbers are its check
        note = output_note(trials.work, "baseline", list(trials.level_results))
        if note:
            trials.notes.append(note)
    if trials.perf != trials.test:
        run_correctness(trials)
    if scalene:
        from hybridize.planner.scalene import scalene_shares

        shares = scalene_shares(trials.root, trials.perf, trials.work, console, trials.candidates)
        for name, share in shares.items():
            if name in trials.measurements:
                trials.measurements[name].scalene = share
    return 0


def _finish_meta(meta: dict[str, Any], trials: Trials, inputs: Inputs, warm: WarmStarter | None,
                 started: float, interrupted: bool, workload_notes: list[str]) -> None:
    """The plan's ``meta``: the runs, the notes, the timings and the warm starts."""
    if warm is not None:
        meta["warm_start"] = {"runs": warm.warm_runs, "cold_runs": warm.cold_runs, "cold_because": warm.cold_because}
        if warm.cold_runs:
            trials.notes.append(f"{warm.cold_runs} trial run(s) started cold: {warm.cold_because}")
    meta.update({"runs": trials.runs, "notes": trials.notes, "planning_s": round(time.monotonic() - started, 2),
                 "profile_duration_s": inputs.meta.get("duration_s"), "interrupted": interrupted,
                 "baseline_s": round(trials.baseline.duration_s, 3) if trials.baseline else None})
    thin = thin_workload_note(trials.perf, trials.test, (calls_per_trace(m.base.calls, (m.trial and m.trial.traces)
                                                                         or m.base.traces)
                                                         for m in trials.measurements.values()))
    meta["workload_notes"] = [*workload_notes, *([thin] if thin else [])]


def run_after_profile(*, root: Path, data_dir: Path, command: list[str], perf_command: list[str] | None,
                      budget_s: float | None, scalene: bool, console: Console, config: Config,
                      warm: WarmStarter | None = None) -> int:
    """Static analysis, trial runs, ``plan.json`` and the printed report; returns the exit status. ``config`` is
    the project's, loaded once by the command; ``warm`` (owned and closed by the caller) forks the trial runs
    from a process that has imported TensorFlow."""
    started = time.monotonic()
    inputs = load_inputs(root, data_dir, config)
    perf, found_note = performance_choice(config, command, perf_command, root)
    candidates, early = build_candidates(inputs.functions, inputs.reports, inputs.static_available, root)
    trials = _session(root, data_dir, perf, command, inputs, config, candidates, console, budget_s, warm)
    meta: dict[str, Any] = {"profile_command": inputs.meta.get("command", command), "test_command": list(command),
                            "budget_s": trials.budget_s, "static_available": inputs.static_available,
                            "candidates": len(candidates), "static_errors": inputs.static_errors[:20],
                            "outside": outside_summary(root, inputs.meta, inputs.functions)}  # hot loops outside calls
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    interrupted = False
    try:
        status = _measure(trials, inputs, early, scalene)
    except KeyboardInterrupt:
        interrupted, status = True, 130
        trials.notes.append("interrupted: the plan holds what was measured before Ctrl-C")
        console.print("[yellow]hybridize: interrupted: writing the plan from what was measured[/yellow]")
    _finish_meta(meta, trials, inputs, warm, started, interrupted, [found_note] if found_note else [])
    plan = build_plan(list(trials.measurements.values()), early, root=root, edges=trials.edges, perf_command=perf,
                      meta=meta, created=created)
    if not interrupted:  # issue #17: hot loops of the main script, extracted into a step and measured
        from hybridize.planner.extraction import run_for_plan

        run_for_plan(plan, root, trials.work, perf, trials.budget_s, meta["baseline_s"],
                     lambda m: console.print(m, highlight=False), strict_budget=trials.strict_budget)
        if not inputs.functions and any(r.action == "extract" for r in plan.recommendations):
            status = 0  # a script with no functions: the extraction is the plan
    plan.save(data_dir / PLAN_FILE)
    from hybridize.planner.report import print_table

    print_table(plan, console, verbose=True)
    console.print(f"[dim]plan written to {escape(str(data_dir / PLAN_FILE))}[/dim]")
    return status


def load_plan(data_dir: Path) -> Plan:
    return Plan.load(data_dir / PLAN_FILE)
