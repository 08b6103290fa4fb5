"""Budgets hold on every run: each trial run's timeout comes from the baseline and what a --budget has left,
and a run that fails or is stopped is described in words (never a bare line of progress dots)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hybridize.planner import session
from hybridize.planner.budget import RunLimit, describe_failure, run_limit, telling_line
from hybridize.planner.candidates import Candidate
from hybridize.planner.session import Trials
from hybridize.planner.trials import TrialResult


def test_limits_from_the_baseline_and_the_budget_left() -> None:
    assert run_limit(baseline_s=None, traced_s=None, remaining_s=None).timeout_s is None
    assert run_limit(baseline_s=None, traced_s=40.0, remaining_s=5.0).timeout_s == 200.0  # the baseline is needed
    assert run_limit(baseline_s=1.0, traced_s=2.0, remaining_s=None).timeout_s == 120.0
    assert run_limit(baseline_s=60.0, traced_s=2.0, remaining_s=None).timeout_s == 300.0
    left = run_limit(baseline_s=1.0, traced_s=2.0, remaining_s=18.0)
    assert left.timeout_s == 18.0 and "--budget had left" in left.why
    floor = run_limit(baseline_s=1.0, traced_s=2.0, remaining_s=-3.0)
    assert floor.timeout_s == 12.0 and "shortest useful run" in floor.why
    assert run_limit(baseline_s=1.0, traced_s=2.0, remaining_s=500.0).timeout_s == 120.0
    assert run_limit(baseline_s=1.0, traced_s=2.0, remaining_s=5.0, explicit_s=7.0).timeout_s == 7.0


def test_a_stopped_run_is_described_in_words() -> None:
    limit = RunLimit(18.0, "what the --budget had left, 18 s")
    text = describe_failure(timed_out=True, exit_code=124, baseline_exit=0, limit=limit, tail="....\n.")
    assert text == "the run with this conversion was stopped after 18 s (what the --budget had left, 18 s)"
    text = describe_failure(timed_out=False, exit_code=1, baseline_exit=0, limit=limit,
                            tail="ValueError: shapes (2,) and (3,) differ\n...F [100%]")
    assert text.endswith("exited 1 where the baseline exited 0: ValueError: shapes (2,) and (3,) differ")
    assert telling_line(".....\n 45%\n") == ""


@pytest.fixture
def trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Trials, list[float | None]]:
    cands = [Candidate("m:f", "m.py", 1, "convert", {"function": "m:f", "tests": []}, None)]
    t = Trials(tmp_path, tmp_path / ".hybridize", ["python", "perf.py"], ["pytest"], cands, 20.0,
               Console(quiet=True), {}, strict_budget=True)
    t.traced_s = 2.0
    timeouts: list[float | None] = []

    def fake_run_trial(command: list[str], *, timeout_s: float | None = None, label: str = "", **kw: Any) -> TrialResult:
        timeouts.append(timeout_s)
        return TrialResult(label, command, 0, 1.0)

    monkeypatch.setattr(session, "run_trial", fake_run_trial)
    return t, timeouts


def test_every_run_is_limited_by_the_budget_left(trials: tuple[Trials, list[float | None]]) -> None:
    t, timeouts = trials
    t.run_baseline()
    assert timeouts == [120.0]  # the baseline: from the traced run, never cut (nothing is measured without it)
    t.started = time.monotonic() - 5.0  # 15 s of the 20 s budget left
    result = t.run("level0", t.perf, t.targets({"m:f": None}))
    assert timeouts[-1] is not None and 14.0 <= timeouts[-1] <= 15.0  # was 120 s whatever the budget
    assert result.limit is not None and "--budget had left" in result.limit.why
    t.started = time.monotonic() - 60.0  # spent: a required run still gets the shortest useful time, no more
    t.run("level0-again", t.perf, t.targets({"m:f": None}))
    assert timeouts[-1] == 12.0


def test_without_a_users_budget_runs_keep_the_generous_limit(trials: tuple[Trials, list[float | None]]) -> None:
    t, timeouts = trials
    t.strict_budget = False
    t.run_baseline()
    t.started = time.monotonic() - 1000.0
    t.run("level0", t.perf, t.targets({"m:f": None}))
    assert timeouts == [120.0, 120.0]
