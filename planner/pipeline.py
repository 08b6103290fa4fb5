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

import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from hybridize.errors import HybridizeError
from hybridize.plan import PLAN_FILE, Plan, Rejection, Settings
from hybridize.planner.budget import describe_failure, run_limit, telling_line
from hybridize.planner.candidates import Candidate, build_candidates, per_instance_detail, refine
from hybridize.planner.decide import (
    MIN_NESTED_GAIN_S,
    NOT_ISOLATED,
    Measurement,
    accepted,
    build_plan,
    compare_digests,
    compare_replays,
    nesting,
    noise_margin,
)
from hybridize.planner.earlystop import EarlyStop
from hybridize.planner.earlystop import plan as plan_early_stop
from hybridize.planner.fallback import must_try, retry_level
from hybridize.planner.outputs import output_note
from hybridize.planner.outside import outside_summary
from hybridize.planner.removal import removal_evidence
from hybridize.planner.trials import BOOT, TrialResult, output_tail, run_trial, trial_env
from hybridize.planner.warmstart import WarmStarter
from hybridize.planner.workload import calls_per_trace, choose_performance, thin_workload_note
from hybridize.planner.xla import try_xla
from hybridize.project import Config, load_config
from hybridize.tracer.cells import module_text

DIGEST_CALLS = 3
REPLAY_CALLS = 2  # calls per converted function replayed eagerly in the same run (the in-run oracle)
NESTED_MIN_CALLS_PER_TRACE = 2.0  # a callee run this often per caller trace is worth trying converted inside it
# Source markers of randomness or state changes: replaying such a call would change the program or differ
# by design, so its outputs are not replayed ("inconclusive" instead).
STATEFUL_MARKERS = ("random", "dropout", "Dropout", ".assign", "apply_gradients", "optimizer", ".append(",
                    ".extend(", ".update(", ".add(", "global ", "nonlocal ", "print(", "training", "py_function",
                    "numpy_function", "Variable(", "setattr(", "open(", "yield")
MAX_BISECT_RUNS = 12
MIN_DEFAULT_BUDGET_S = 20.0  # seconds of planning a small project gets for optional runs by default


@dataclass
class Inputs:
    functions: list[dict[str, Any]]
    meta: dict[str, Any]
    reports: list[dict[str, Any]]
    static_available: bool
    static_errors: list[str] = field(default_factory=list)


def load_inputs(root: Path, data_dir: Path) -> Inputs:
    """The profile (tracer) and the static reports; a profile of another project is refused."""
    try:
        from hybridize.tracer.store import load_profile
    except ImportError:
        raise HybridizeError("the tracer is not installed: cannot read the profile") from None
    profile = load_profile(data_dir)
    meta = dict(profile.meta)
    prof_root = meta.get("root")
    if prof_root and Path(str(prof_root)).resolve() != root.resolve():
        raise HybridizeError(f"the profile in {data_dir} is of another project ({prof_root}): run `hybridize profile` here")
    config = load_config(root)
    reports: list[dict[str, Any]] = []
    static_ok = True
    errors: list[str] = []
    try:
        from hybridize.static import analyze

        analysis = analyze(root, [root / p for p in config.paths] or None, config.exclude)
        reports = [f.to_json() for f in analysis.functions]
        errors = [f"{e.file}:{e.line}: {e.message}" for e in getattr(analysis, "errors", [])]
    except ImportError:
        static_ok = False
    return Inputs(list(profile.functions), meta, reports, static_ok, errors)


class Trials:
    """Owns the runs of one planning session, the budget and the measurements so far."""

    def __init__(self, root: Path, data_dir: Path, perf: list[str], test: list[str], candidates: list[Candidate],
                 budget_s: float | None, console: Console, baseline_tests: dict[str, str],
                 timeout_s: float | None = None, test_exit: int = 0, strict_budget: bool = False,
                 warm: WarmStarter | None = None) -> None:
        self.root = root
        self.work = data_dir / "trials"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True, exist_ok=True)
        self.perf = perf
        self.test = test
        self.candidates = candidates
        self.by_name = {c.function: c for c in candidates}
        self.budget_s = budget_s
        self.strict_budget = strict_budget  # a user's --budget: also caps isolation runs and the nested-callee run
        self._last_isolation_s = 0.0  # duration of the last bisection run: the estimate for the next one
        self.console = console
        self.started = time.monotonic()
        self.runs: list[dict[str, Any]] = []
        self.baseline: TrialResult | None = None
        self.test_baseline = dict(baseline_tests)  # the test command's outcomes in the profile run
        self.perf_baseline: dict[str, str] = {}  # the performance command's outcomes in the baseline trial
        self.test_exit = test_exit  # the test command's exit status in the profile run
        self.measurements: dict[str, Measurement] = {}
        self.notes: list[str] = []
        self.timeout_s = timeout_s
        self.traced_s: float | None = None  # the traced run's seconds: the baseline run's limit comes from it
        self.edges: dict[tuple[str, str], int] = {}
        self._replay_cache: dict[str, str | None] | None = None
        self.level_results: dict[str, TrialResult] = {}
        self.descendants: dict[str, set[str]] = {}
        self.reserve_s = 0.0  # kept for the test check (and its isolation), which comes after the optional runs
        self.rescue_runs = 0  # isolation runs allowed past a spent --budget (the test check's, which gates the plan)
        self.warm = warm
        self.early: EarlyStop | None = None  # the stop rule of a long script's runs (planner.earlystop)

    # -- running -------------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def has_budget(self, estimate: float) -> bool:
        return self.budget_s is None or self.elapsed() + estimate <= self.budget_s

    def _over_budget(self) -> bool:
        return self.strict_budget and not self.has_budget(self._last_isolation_s)

    def isolation_allowed(self, what: str) -> bool:
        """Whether one more isolation run fits the user's budget (or a last run granted past it is left); notes
        (once per kind of work) when not."""
        if not self._over_budget() or self.rescue_runs > 0:
            return True
        note = f"budget reached: {what} stopped (the still-suspect conversions are rejected as not-isolated)"
        if note not in self.notes:
            self.notes.append(note)
        return False

    def run(self, label: str, command: list[str], targets: list[dict[str, Any]], *,
            only_tests: list[str] | None = None, digests: bool = False, signatures: bool = False) -> TrialResult:
        changed = [str(t["function"]).partition(":")[2] for t in targets if t["mode"] != "time"]
        shown = ", ".join(changed[:3]) + (f" +{len(changed) - 3}" if len(changed) > 3 else "")
        self.console.print(f"[dim]hybridize: trial {label}: {len(changed)} of {len(targets)} function(s) changed"
                           f"{f' ({escape(shown)})' if changed else ''}"
                           f"{f', {len(only_tests)} test(s)' if only_tests else ''}[/dim]", highlight=False)
        left = self.budget_s - self.elapsed() if self.strict_budget and self.budget_s is not None else None
        limit = run_limit(baseline_s=self.baseline.duration_s if self.baseline else None, traced_s=self.traced_s,
                          remaining_s=left, explicit_s=self.timeout_s)
        result = run_trial(command, root=self.root, work_dir=self.work, label=label, targets=targets,
                           timeout_s=limit.timeout_s, only_tests=only_tests, digest_calls=DIGEST_CALLS if digests else 0,
                           record_signatures=signatures, warm=self.warm,
                           stop=self.early.rule() if self.early is not None and command == self.perf else None)
        result.limit = limit
        if self.early is not None:
            self.early.extrapolate(result)  # a stopped run's totals, to the whole script
        summary = result.summary()
        summary["functions_converted"] = len(changed)
        self.runs.append(summary)
        return result

    def targets(self, converted: dict[str, Settings | None], eager: set[str] | None = None,
                replay: bool = False) -> list[dict[str, Any]]:
        """Every candidate: the ``converted`` ones in their trial mode (with settings), the rest timed as they are;
        with ``replay``, the replayable conversions also re-run their first calls eagerly (the in-run oracle)."""
        out = []
        for c in self.candidates:
            if c.function in converted:
                mode = "eager" if c.action == "dehybridize" or c.function in (eager or ()) else "graph"
                target = c.target(mode, converted[c.function])
                if replay and mode == "graph" and self.replayable(c) is None:
                    target["replay"] = REPLAY_CALLS
                out.append(target)
            else:
                out.append(c.target("time"))
        return out

    # -- steps ---------------------------------------------------------------------------------------------
    def run_baseline(self) -> TrialResult:
        base = self.run("baseline", self.perf, self.targets({}), digests=True, signatures=True)
        self.baseline = base
        note = self.early.after_baseline(base.stopped) if self.early is not None else None
        if note:
            self.notes.append(note)
        for key, n in base.edges.items():
            self.edges[key] = self.edges.get(key, 0) + n
        self.perf_baseline = {k: str(v.get("outcome")) for k, v in base.tests.items()}
        if not self.perf_baseline and self.perf == self.test:
            self.perf_baseline = dict(self.test_baseline)
        for c in self.candidates:
            fr = base.func(c.function)
            refine(c, fr.signatures, fr.traces if c.current is not None else None, fr)
            self.measurements[c.function] = Measurement(c, fr, per_instance=per_instance_detail(c, fr))
            if c.function in base.unreachable and c.function not in base.patched:
                # not patched anywhere: no conversion run will try what apply would produce
                self.measurements[c.function].unreachable = base.unreachable[c.function]
                self.measurements[c.function].base = type(fr)()
        return base

    def levels(self) -> list[list[str]]:
        """Candidates grouped so that no group holds a caller and its callee (longest-path depth)."""
        names = [c.function for c in self.candidates]
        children: dict[str, set[str]] = {n: set() for n in names}
        for (a, b), _ in self.edges.items():
            if a in children and b in children and a != b:
                children[a].add(b)
        for c in self.candidates:
            for callee in (c.static or {}).get("calls", []) or []:
                if callee in children and callee != c.function:
                    children[c.function].add(callee)
        self.descendants = {}
        for n in names:  # transitive callees: a run may not convert a function and one of these together
            seen: set[str] = set()
            stack = list(children[n])
            while stack:
                d = stack.pop()
                if d not in seen and d != n:
                    seen.add(d)
                    stack.extend(children[d])
            self.descendants[n] = seen
        depth: dict[str, int] = {n: 0 for n in names}
        for _ in range(len(names)):  # relax (bounded: cycles stop growing at len(names))
            changed = False
            for a in names:
                for b in children[a]:
                    if depth[b] < depth[a] + 1 and depth[a] + 1 < len(names):
                        depth[b] = depth[a] + 1
                        changed = True
            if not changed:
                break
        exercised = [n for n in names if self.measurements[n].base.calls > 0 and not self.measurements[n].per_instance]
        groups: dict[int, list[str]] = {}
        for n in exercised:
            groups.setdefault(depth[n], []).append(n)
        return [groups[k] for k in sorted(groups)]

    def newly_failing(self, result: TrialResult, reference: dict[str, str] | None = None) -> dict[str, str]:
        """Tests that passed at baseline (of the same command) and fail in ``result``."""
        ref = self.perf_baseline if reference is None else reference
        return {t: msg for t, msg in result.failed_tests().items() if ref.get(t) == "passed"}

    def _crashed(self, result: TrialResult) -> bool:
        """The run timed out, or a command without tests exited otherwise than at baseline (its numbers are partial)."""
        assert self.baseline is not None
        return result.timed_out or (not result.tests and result.exit_code != self.baseline.exit_code)

    def _broke(self, result: TrialResult) -> bool:
        """A test that passed at baseline fails, or the run crashed."""
        return bool(self.newly_failing(result)) or self._crashed(result)

    def _optional_run_fits(self) -> bool:
        """Whether one more optional run (estimated as 1.2 baseline runs) fits the budget, the test check's room kept."""
        assert self.baseline is not None
        return self.has_budget(self.baseline.duration_s * 1.2 + self.reserve_s)

    def related(self, a: str, b: str) -> bool:
        return a == b or b in self.descendants.get(a, ()) or a in self.descendants.get(b, ())

    def level_fits(self, index: int, names: list[str]) -> bool:
        """Whether the run of level ``index`` fits a user's ``--budget`` (estimated as one baseline run, with room
        kept for the test check); notes the functions left unmeasured when not. The first level always runs (a plan
        with no measurement would recommend nothing whatever the budget), and without a user's budget so do all:
        the default budget only limits optional runs."""
        assert self.baseline is not None
        if index == 0 or not self.strict_budget or self.has_budget(self.baseline.duration_s + self.reserve_s):
            return True
        self.notes.append(f"budget reached: level {index} not measured ({len(names)} function(s): "
                          f"{', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
        for n in names:
            self.measurements[n].not_measured = (f"the --budget of {self.budget_s:.0f} s was spent before its run "
                                                 f"(nesting level {index}); a larger budget measures it")
        return False

    def run_level(self, index: int, names: list[str]) -> None:
        """Measure one level's conversions; the next settings of functions measured at earlier levels ride
        along when no converted function of this level calls them or is called by them (a run saved)."""
        assert self.baseline is not None
        converted: dict[str, Settings | None] = {n: self.by_name[n].trial_settings for n in names}
        riders = {n: v for n, v in self.variant_choices("variants").items()
                  if n not in converted and not any(self.related(n, x) for x in converted)}
        if riders:
            targets = self.targets({**converted, **{n: s for n, (_, s) in riders.items()}},
                                   {n for n, (v, _) in riders.items() if v == "dehybridize"}, replay=True)
            result = self.run(f"level{index}", self.perf, targets, digests=True)
            if not self._broke(result):
                for n, (variant, settings) in riders.items():
                    self._judge_variant(n, variant, settings, result)
                self._after_level(index, names, converted, result)
                return
            self.notes.append(f"other settings broke the run of level {index}: measured again without them")
            for n, (variant, settings) in riders.items():
                self._variant_broke_run(n, variant, settings)
        label = f"level{index}-alone" if riders else f"level{index}"
        result = self.run(label, self.perf, self.targets(converted, replay=True), digests=True)
        self._after_level(index, names, converted, result)

    def _after_level(self, index: int, names: list[str], converted: dict[str, Settings | None],
                     result: TrialResult) -> None:
        assert self.baseline is not None
        self.level_results[result.label] = result
        self._absorb(result, names, converted)
        self._check_failures(result, names, converted, self.perf, f"level{index}")
        self._retry_plain(index, names, self._crashed(result))

    def _retry_plain(self, index: int, names: list[str], crashed: bool) -> None:
        """After isolating a failing level run's culprits, measure again with each on its next settings
        (``fallback.retry_level``: a float spec, relaxed shapes, plain, removal) before rejecting it."""
        retry_level(self, index, names, crashed)

    def _credit_backward(self, result: TrialResult, names: list[str]) -> None:
        """Credit the change in ``tape.gradient`` time outside every wrapped function to this run's conversions
        that a tape recorded (their backward pass), in proportion to their eager time under a tape. No credit
        when another change of the run (a rider) was recorded too, when the runs made different numbers of
        gradient calls, or when the change is within the noise margin (3 % of the baseline's, at least 2 ms)."""
        assert self.baseline is not None
        for n in names:  # a later run's measurement replaces an earlier run's credit, or its lack of one
            self.measurements[n].backward_saved_s, self.measurements[n].backward = 0.0, None
        base = self.baseline
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
            m = self.measurements[n]
            m.backward_saved_s = share
            m.backward = {"gradient_before_s": round(base.gradient_s, 4), "gradient_after_s": round(result.gradient_s, 4),
                          "gradient_calls": base.gradient_calls, "taped_calls": base.func(n).taped_calls,
                          "share": round(weights[n] / total, 3), "saved_s": round(share, 4),
                          "margin_s": round(margin, 4), "run": result.label}

    def _absorb(self, result: TrialResult, names: list[str], converted: dict[str, Settings | None]) -> None:
        assert self.baseline is not None
        self._credit_backward(result, names)
        for n in names:
            m = self.measurements[n]
            m.trial = result.func(n)
            m.run = result.label
            m.settings = converted[n]
            m.results_check, m.results_detail = compare_digests(self.baseline.func(n).digests, m.trial.digests)
            if m.results_check == "mismatch" and self._draws_random(m.candidate):
                m.results_check = "inconclusive"
                m.results_detail = ("outputs differ, as expected: it draws tf.random numbers, whose stream differs "
                                    "between eager and graph execution (" + m.results_detail + ")")
            replayed = compare_replays(m.trial.replays)
            if replayed[0] in ("match", "mismatch"):  # same inputs by construction: it outranks the cross-run check
                m.results_check, m.results_detail = replayed
            elif m.results_check != "match":
                why = self.replayable(m.candidate)
                if why and m.candidate.action != "dehybridize":
                    m.results_detail += f"; not replayed eagerly: {why}"
                    if m.results_check == "not-checked":
                        m.results_check = "inconclusive"
                elif replayed[0] == "inconclusive":
                    m.results_detail += f"; {replayed[1]}"

    def replayable(self, c: Candidate) -> str | None:
        """None when ``c``'s calls can be replayed eagerly without changing the program, else why not: its
        source (or a project callee's) shows randomness or state changes, or there is no source to read."""
        if self._replay_cache is None:
            self._replay_cache = {}
        if c.function in self._replay_cache:
            return self._replay_cache[c.function]
        why: str | None = None
        if not c.static:
            why = "no source to check for state changes"
        else:
            for rep in self._bodies(c):
                hit = next((mk for mk in STATEFUL_MARKERS if mk in rep[1]), None)
                if hit is not None:
                    why = f"`{hit.strip('(. ')}` in {rep[0]} (randomness or a state change)"
                    break
        self._replay_cache[c.function] = why
        return why

    def _bodies(self, c: Candidate) -> list[tuple[str, str]]:
        """(function, source text) of ``c`` and its project callees, from the static reports' line ranges."""
        reports = [c.static or {}]
        for callee in (c.static or {}).get("calls", []) or []:
            other = self.by_name.get(callee)
            if other is not None and other.static:
                reports.append(other.static)
        out = []
        for rep in reports:
            try:
                lines = module_text(self.root / str(rep.get("file", ""))).splitlines()  # a notebook: its cells in order
            except (OSError, ValueError):
                continue
            start = int(rep.get("line", 1))
            body = "\n".join(lines[start - 1: int(rep.get("end_line", start))])
            out.append((str(rep.get("function", "")).split(":")[-1], body))
        return out

    def _draws_random(self, c: Candidate) -> bool:
        """Whether the function or a project callee calls ``tf.random``/``keras.random`` (read from the source)."""
        return any("tf.random." in body or "keras.random." in body or "stateless_random" in body
                   for _, body in self._bodies(c))

    def _check_failures(self, result: TrialResult, names: list[str], converted: dict[str, Settings | None],
                        command: list[str], label: str) -> None:
        assert self.baseline is not None
        failing = self.newly_failing(result)
        crashed = self._crashed(result)
        if not failing and not crashed:
            return
        suspects = names
        if failing:
            exercised = [n for n in names if set(self.by_name[n].profile.get("tests") or []) & set(failing)]
            errored = [n for n in names if result.func(n).errors]
            suspects = sorted(set(exercised) | set(errored)) or names
        self.console.print(f"[yellow]hybridize: {label}: "
                           f"{f'{len(failing)} test(s) newly failing' if failing else f'exit {result.exit_code}'}"
                           f"; isolating among {len(suspects)} conversion(s)[/yellow]")
        if len(suspects) == 1 and set(converted) == set(suspects):  # the run itself converted only this one
            culprits: dict[str, dict[str, str]] = {suspects[0]: dict(failing)}
        else:
            culprits = self.isolate(command, suspects, converted, failing, label)
        tail = output_tail(self.work, label) if crashed else ""
        for n, tests in culprits.items():
            m = self.measurements[n]
            if tests and ("(command)" not in tests or all(str(v).startswith(NOT_ISOLATED) for v in tests.values())):
                m.failure = tests
            else:
                # its own exception, as the hook saw it leave the converted function, before the run's last line
                # (which belongs to whichever conversion failed last when several did)
                own = next(iter(result.func(n).errors), "")
                m.crash = describe_failure(timed_out=result.timed_out, exit_code=result.exit_code, own_error=own,
                                           baseline_exit=self.baseline.exit_code, limit=result.limit, tail=tail)

    def scope(self, tests: list[str] | None) -> list[str] | None:
        """The tests to run for judging ``tests``: their whole files, in order, so a failure that needs an
        earlier test of the same file (a trace made with another shape) still reproduces."""
        if not tests:
            return tests
        files = {t.split("::")[0] for t in tests}
        known = list(dict.fromkeys([*self.test_baseline, *self.perf_baseline]))
        return list(dict.fromkeys([*(t for t in known if t.split("::")[0] in files), *tests]))

    def isolate(self, command: list[str], suspects: list[str], converted: dict[str, Settings | None],
                failing: dict[str, str], label: str, exit_code: int | None = None) -> dict[str, dict[str, str]]:
        """Blame the conversion behind each failing test: directly when the test calls exactly one converted
        function (the profile knows which tests call what), by bisection otherwise, the conversions that save
        most in the first half (what a budget cut off keeps)."""
        culprits: dict[str, dict[str, str]] = {}
        rest: dict[str, str] = {}
        for test, msg in failing.items():
            callers = [n for n in suspects if test in (self.by_name[n].profile.get("tests") or [])]
            if len(callers) == 1:
                culprits.setdefault(callers[0], {})[test] = msg
            else:
                rest[test] = msg
        if rest or not failing:
            pool = sorted({n for n in suspects if set(self.by_name[n].profile.get("tests") or []) & set(rest)}) or suspects
            pool.sort(key=lambda n: -(self.measurements[n].saved_s() or 0.0) if n in self.measurements else 0.0)
            found = self.bisect(command, pool, converted, list(rest) or None, label, [0], None, exit_code)
            for n, tests in found.items():
                culprits.setdefault(n, {}).update(tests)
        return culprits

    def bisect(self, command: list[str], names: list[str], converted: dict[str, Settings | None],
               tests: list[str] | None, label: str, counter: list[int], reference: dict[str, str] | None = None,
               exit_code: int | None = None) -> dict[str, dict[str, str]]:
        """Conversions that on their own make ``tests`` fail (or the command fail): halving, a run per half.

        With ``tests`` (pytest), each run is restricted to those tests, so a bisection step costs a few
        tests, not the suite. A failure that needs two conversions together rejects the whole group.
        """
        if not self.isolation_allowed("isolation of failing conversions"):
            return {n: dict.fromkeys(tests or ["(command)"], f"{NOT_ISOLATED} (budget spent)") for n in names}
        if len(names) == 1:
            failing = self._fails(command, names, converted, tests, label, counter, exit_code)
            return {} if failing is None else {names[0]: failing}
        if counter[0] >= MAX_BISECT_RUNS:
            return {n: dict.fromkeys(tests or ["(command)"], f"{NOT_ISOLATED} (bisection run limit)") for n in names}
        half = len(names) // 2
        out: dict[str, dict[str, str]] = {}
        any_failed = skipped = False
        for part in (names[:half], names[half:]):
            if not self.isolation_allowed("isolation of failing conversions"):
                out.update({n: dict.fromkeys(tests or ["(command)"], f"{NOT_ISOLATED} (budget spent)") for n in part})
                skipped = True
                continue
            failing = self._fails(command, part, converted, tests, label, counter, exit_code)
            if failing is not None:
                any_failed = True
                if len(part) == 1:  # this run already was the conversion alone: no second run of it
                    out[part[0]] = failing
                    continue
                narrowed = [t for t in failing if t in (tests or [])] or tests
                out.update(self.bisect(command, part, converted, narrowed, label, counter, reference, exit_code))
        if not any_failed and not skipped:  # only a combination fails
            return self._combination(command, names, converted, tests, label, counter, exit_code)
        return out

    def _combination(self, command: list[str], names: list[str], converted: dict[str, Settings | None],
                     tests: list[str] | None, label: str, counter: list[int],
                     exit_code: int | None) -> dict[str, dict[str, str]]:
        """Leave one out: the members whose removal fixes the failure are each necessary to it, so rejecting
        the one that saves least breaks the combination; without such members, reject the whole group."""
        necessary: list[str] = []
        if len(names) <= 6 and counter[0] + len(names) <= MAX_BISECT_RUNS + 4:
            for n in names:
                if not self.isolation_allowed("isolation of failing conversions"):
                    return {x: dict.fromkeys(tests or ["(command)"], f"{NOT_ISOLATED} (budget spent)") for x in names}
                if self._fails(command, [x for x in names if x != n], converted, tests, label, counter, exit_code) is None:
                    necessary.append(n)
        if necessary:
            least = min(necessary, key=lambda n: self.measurements[n].saved_s() or 0.0
                        if n in self.measurements else 0.0)
            partners = ", ".join(x for x in necessary if x != least)
            return {least: dict.fromkeys(tests or ["(command)"], f"fails only together with {partners or 'others'}; "
                                         "rejected as the one that saves least")}
        return {n: dict.fromkeys(tests or ["(command)"], "fails only in combination with other conversions")
                for n in names}

    def _fails(self, command: list[str], part: list[str], converted: dict[str, Settings | None], tests: list[str] | None,
               label: str, counter: list[int], exit_code: int | None = None) -> dict[str, str] | None:
        """Run with only ``part`` converted (restricted to ``tests``): the failures, or None when clean."""
        assert self.baseline is not None
        expected = self.baseline.exit_code if exit_code is None else exit_code
        counter[0] += 1
        if self._over_budget():
            self.rescue_runs -= 1
        started = time.monotonic()
        result = self.run(f"{label}-bisect{counter[0]}", command, self.targets({n: converted.get(n) for n in part}),
                          only_tests=self.scope(tests))
        self._last_isolation_s = time.monotonic() - started
        if tests:
            failing = {t: msg for t, msg in result.failed_tests().items() if t in tests}
            if not result.tests and result.exit_code != 0:
                failing = dict.fromkeys(tests, f"the run exited {result.exit_code}")
            return failing or None
        if result.exit_code != expected or result.timed_out:
            how = "timed out" if result.timed_out else f"exited {result.exit_code} (baseline {expected})"
            return {"(command)": how}
        return None

    def run_correctness(self) -> None:
        """The test command, when it is not the performance command, with every conversion the measurements
        so far would recommend (in its final settings): the others cannot reach the plan, so testing them
        only costs bisection runs. Restricted to the test files that call a converted function (the profile
        records which tests call what) when every converted function has that record."""
        names = [c.function for c in self.candidates if c.function in self.measurements
                 and accepted(self.measurements[c.function])]
        if not names:
            self.notes.append("no conversion paid on the performance command: the test command was not re-run")
            return
        converted: dict[str, Settings | None] = {n: self.measurements[n].settings or self.by_name[n].trial_settings
                                                 for n in names}
        touched = [t for n in names for t in self.by_name[n].profile.get("tests") or []]
        only = None
        if self.test_baseline and touched and all(self.by_name[n].profile.get("tests") for n in names):
            only = self.scope(sorted(set(touched)))
            if only is not None and len(only) >= len(self.test_baseline):
                only = None
        result = self.run("tests", self.test, self.targets(converted), only_tests=only)
        failing = self.newly_failing(result, self.test_baseline)
        if not failing and not result.tests and result.exit_code != self.test_exit:
            failing = {"(test command)": f"exited {result.exit_code} (baseline {self.test_exit})"}
        if not failing:
            return
        exercised = [n for n in names if set(self.by_name[n].profile.get("tests") or []) & set(failing)]
        errored = [n for n in names if result.func(n).errors]
        suspects = sorted(set(exercised) | set(errored)) or names
        self.console.print(f"[yellow]hybridize: tests: {len(failing)} test(s) newly failing; isolating among "
                           f"{len(suspects)} conversion(s)[/yellow]")
        tests = {t: msg for t, msg in failing.items() if t != "(test command)"}
        if self._over_budget():  # else every suspect is lost: one run keeps the half that saves most if it passes
            self.rescue_runs = 1
            self.notes.append("budget reached before the test check failed: one isolation run past it, with the "
                              "suspect conversions that save most")
        culprits = self.isolate(self.test, suspects, converted, tests, "tests", self.test_exit)
        self.rescue_runs = 0
        for n, broken in culprits.items():
            self.measurements[n].failure = broken or {"(test command)": "fails under conversion"}

    def unbeatable_callees_skipped(self, names: list[str]) -> list[str]:
        """``names`` less the callees whose measurement cannot change the plan, each marked as skipped.

        A callee C is skipped when an accepted conversion P, measured at an earlier level, makes every call of C
        (directly or through P's other callees) and P saves more than the whole eager time of everything below it:
        no conversion saves more than its function's eager time, so the nesting choice keeps P whatever C measures.
        A callee P's trace ran repeatedly is still measured (it may pay converted inside P)."""
        keep: list[str] = []
        for n in names:
            m = self.measurements[n]
            for p, outer in self.measurements.items():
                if n not in self.descendants.get(p, ()) or outer.candidate.action != "convert" or not accepted(outer):
                    continue
                inside = {p} | self.descendants.get(p, set())
                from_inside = sum(k for (a, b), k in self.edges.items() if b == n and a in inside)
                if from_inside < m.base.calls:
                    continue  # called from elsewhere too: its own conversion can matter
                if self._calls_per_trace(outer, n) >= NESTED_MIN_CALLS_PER_TRACE:
                    continue
                below = sum(self.measurements[d].base.time_s for d in self.descendants.get(p, ()) if d in self.measurements)
                saved = outer.saved_s() or 0.0
                if saved >= below:
                    m.skipped_by = p
                    m.skipped = (f"not measured alone: every call comes from inside {p}, whose conversion saves "
                                 f"{saved:.3f} s, more than the whole eager time below it ({below:.3f} s): converted "
                                 "as part of it")
                    break
            else:
                keep.append(n)
        if len(keep) < len(names):
            self.notes.append(f"{len(names) - len(keep)} callee(s) not measured alone: their callers' conversions "
                              "cover them whatever they would measure")
        return keep

    def _calls_per_trace(self, outer: Measurement, callee: str) -> float:
        """How often ``outer``'s trace ran ``callee``, in the run that measured ``outer``."""
        run = self.level_results.get(outer.run)
        if run is None:
            return 0.0
        return run.func(callee).nested_calls / max(outer.trial.traces if outer.trial else 1, 1)

    def nested_pairs(self) -> dict[str, list[tuple[str, float]]]:
        """Accepted conversions whose trace ran an accepted callee several times: caller -> [(callee, calls per
        trace)]. Inlined, every call is a copy of the callee's ops in the caller's graph; converted too, the
        callee is traced once and its graph called, so the caller traces (and often runs) faster."""
        pairs: dict[str, list[tuple[str, float]]] = {}
        for (caller, callee), _n in sorted(self.edges.items()):
            if caller == callee or caller not in self.measurements or callee not in self.measurements:
                continue
            outer, inner = self.measurements[caller], self.measurements[callee]
            if outer.candidate.action != "convert" or inner.candidate.action != "convert":
                continue
            if not (accepted(outer) and accepted(inner)) or outer.trial is None or not outer.trial.traces:
                continue
            per_trace = self._calls_per_trace(outer, callee)
            if per_trace >= NESTED_MIN_CALLS_PER_TRACE:
                pairs.setdefault(caller, []).append((callee, per_trace))
        return pairs

    def try_nested(self) -> bool:
        """One run converting each such caller together with its repeated callees; False when out of budget.
        Without a user's ``--budget`` this run is always made: the pairs are found from measurements, rare,
        and worth a lot when present (an RNN cell over time steps: 1.6x on the whole loop)."""
        assert self.baseline is not None
        pairs = self.nested_pairs()
        if not pairs:
            return True
        if self.strict_budget and not self._optional_run_fits():
            self.notes.append("budget reached: converting repeated callees inside their converted callers not tried")
            return False
        converted: dict[str, Settings | None] = {}
        for caller, inner in pairs.items():
            for n in [caller] + [c for c, _ in inner]:
                m = self.measurements[n]
                converted[n] = m.settings or m.candidate.trial_settings
        result = self.run("nested", self.perf, self.targets(converted, replay=True), digests=True)
        if self._broke(result):
            self.notes.append("converting callees inside their converted callers broke the run: not recommended")
            return True
        gains = {caller: self._nested_gain(caller, inner, result) for caller, inner in pairs.items()}
        unsure = [c for c, g in gains.items() if g is not None and 0 < g <= self._nested_margin(c)]
        if unsure and (not self.strict_budget or self._optional_run_fits()):
            # a trace-dominated difference measured once (rnn_sequence: +0.12 to +0.21 s in seven runs, +0.04 s
            # under the 0.06 s margin in one noisy one): kept when a second run agrees, both over half the margin
            again = self.run("nested-again", self.perf, self.targets(converted, replay=True), digests=True)
            if not self._broke(again):
                for caller in unsure:
                    self._nested_gain(caller, pairs[caller], again, first=gains[caller])
        return True

    def _nested_margin(self, caller: str) -> float:
        """The margin every acceptance uses (what noise could make up of the caller's eager time); one in
        proportion to the caller's saving threw away rnn_sequence's 0.12 s of 1.78 s (hybridize at 75 %)."""
        return noise_margin(self.measurements[caller].eager_total(), MIN_NESTED_GAIN_S)

    def _nested_gain(self, caller: str, inner: list[tuple[str, float]], result: TrialResult,
                     first: float | None = None) -> float | None:
        """Record what converting ``inner`` inside ``caller`` gained in ``result``: kept when the gain clears the
        margin, or, on a second run (``first`` is the first run's gain), when both gains clear half of it."""
        outer = self.measurements[caller]
        fr = result.func(caller)
        with_callees = Measurement(outer.candidate, outer.base, fr)
        alone, together = outer.saved_s(), with_callees.saved_s()
        if fr.errors or alone is None or together is None:
            return None
        gain = together - alone
        margin = self._nested_margin(caller)
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
            self.measurements[callee].inside[caller] = entry
        return gain

    def variant_choices(self, round_name: str, names: list[str] | None = None) -> dict[str, tuple[str, Settings | None]]:
        """Each measured function's next untried choice for this round: ``variants`` = removing a retuned
        decorator, or the best other settings (XLA is tried by ``xla.try_xla``)."""
        covered = nesting(list(self.measurements.values()), self.edges)[1]
        chosen: dict[str, tuple[str, Settings | None]] = {}
        for n in names if names is not None else list(self.measurements):
            m = self.measurements[n]
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

    def try_variants(self, levels: list[list[str]]) -> None:
        """Within the budget: repeated callees converted inside their converted callers; then one run per level
        trying, for each function at once, what ``variant_choices`` gives that did not ride along a level run;
        then ``jit_compile=True`` (``xla.try_xla``: last, as XLA refuses some ops and a refusal breaks a run)."""
        assert self.baseline is not None
        if self.try_nested():
            self._variants_round(levels)
        try_xla(self, levels)

    def _variants_round(self, levels: list[list[str]]) -> None:
        for i, names in enumerate(levels):
            chosen = self.variant_choices("variants", names)
            if not chosen:
                continue
            if not self._optional_run_fits():
                # a retracing existing tf.function's fix is tried past the default budget (not a user's)
                chosen = {} if self.strict_budget else must_try(self.measurements, chosen)
                if not chosen:
                    self.notes.append(f"budget reached: variants not tried for level {i}")
                    return
            eager = {n for n, (variant, _) in chosen.items() if variant == "dehybridize"}
            result = self.run(f"variants{i}", self.perf, self.targets({n: s for n, (_, s) in chosen.items()}, eager))
            if self._broke(result):
                self.notes.append(f"variants broke the run at level {i}: kept the first choices")
                for n, (variant, settings) in chosen.items():
                    self._variant_broke_run(n, variant, settings)
                continue
            for n, (variant, settings) in chosen.items():
                self._judge_variant(n, variant, settings, result)

    def _variant_broke_run(self, n: str, variant: str, settings: Settings | None) -> None:
        self.measurements[n].alternatives.append({"variant": variant, "settings": settings.to_json() if settings else {},
                                                  "kept": False, "broke_run": True})

    def _judge_variant(self, n: str, variant: str, settings: Settings | None, result: TrialResult) -> None:
        """Keep a variant only when it saves clearly more than the first choice (10 %, at least 2 ms)."""
        m = self.measurements[n]
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
            self._credit_backward(result, [n])
            if variant == "dehybridize":
                m.candidate.action = "dehybridize"
            else:
                m.settings = settings


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


def run_after_profile(*, root: Path, data_dir: Path, command: list[str], perf_command: list[str] | None,
                      budget_s: float | None, scalene: bool, console: Console, warm: WarmStarter | None = None) -> int:
    """Static analysis, trial runs, ``plan.json`` and the printed report; returns the exit status. ``warm``
    (owned and closed by the caller) forks the trial runs from a process that has imported TensorFlow."""
    started = time.monotonic()
    inputs = load_inputs(root, data_dir)
    config = load_config(root)
    perf, found_note = performance_choice(config, command, perf_command, root)
    workload_notes = [found_note] if found_note else []
    budget = budget_s if budget_s is not None else config.budget_s
    user_budget = budget is not None
    candidates, early = build_candidates(inputs.functions, inputs.reports, inputs.static_available, root)
    baseline_tests = {str(k): str(v.get("outcome") if isinstance(v, dict) else v)
                      for k, v in (inputs.meta.get("tests") or {}).items()}
    if budget is None:
        budget = default_budget(float(inputs.meta.get("duration_s") or 0.0))
        meta_budget_note = (f"default budget {budget:.0f} s (2x the traced run, at least {MIN_DEFAULT_BUDGET_S:.0f} s)"
                            " for optional trials")
    else:
        meta_budget_note = f"budget {budget:.0f} s"
    meta: dict[str, Any] = {"profile_command": inputs.meta.get("command", command), "test_command": list(command),
                            "budget_s": budget, "static_available": inputs.static_available,
                            "candidates": len(candidates), "static_errors": inputs.static_errors[:20],
                            "outside": outside_summary(root, inputs.meta, inputs.functions)}  # hot loops outside functions' calls
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    trials = Trials(root, data_dir, perf, list(command), candidates, budget, console, baseline_tests,
                    test_exit=int(inputs.meta.get("exit_code", 0) or 0), strict_budget=user_budget, warm=warm)
    trials.notes.append(meta_budget_note)
    trials.traced_s = float(inputs.meta.get("duration_s") or 0.0) or None
    trials.early = plan_early_stop(candidates, perf, list(command), root, config.raw)
    if perf != list(command):  # the optional runs leave room for the test check that follows them
        trials.reserve_s = float(inputs.meta.get("duration_s") or 0.0)
    status = 0
    interrupted = False
    try:
        if not inputs.functions:
            code = inputs.meta.get("exit_code")
            console.print(f"hybridize: the profile recorded no project function (the command exited {code}): "
                          "nothing to measure", highlight=False)
            status = 1
        elif not candidates:
            console.print("hybridize: no candidate functions (none received tensors, none is a tf.function)")
        else:
            base = trials.run_baseline()
            if base.timed_out or (not base.tests and base.exit_code != 0 and
                                  base.exit_code != inputs.meta.get("exit_code", 0)):
                tail = output_tail(trials.work, "baseline")
                reason = (f"was stopped after {base.limit.timeout_s:.0f} s ({base.limit.why})"
                          if base.timed_out and base.limit and base.limit.timeout_s else
                          "timed out" if base.timed_out else f"exited {base.exit_code}")
                said = telling_line(tail)
                detail = f"the performance command {reason} at baseline: nothing was measured" + (f" ({said})" if said else "")
                console.print(f"[red]hybridize: {escape(detail)}[/red]")
                for c in candidates:
                    early.append(Rejection(c.function, c.file, c.line, "baseline-failed", detail))
                trials.measurements.clear()
                status = 1
            else:
                levels = trials.levels()
                for i, names in enumerate(levels):  # one run per nesting level; past level 0 within a user's budget
                    names[:] = trials.unbeatable_callees_skipped(names)
                    if names and not trials.level_fits(i, names):
                        names.clear()
                    if names:
                        trials.run_level(i, names)
                trials.try_variants([names for names in levels if names])
                if not base.tests and trials.level_results:  # a script: its printed numbers are its check
                    note = output_note(trials.work, "baseline", list(trials.level_results))
                    if note:
                        trials.notes.append(note)
                if perf != list(command):
                    trials.run_correctness()
                if scalene:
                    from hybridize.planner.scalene import scalene_shares

                    shares = scalene_shares(root, perf, trials.work, console, candidates)
                    for name, share in shares.items():
                        if name in trials.measurements:
                            trials.measurements[name].scalene = share
    except KeyboardInterrupt:
        interrupted = True
        status = 130
        trials.notes.append("interrupted: the plan holds what was measured before Ctrl-C")
        console.print("[yellow]hybridize: interrupted: writing the plan from what was measured[/yellow]")
    if warm is not None:
        meta["warm_start"] = {"runs": warm.warm_runs, "cold_runs": warm.cold_runs, "cold_because": warm.cold_because}
        if warm.cold_runs:
            trials.notes.append(f"{warm.cold_runs} trial run(s) started cold: {warm.cold_because}")
    meta.update({"runs": trials.runs, "notes": trials.notes, "planning_s": round(time.monotonic() - started, 2),
                 "profile_duration_s": inputs.meta.get("duration_s"), "interrupted": interrupted,
                 "baseline_s": round(trials.baseline.duration_s, 3) if trials.baseline else None})
    thin = thin_workload_note(perf, list(command), (calls_per_trace(m.base.calls, (m.trial and m.trial.traces)
                                                                    or m.base.traces) for m in trials.measurements.values()))
    meta["workload_notes"] = [*workload_notes, *([thin] if thin else [])]
    plan = build_plan(list(trials.measurements.values()), early, root=root, edges=trials.edges, perf_command=perf,
                      meta=meta, created=created)
    if not interrupted:  # issue #17: hot loops of the main script, extracted into a step and measured
        from hybridize.planner.extraction import run_for_plan

        run_for_plan(plan, root, trials.work, perf, budget, meta["baseline_s"], lambda m: console.print(m, highlight=False),
                     strict_budget=user_budget)
        if not inputs.functions and any(r.action == "extract" for r in plan.recommendations):
            status = 0  # a script with no functions: the extraction is the plan
    plan.save(data_dir / PLAN_FILE)
    from hybridize.planner.report import print_table

    print_table(plan, console, verbose=True)
    console.print(f"[dim]plan written to {escape(str(data_dir / PLAN_FILE))}[/dim]")
    return status


def load_plan(data_dir: Path) -> Plan:
    return Plan.load(data_dir / PLAN_FILE)
