"""Blaming a failure on a conversion: directly from the profile's test -> function record, else by bisection
(a run per half, leave-one-out for a failure that needs several conversions together).

A blame maps each culprit to its failures: test id -> message, or ``WHOLE_COMMAND`` -> how the command failed
when the command has no tests. A blame the budget or the run limit cut short starts with ``NOT_ISOLATED``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hybridize.plan import Settings
from hybridize.planner.measurement import NOT_ISOLATED

if TYPE_CHECKING:
    from hybridize.planner.session import Trials

MAX_BISECT_RUNS = 12
WHOLE_COMMAND: Final = "(command)"  # the failure's key when the command has no tests (it exited otherwise)
ISOLATING = "isolation of failing conversions"

Failures = dict[str, str]  # test id (or WHOLE_COMMAND) -> message
Blame = dict[str, Failures]  # conversion -> the failures it causes


def scope(trials: Trials, tests: list[str] | None) -> list[str] | None:
    """The tests to run for judging ``tests``: their whole files, in order, so a failure that needs an
    earlier test of the same file (a trace made with another shape) still reproduces."""
    if not tests:
        return tests
    files = {t.split("::")[0] for t in tests}
    known = list(dict.fromkeys([*trials.test_baseline, *trials.perf_baseline]))
    return list(dict.fromkeys([*(t for t in known if t.split("::")[0] in files), *tests]))


def isolate(trials: Trials, command: list[str], suspects: list[str], converted: dict[str, Settings | None],
            failing: Failures, label: str, exit_code: int | None = None) -> Blame:
    """Blame the conversion behind each failing test: directly when the test calls exactly one converted
    function (the profile knows which tests call what), by bisection otherwise, the conversions that save
    most in the first half (what a budget cut off keeps)."""
    culprits: Blame = {}
    rest: Failures = {}
    for test, msg in failing.items():
        callers = [n for n in suspects if test in trials.by_name[n].profile.tests]
        if len(callers) == 1:
            culprits.setdefault(callers[0], {})[test] = msg
        else:
            rest[test] = msg
    if rest or not failing:
        pool = sorted({n for n in suspects if set(trials.by_name[n].profile.tests) & set(rest)}) or suspects
        pool.sort(key=lambda n: -(trials.measurements[n].saved_s() or 0.0) if n in trials.measurements else 0.0)
        found = Bisection(trials, command, converted, label, exit_code).bisect(pool, list(rest) or None)
        for n, tests in found.items():
            culprits.setdefault(n, {}).update(tests)
    return culprits


def _all_blamed(names: list[str], tests: list[str] | None, why: str) -> Blame:
    return {n: dict.fromkeys(tests or [WHOLE_COMMAND], why) for n in names}


@dataclass
class Bisection:
    """One isolation: the command, the conversions' settings and the runs made so far (capped)."""

    trials: Trials
    command: list[str]
    converted: dict[str, Settings | None]
    label: str
    exit_code: int | None = None  # the command's expected exit status (default: the baseline's)
    runs: int = 0

    def bisect(self, names: list[str], tests: list[str] | None) -> Blame:
        """Conversions that on their own make ``tests`` fail (or the command fail): halving, a run per half.

        With ``tests`` (pytest), each run is restricted to those tests, so a bisection step costs a few
        tests, not the suite. A failure that needs two conversions together rejects the whole group.
        """
        if not self.trials.isolation_allowed(ISOLATING):
            return _all_blamed(names, tests, f"{NOT_ISOLATED} (budget spent)")
        if len(names) == 1:
            failing = self.fails(names, tests)
            return {} if failing is None else {names[0]: failing}
        if self.runs >= MAX_BISECT_RUNS:
            return _all_blamed(names, tests, f"{NOT_ISOLATED} (bisection run limit)")
        half = len(names) // 2
        out: Blame = {}
        any_failed = skipped = False
        for part in (names[:half], names[half:]):
            if not self.trials.isolation_allowed(ISOLATING):
                out.update(_all_blamed(part, tests, f"{NOT_ISOLATED} (budget spent)"))
                skipped = True
                continue
            failing = self.fails(part, tests)
            if failing is not None:
                any_failed = True
                if len(part) == 1:  # this run already was the conversion alone: no second run of it
                    out[part[0]] = failing
                    continue
                narrowed = [t for t in failing if t in (tests or [])] or tests
                out.update(self.bisect(part, narrowed))
        if not any_failed and not skipped:  # only a combination fails
            return self.combination(names, tests)
        return out

    def combination(self, names: list[str], tests: list[str] | None) -> Blame:
        """Leave one out: the members whose removal fixes the failure are each necessary to it, so rejecting
        the one that saves least breaks the combination; without such members, reject the whole group."""
        necessary: list[str] = []
        if len(names) <= 6 and self.runs + len(names) <= MAX_BISECT_RUNS + 4:
            for n in names:
                if not self.trials.isolation_allowed(ISOLATING):
                    return _all_blamed(names, tests, f"{NOT_ISOLATED} (budget spent)")
                if self.fails([x for x in names if x != n], tests) is None:
                    necessary.append(n)
        if necessary:
            measurements = self.trials.measurements
            least = min(necessary, key=lambda n: measurements[n].saved_s() or 0.0 if n in measurements else 0.0)
            partners = ", ".join(x for x in necessary if x != least)
            return _all_blamed([least], tests, f"fails only together with {partners or 'others'}; "
                                               "rejected as the one that saves least")
        return _all_blamed(names, tests, "fails only in combination with other conversions")

    def fails(self, part: list[str], tests: list[str] | None) -> Failures | None:
        """Run with only ``part`` converted (restricted to ``tests``): the failures, or None when clean."""
        trials = self.trials
        assert trials.baseline is not None
        expected = trials.baseline.exit_code if self.exit_code is None else self.exit_code
        self.runs += 1
        if trials.over_budget():
            trials.rescue_runs -= 1
        started = time.monotonic()
        result = trials.run(f"{self.label}-bisect{self.runs}", self.command,
                            trials.targets({n: self.converted.get(n) for n in part}), only_tests=scope(trials, tests))
        trials.last_isolation_s = time.monotonic() - started
        if tests:
            failing = {t: msg for t, msg in result.failed_tests().items() if t in tests}
            if not result.tests and result.exit_code != 0:
                failing = dict.fromkeys(tests, f"the run exited {result.exit_code}")
            return failing or None
        if result.exit_code != expected or result.timed_out:
            how = "timed out" if result.timed_out else f"exited {result.exit_code} (baseline {expected})"
            return {WHOLE_COMMAND: how}
        return None
