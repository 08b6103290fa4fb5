"""Isolating the conversion behind a failing test, with fake runs (no processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from hybridize.plan import Settings
from hybridize.planner.absorb import absorb
from hybridize.planner.candidates import Candidate
from hybridize.planner.correctness import check_failures, run_correctness
from hybridize.planner.isolation import isolate
from hybridize.planner.session import Trials
from hybridize.planner.trials import TrialResult


def make_trials(tmp_path: Path, names: list[str], tests_of: dict[str, list[str]], bad: dict[str, set[str]],
                pairs: set[frozenset[str]] = frozenset()) -> tuple[Trials, list[set[str]]]:
    cands = [Candidate(n, "m.py", 1, "convert", {"function": n, "tests": tests_of.get(n, [])}, None) for n in names]
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["pytest"], ["pytest"], cands, None, Console(quiet=True), {})
    trials.baseline = TrialResult("baseline", ["pytest"], 0, 1.0)
    runs: list[set[str]] = []

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        converted = {t["function"] for t in targets if t["mode"] != "time"}
        runs.append(converted)
        failing: dict[str, str] = {}
        for n in converted:
            for t in bad.get(n, ()):
                failing[t] = f"{n} broke it"
        for pair in pairs:
            if pair <= converted:
                failing["t::pair"] = "combination"
        only = kw.get("only_tests")
        result = TrialResult(label, command, 1 if failing else 0, 1.0)
        for t in only or ["t::a", "t::b", "t::pair"]:
            result.tests[t] = {"outcome": "failed", "message": failing[t]} if t in failing else {"outcome": "passed"}
        return result

    trials.run = fake_run  # type: ignore[method-assign]
    return trials, runs


def test_bisection_finds_the_culprit(tmp_path: Path) -> None:
    names = [f"m:f{i}" for i in range(8)]
    trials, runs = make_trials(tmp_path, names, {}, {"m:f5": {"t::a"}})
    converted: dict[str, Settings | None] = dict.fromkeys(names, Settings())
    found = isolate(trials, ["pytest"], names, converted, {"t::a": "boom"}, "x")
    assert found == {"m:f5": {"t::a": "m:f5 broke it"}}
    assert len(runs) <= 7


def test_lone_caller_is_blamed_without_a_run(tmp_path: Path) -> None:
    names = ["m:a", "m:b"]
    trials, runs = make_trials(tmp_path, names, {"m:a": ["t::a"], "m:b": ["t::b"]}, {"m:a": {"t::a"}})
    found = isolate(trials, ["pytest"], names, dict.fromkeys(names, Settings()), {"t::a": "boom"}, "x")
    assert found == {"m:a": {"t::a": "boom"}} and runs == []


def test_failure_only_in_combination_rejects_one_necessary_member(tmp_path: Path) -> None:
    names = ["m:a", "m:b", "m:c"]
    trials, _ = make_trials(tmp_path, names, {}, {}, pairs={frozenset(["m:a", "m:b"])})
    found = isolate(trials, ["pytest"], names, dict.fromkeys(names, Settings()), {"t::pair": "x"}, "x")
    assert len(found) == 1 and set(found) <= {"m:a", "m:b"}  # breaking the pair is enough; m:c is innocent
    assert "fails only together with" in next(iter(found.values()))["t::pair"]


def test_correctness_run_checks_only_what_can_be_recommended(tmp_path: Path) -> None:
    """Conversions measured slower never reach the plan: the test command is not run (nor bisected) for them,
    and only the test files that call a converted function run."""
    from hybridize.planner.decide import Measurement
    from hybridize.planner.trials import FunctionResult

    names = ["m:fast", "m:slow"]
    baseline = {"t/a.py::x": "passed", "t/a.py::x2": "passed", "t/b.py::y": "passed", "t/c.py::z": "passed"}
    cands = [Candidate("m:fast", "m.py", 1, "convert", {"function": "m:fast", "tests": ["t/a.py::x"]}, None),
             Candidate("m:slow", "m.py", 9, "convert", {"function": "m:slow", "tests": ["t/b.py::y"]}, None)]
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], cands, None,
                    Console(quiet=True), baseline)
    trials.baseline = TrialResult("baseline", ["python", "perf.py"], 0, 1.0)
    base = FunctionResult(calls=100, time_s=1.0)
    trials.measurements = {
        "m:fast": Measurement(cands[0], base, FunctionResult(calls=100, time_s=0.2, trace_calls=1, trace_time_s=0.05,
                                                             traces=1)),
        "m:slow": Measurement(cands[1], base, FunctionResult(calls=100, time_s=2.0, trace_calls=1, trace_time_s=0.05,
                                                             traces=1)),
    }
    seen: list[tuple[set[str], list[str] | None]] = []

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        seen.append(({t["function"] for t in targets if t["mode"] != "time"}, kw.get("only_tests")))
        result = TrialResult(label, command, 0, 1.0)
        for t in kw.get("only_tests") or baseline:
            result.tests[t] = {"outcome": "passed"}
        return result

    trials.run = fake_run  # type: ignore[method-assign]
    run_correctness(trials)
    assert seen == [({"m:fast"}, ["t/a.py::x", "t/a.py::x2"])]
    assert all(m.failure is None for m in trials.measurements.values())
    assert names  # both candidates stay measured; only the run was cut


def test_random_function_is_inconclusive_not_a_mismatch(tmp_path: Path) -> None:
    """A tf.random user differs from eager by design: neither replayed nor rejected (regression: augment_batch)."""
    from hybridize.planner.decide import Measurement, build_plan
    from hybridize.planner.trials import FunctionResult

    (tmp_path / "m.py").write_text("import tensorflow as tf\n\ndef aug(x):\n    return x + tf.random.normal(tf.shape(x))\n",
                                   encoding="utf-8")
    static = {"function": "m:aug", "file": "m.py", "line": 3, "end_line": 4, "findings": []}
    cand = Candidate("m:aug", "m.py", 3, "convert", {"function": "m:aug"}, static)
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], [cand], None,
                    Console(quiet=True), {})
    digest_in = {"in": [1.0], "out": {"shape": [2], "sum": 1.0}}
    trials.baseline = TrialResult("baseline", ["python", "perf.py"], 0, 1.0,
                                  functions={"m:aug": FunctionResult(calls=100, time_s=1.0, digests=[digest_in])})
    trials.measurements = {"m:aug": Measurement(cand, trials.baseline.func("m:aug"))}
    assert trials.replayable(cand) is not None and "random" in str(trials.replayable(cand))
    assert "replay" not in trials.targets({"m:aug": None}, replay=True)[0]
    level = TrialResult("level0", ["python", "perf.py"], 0, 1.0, functions={"m:aug": FunctionResult(
        calls=100, time_s=0.2, trace_calls=1, trace_time_s=0.05, traces=1,
        digests=[{"in": [1.0], "out": {"shape": [2], "sum": 7.0}}])})
    absorb(trials, level, ["m:aug"], {"m:aug": None})
    m = trials.measurements["m:aug"]
    assert m.results_check == "inconclusive" and "not replayed eagerly" in m.results_detail
    plan = build_plan([m], [], root=tmp_path, edges={}, perf_command=["python", "perf.py"], meta={}, created="now")
    assert [r.function for r in plan.recommendations] == ["m:aug"]


def test_spent_budget_stops_isolation_and_rejects_as_not_isolated(tmp_path: Path) -> None:
    """A user's --budget caps bisection: once spent, no more runs; the suspects are not-isolated, with a note."""
    from hybridize.planner.decide import NOT_ISOLATED, Measurement, _accepts
    from hybridize.planner.trials import FunctionResult

    names = [f"m:f{i}" for i in range(8)]
    trials, runs = make_trials(tmp_path, names, {}, {"m:f5": {"t::a"}})
    trials.budget_s, trials.strict_budget = 0.0, True
    found = isolate(trials, ["pytest"], names, dict.fromkeys(names, Settings()), {"t::a": "boom"}, "x")
    assert runs == []
    assert set(found) == set(names)
    assert all(v["t::a"].startswith(NOT_ISOLATED) for v in found.values())
    assert any("budget reached" in n and "not-isolated" in n for n in trials.notes)
    m = Measurement(trials.by_name["m:f5"], FunctionResult(calls=3, time_s=1.0), failure=found["m:f5"])
    ok, reason, detail = _accepts(m)
    assert (ok, reason) == (False, "not-isolated") and "budget" in detail


def test_budget_spent_midway_keeps_what_was_isolated(tmp_path: Path) -> None:
    names = [f"m:f{i}" for i in range(8)]
    trials, runs = make_trials(tmp_path, names, {}, {"m:f5": {"t::a"}})
    trials.budget_s, trials.strict_budget = 1e9, True
    real_run = trials.run

    def run_then_spend(*a: Any, **kw: Any) -> TrialResult:
        trials.budget_s = 0.0  # the first bisection run spends the budget
        return real_run(*a, **kw)

    trials.run = run_then_spend  # type: ignore[method-assign]
    found = isolate(trials, ["pytest"], names, dict.fromkeys(names, Settings()), {"t::a": "boom"}, "x")
    assert len(runs) == 1
    assert set(found) == set(names[4:])  # f0-f3 passed alone: cleared; f4-f7 still suspect


def test_without_a_user_budget_isolation_is_not_capped(tmp_path: Path) -> None:
    names = [f"m:f{i}" for i in range(8)]
    trials, runs = make_trials(tmp_path, names, {}, {"m:f5": {"t::a"}})
    trials.budget_s = 0.0  # the default budget only caps optional settings, not isolation
    found = isolate(trials, ["pytest"], names, dict.fromkeys(names, Settings()), {"t::a": "boom"}, "x")
    assert found == {"m:f5": {"t::a": "m:f5 broke it"}} and runs


def test_a_level_run_converting_one_function_is_its_own_isolation(tmp_path: Path) -> None:
    """A command that is not pytest crashed with a single conversion applied: that run already blamed it."""
    from hybridize.planner.decide import Measurement
    from hybridize.planner.trials import FunctionResult

    trials, runs = make_trials(tmp_path, ["m:only"], {}, {})
    trials.measurements["m:only"] = Measurement(trials.candidates[0], FunctionResult(calls=3, time_s=1.0))
    crashed = TrialResult("level2", ["python", "perf.py"], 1, 1.0)
    check_failures(trials, crashed, ["m:only"], {"m:only": Settings()}, ["python", "perf.py"], "level2")
    assert runs == []  # no bisection run of the very same single conversion
    assert "exited 1" in (trials.measurements["m:only"].crash or "")


def test_a_crash_names_each_culprit_s_own_error_not_the_run_s_last_line(tmp_path: Path) -> None:
    """Two conversions crashed the perf command: each is reported with the exception the hook saw leave it
    (tensorflow/similarity: both were shown with a third function's ValueError, the run's last line)."""
    from hybridize.planner.decide import Measurement
    from hybridize.planner.trials import FunctionResult

    names = ["m:a", "m:b"]
    cands = [Candidate(n, "m.py", 1, "convert", {"function": n, "tests": []}, None) for n in names]
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], cands, None,
                    Console(quiet=True), {})
    trials.baseline = TrialResult("baseline", ["python", "perf.py"], 0, 1.0)
    for c in cands:
        trials.measurements[c.function] = Measurement(c, FunctionResult(calls=3, time_s=1.0))

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        return TrialResult(label, command, 1 if any(t["mode"] == "graph" for t in targets) else 0, 1.0)

    trials.run = fake_run  # type: ignore[method-assign]
    crashed = TrialResult("level0", ["python", "perf.py"], 1, 1.0)
    crashed.functions = {"m:a": FunctionResult(calls=1, errors={"OperatorNotAllowedInGraphError: bool": 1}),
                         "m:b": FunctionResult(calls=1, errors={"TypeError: None + int": 1})}
    check_failures(trials, crashed, names, dict.fromkeys(names, Settings()), ["python", "perf.py"], "level0")
    assert (trials.measurements["m:a"].crash or "").endswith(": OperatorNotAllowedInGraphError: bool")
    assert (trials.measurements["m:b"].crash or "").endswith(": TypeError: None + int")


def test_a_spent_budget_still_gives_the_test_check_one_run_for_the_conversions_saving_most(tmp_path: Path) -> None:
    """GPflow, --budget 300: levels spent the budget, the test check failed, and every suspect (the whole plan) was
    rejected not-isolated. One run past the budget, with the half that saves most, keeps that half when it passes."""
    from hybridize.planner.decide import NOT_ISOLATED, Measurement
    from hybridize.planner.trials import FunctionResult

    saves = {"m:a": 0.1, "m:b": 0.9, "m:c": 0.5, "m:d": 0.3}  # m:a, the smallest saver, breaks the test
    cands = [Candidate(n, "m.py", 1, "convert", {"function": n, "tests": ["t/a.py::x"]}, None) for n in saves]
    trials = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], cands, 0.0,
                    Console(quiet=True), {"t/a.py::x": "passed"}, strict_budget=True)
    trials.baseline = TrialResult("baseline", ["python", "perf.py"], 0, 1.0)
    base = FunctionResult(calls=100, time_s=1.0)
    trials.measurements = {c.function: Measurement(c, base, FunctionResult(calls=100, time_s=1.0 - saves[c.function]))
                           for c in cands}
    seen: list[set[str]] = []

    def fake_run(label: str, command: list[str], targets: list[dict[str, Any]], **kw: Any) -> TrialResult:
        converted = {t["function"] for t in targets if t["mode"] != "time"}
        seen.append(converted)
        result = TrialResult(label, command, 0, 1.0)
        result.tests["t/a.py::x"] = {"outcome": "failed" if "m:a" in converted else "passed", "message": "boom"}
        return result

    trials.run = fake_run  # type: ignore[method-assign]
    run_correctness(trials)
    assert seen == [set(saves), {"m:b", "m:c"}]  # the test check, then one run with the two that save most
    failed = {n for n, m in trials.measurements.items() if m.failure}
    assert failed == {"m:a", "m:d"}
    assert all(str(v).startswith(NOT_ISOLATED) for v in trials.measurements["m:a"].failure.values())  # type: ignore[union-attr]
    assert any("one isolation run past it" in n for n in trials.notes)
