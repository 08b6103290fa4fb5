"""Whether conversions keep the program correct: a run's new failures blamed on conversions (and recorded as
their failure or crash), and the test command's run with every conversion the plan would recommend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hybridize.plan import Settings
from hybridize.planner.acceptance import accepted
from hybridize.planner.budget import describe_failure
from hybridize.planner.isolation import WHOLE_COMMAND, Blame, Failures, isolate, scope
from hybridize.planner.measurement import NOT_ISOLATED
from hybridize.planner.trials import TrialResult, output_tail

if TYPE_CHECKING:
    from hybridize.planner.session import Trials

TEST_COMMAND: Final = "(test command)"  # the failure's key when the test command has no tests (it exited otherwise)


def _suspects(trials: Trials, names: list[str], result: TrialResult, failing: Failures) -> list[str]:
    """The conversions a failure may come from: those the failing tests call, or that raised; else all."""
    exercised = [n for n in names if set(trials.by_name[n].profile.tests) & set(failing)]
    errored = [n for n in names if result.func(n).errors]
    return sorted(set(exercised) | set(errored)) or names


def check_failures(trials: Trials, result: TrialResult, names: list[str], converted: dict[str, Settings | None],
                   command: list[str], label: str) -> None:
    """After a run converting ``names``: blame each newly failing test (or the crash) on its conversion."""
    assert trials.baseline is not None
    failing = trials.newly_failing(result)
    crashed = trials._crashed(result)
    if not failing and not crashed:
        return
    suspects = _suspects(trials, names, result, failing) if failing else names
    trials.console.print(f"[yellow]hybridize: {label}: "
                         f"{f'{len(failing)} test(s) newly failing' if failing else f'exit {result.exit_code}'}"
                         f"; isolating among {len(suspects)} conversion(s)[/yellow]")
    if len(suspects) == 1 and set(converted) == set(suspects):  # the run itself converted only this one
        culprits: Blame = {suspects[0]: dict(failing)}
    else:
        culprits = isolate(trials, command, suspects, converted, failing, label)
    tail = output_tail(trials.work, label) if crashed else ""
    for n, tests in culprits.items():
        m = trials.measurements[n]
        if tests and (WHOLE_COMMAND not in tests or all(str(v).startswith(NOT_ISOLATED) for v in tests.values())):
            m.failure = tests
        else:
            # its own exception, as the hook saw it leave the converted function, before the run's last line
            # (which belongs to whichever conversion failed last when several did)
            own = next(iter(result.func(n).errors), "")
            m.crash = describe_failure(timed_out=result.timed_out, exit_code=result.exit_code, own_error=own,
                                       baseline_exit=trials.baseline.exit_code, limit=result.limit, tail=tail)


def _test_scope(trials: Trials, names: list[str]) -> list[str] | None:
    """The test files that call a converted function, when every converted function has that record and they
    are not the whole suite; else None (every test)."""
    touched = [t for n in names for t in trials.by_name[n].profile.tests]
    only = None
    if trials.test_baseline and touched and all(trials.by_name[n].profile.tests for n in names):
        only = scope(trials, sorted(set(touched)))
        if only is not None and len(only) >= len(trials.test_baseline):
            only = None
    return only


def run_correctness(trials: Trials) -> None:
    """The test command, when it is not the performance command, with every conversion the measurements
    so far would recommend (in its final settings): the others cannot reach the plan, so testing them
    only costs bisection runs. Restricted to the test files that call a converted function (the profile
    records which tests call what) when every converted function has that record."""
    names = [c.function for c in trials.candidates if c.function in trials.measurements
             and accepted(trials.measurements[c.function])]
    if not names:
        trials.notes.append("no conversion paid on the performance command: the test command was not re-run")
        return
    converted: dict[str, Settings | None] = {n: trials.measurements[n].settings or trials.by_name[n].trial_settings
                                             for n in names}
    result = trials.run("tests", trials.test, trials.targets(converted), only_tests=_test_scope(trials, names))
    failing = trials.newly_failing(result, trials.test_baseline)
    if not failing and not result.tests and result.exit_code != trials.test_exit:
        failing = {TEST_COMMAND: f"exited {result.exit_code} (baseline {trials.test_exit})"}
    if not failing:
        return
    suspects = _suspects(trials, names, result, failing)
    trials.console.print(f"[yellow]hybridize: tests: {len(failing)} test(s) newly failing; isolating among "
                         f"{len(suspects)} conversion(s)[/yellow]")
    tests = {t: msg for t, msg in failing.items() if t != TEST_COMMAND}
    if trials.over_budget():  # else every suspect is lost: one run keeps the half that saves most if it passes
        trials.rescue_runs = 1
        trials.notes.append("budget reached before the test check failed: one isolation run past it, with the "
                            "suspect conversions that save most")
    culprits = isolate(trials, trials.test, suspects, converted, tests, "tests", trials.test_exit)
    trials.rescue_runs = 0
    for n, broken in culprits.items():
        trials.measurements[n].failure = broken or {TEST_COMMAND: "fails under conversion"}
