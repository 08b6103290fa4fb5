"""One planning session's trial runs: the state every concern reads (candidates, budget, baseline, measurements)
and the one way to run a trial (``Trials.run``, with its targets and its time limit).

The concerns that decide what to run live beside it, as functions taking the session: ``levels`` (one run per
nesting level), ``isolation`` (bisection of failures), ``correctness`` (the test command's run), ``nested`` and
``variants`` (the optional runs); ``absorb`` turns a run's numbers into measurements.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from hybridize.identity import FunctionId
from hybridize.plan import Settings
from hybridize.planner.absorb import absorb
from hybridize.planner.budget import run_limit
from hybridize.planner.candidates import Candidate, per_instance_detail, refine
from hybridize.planner.earlystop import EarlyStop
from hybridize.planner.measurement import Measurement
from hybridize.planner.oracle import SourceOracle
from hybridize.planner.trials import TrialResult, run_trial
from hybridize.planner.warmstart import WarmStarter

DIGEST_CALLS = 3
REPLAY_CALLS = 2  # calls per converted function replayed eagerly in the same run (the in-run oracle)


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
        self.oracle = SourceOracle(root, self.by_name)
        self.budget_s = budget_s
        self.strict_budget = strict_budget  # a user's --budget: also caps isolation runs and the nested-callee run
        self.last_isolation_s = 0.0  # duration of the last bisection run: the estimate for the next one
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
        self.level_results: dict[str, TrialResult] = {}
        self.descendants: dict[str, set[str]] = {}
        self.reserve_s = 0.0  # kept for the test check (and its isolation), which comes after the optional runs
        self.rescue_runs = 0  # isolation runs allowed past a spent --budget (the test check's, which gates the plan)
        self.warm = warm
        self.early: EarlyStop | None = None  # the stop rule of a long script's runs (planner.earlystop)

    # -- budget --------------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def has_budget(self, estimate: float) -> bool:
        return self.budget_s is None or self.elapsed() + estimate <= self.budget_s

    def over_budget(self) -> bool:
        """A user's ``--budget`` cannot pay for one more isolation run (estimated as long as the last one)."""
        return self.strict_budget and not self.has_budget(self.last_isolation_s)

    def isolation_allowed(self, what: str) -> bool:
        """Whether one more isolation run fits the user's budget (or a last run granted past it is left); notes
        (once per kind of work) when not."""
        if not self.over_budget() or self.rescue_runs > 0:
            return True
        note = f"budget reached: {what} stopped (the still-suspect conversions are rejected as not-isolated)"
        if note not in self.notes:
            self.notes.append(note)
        return False

    def _optional_run_fits(self) -> bool:
        """Whether one more optional run (estimated as 1.2 baseline runs) fits the budget, the test check's room kept."""
        assert self.baseline is not None
        return self.has_budget(self.baseline.duration_s * 1.2 + self.reserve_s)

    # -- running -------------------------------------------------------------------------------------------
    def run(self, label: str, command: list[str], targets: list[dict[str, Any]], *,
            only_tests: list[str] | None = None, digests: bool = False, signatures: bool = False,
            cold: bool = False) -> TrialResult:
        """One trial run; ``cold`` runs it in a fresh process, never forked from the warm-start server (XLA: its CPU
        runtime ran this workload's fused kernels ~25 % slower in a forked child, the plain graph did not)."""
        changed = [FunctionId.split_name(str(t["function"]))[1] for t in targets if t["mode"] != "time"]
        shown = ", ".join(changed[:3]) + (f" +{len(changed) - 3}" if len(changed) > 3 else "")
        self.console.print(f"[dim]hybridize: trial {label}: {len(changed)} of {len(targets)} function(s) changed"
                           f"{f' ({escape(shown)})' if changed else ''}"
                           f"{f', {len(only_tests)} test(s)' if only_tests else ''}[/dim]", highlight=False)
        left = self.budget_s - self.elapsed() if self.strict_budget and self.budget_s is not None else None
        limit = run_limit(baseline_s=self.baseline.duration_s if self.baseline else None, traced_s=self.traced_s,
                          remaining_s=left, explicit_s=self.timeout_s)
        result = run_trial(command, root=self.root, work_dir=self.work, label=label, targets=targets,
                           timeout_s=limit.timeout_s, only_tests=only_tests, digest_calls=DIGEST_CALLS if digests else 0,
                           record_signatures=signatures, warm=None if cold else self.warm,
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
                if replay and mode == "graph" and self.oracle.replayable(c) is None:
                    target["replay"] = REPLAY_CALLS
                out.append(target)
            else:
                out.append(c.target("time"))
        return out

    def run_baseline(self) -> TrialResult:
        """Every candidate timed as it is (outputs digested, signatures recorded): the measurements start here."""
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

    # -- judging a run -------------------------------------------------------------------------------------
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

    def related(self, a: str, b: str) -> bool:
        """``a`` and ``b`` are one function, or one calls the other (so one run may not change both)."""
        return a == b or b in self.descendants.get(a, ()) or a in self.descendants.get(b, ())

    # -- what fallback.py and xla.py call on the session --------------------------------------------------
    def replayable(self, c: Candidate) -> str | None:
        return self.oracle.replayable(c)

    def _bodies(self, c: Candidate) -> list[tuple[str, str]]:
        return self.oracle.bodies(c)

    def _absorb(self, result: TrialResult, names: list[str], converted: dict[str, Settings | None]) -> None:
        absorb(self, result, names, converted)
