"""pytest plugin (added to every pytest process of a traced run via ``PYTEST_PLUGINS``).

It tells the recorder which test is running, so each function knows the tests that called it (setup and teardown
included: fixtures run project code too), and records each test's baseline outcome for the planner, which compares
outcomes with conversions applied against these. Does nothing in a process the tracer is not running in.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from hybridize.tracer import bootstrap

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Generator[None, None, None]:
    rec = bootstrap.RECORDER
    if rec is not None:
        rec.current_test = item.nodeid
    try:
        yield
    finally:
        if rec is not None:
            rec.current_test = None


def outcome_of(report: Any) -> str:
    """One phase's outcome in the contract's words: passed | failed | skipped | error."""
    if report.when == "call":
        if report.outcome == "failed":
            return "failed"
        return "skipped" if report.outcome == "skipped" else "passed"
    if report.outcome == "failed":
        return "error"
    return "skipped" if report.outcome == "skipped" else "passed"


def pytest_runtest_logreport(report: Any) -> None:
    rec = bootstrap.RECORDER
    if rec is None:
        return
    try:
        new = outcome_of(report)
        old = rec.test_outcomes.get(report.nodeid)
        if old is None or _RANK[new] > _RANK[old]:
            rec.test_outcomes[report.nodeid] = new
    except Exception as exc:
        rec.internal_error(exc)
