"""What was measured about one candidate (``Measurement``), the noise margin every acceptance must clear, and
the reason codes a measured candidate is rejected with (``Reason``: the values are the plan's ``reason``
strings, a stable JSON contract listed in ``planner/__init__.py``).

Pure data over trial results (no TensorFlow, no processes). Thresholds are deliberately conservative: the plan
must never make the performance command slower, so a conversion has to save a clear margin, not win by noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hybridize.plan import Settings
from hybridize.planner.candidates import PER_INSTANCE as _PER_INSTANCE_CODE
from hybridize.planner.candidates import Candidate
from hybridize.planner.removal import KEPT_FEW_CALLS as _KEPT_FEW_CALLS_CODE
from hybridize.planner.trials import FunctionResult

MIN_SAVED_S = 0.002  # absolute margin over timer noise
MIN_SAVED_FRACTION = 0.03  # of the function's eager time
MIN_NESTED_GAIN_S = 0.01  # a callee converted inside its converted caller must save this much more
NOT_ISOLATED = "not isolated"  # prefix of the failure note that bisection writes when it runs out of runs


def noise_margin(total_s: float, floor_s: float = MIN_SAVED_S) -> float:
    """What noise could make up of a measured total: every acceptance must clear it."""
    return max(floor_s, MIN_SAVED_FRACTION * total_s)


class Reason(str, Enum):
    """Why a measured candidate is not recommended. Use ``.value`` where a plain string is stored (the plan)."""

    NOT_REACHABLE = "not-reachable"  # the hook could not wrap it where `hybridize apply` puts the decorator
    NOT_EXERCISED = "not-exercised"  # the performance command never called it eagerly
    PER_INSTANCE = _PER_INSTANCE_CODE  # a new object at every call: it would trace every call
    COVERED_BY_CALLER = "covered-by-caller"  # a converted caller runs it inside its graph
    NOT_ISOLATED = "not-isolated"  # a test failed with it among others; bisection stopped before trying it alone
    TEST_FAILURE = "test-failure"
    TRIAL_ERROR = "trial-error"  # the trial run itself failed and blamed it
    NOT_MEASURED = "not-measured"
    OUTPUT_MISMATCH = "output-mismatch"  # the eager replay in the same run disagrees
    RESULT_MISMATCH = "result-mismatch"  # eager baseline and graph trial outputs disagree on the same inputs
    MEASURED_SLOWER = "measured-slower"
    ALREADY_OPTIMAL = "already-optimal"  # an existing tf.function that pays
    TOO_FEW_CALLS = "too-few-calls"  # faster per call, but tracing is not paid back
    KEPT_FEW_CALLS = _KEPT_FEW_CALLS_CODE  # removing a tf.function is not justified by the workload's calls
    CALLEES_BETTER = "callees-better"


@dataclass
class Measurement:
    """Everything measured about one candidate.

    ``unreachable``, ``per_instance``, ``skipped``, ``failure``, ``crash`` and ``not_measured`` are written by the
    trial stage as they are found; ``blocked()`` decodes them (with an unexercised baseline) into one ``Reason``.
    """

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

    def blocked(self) -> tuple[Reason, str] | None:
        """Why there is no comparable measurement (the first that applies, in this order), else None."""
        if self.unreachable:
            return Reason.NOT_REACHABLE, self.unreachable
        if self.base.calls == 0 and self.base.nested_calls:
            return Reason.NOT_EXERCISED, ("called by the performance command only while TensorFlow traced a graph "
                                          "(a tf.data map function, a tf.function caller): it already runs as a graph")
        if self.base.calls == 0:
            return Reason.NOT_EXERCISED, "not called by the performance command (nothing to measure)"
        if self.per_instance:
            return Reason.PER_INSTANCE, self.per_instance
        if self.skipped:
            return Reason.COVERED_BY_CALLER, self.skipped
        if self.failure:
            return self._failed(self.failure)
        if self.crash:
            return Reason.TRIAL_ERROR, self.crash
        if self.trial is None or self.trial.calls == 0:
            return Reason.NOT_MEASURED, (self.not_measured
                                         or "no trial measurement (budget exhausted or the run did not reach it)")
        return None

    @staticmethod
    def _failed(failure: dict[str, str]) -> tuple[Reason, str]:
        test, note = next(iter(failure.items()))
        if all(str(e).startswith(NOT_ISOLATED) for e in failure.values()):
            why = "the planning budget was spent" if "budget" in str(note) else "the bisection run limit stopped"
            return Reason.NOT_ISOLATED, (f"{test} failed with this and other conversions applied together; {why} "
                                         "before this one was tried alone (no evidence against it)")
        more = f" (+{len(failure) - 1} more)" if len(failure) > 1 else ""
        return Reason.TEST_FAILURE, f"{test} fails under conversion: {note}{more}"

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
