"""The trial runs' pytest plugin (loaded through ``PYTEST_PLUGINS``): test outcomes and test selection.

Outcomes per node id feed the comparison with the baseline; a bisection run restricts the session to
the tests that failed, so isolating a bad conversion costs a few tests, not the whole suite.
"""

from __future__ import annotations

from typing import Any

from hybridize.planner import trial_hook


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    only = trial_hook.only_tests()
    if only is None:
        return
    keep = set(only)
    selected = [item for item in items if item.nodeid in keep]
    deselected = [item for item in items if item.nodeid not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected


def pytest_runtest_logreport(report: Any) -> None:
    if report.passed:
        if report.when == "call":
            trial_hook.record_test(report.nodeid, "passed")
        return
    if report.skipped:
        trial_hook.record_test(report.nodeid, "skipped")
        return
    outcome = "failed" if report.when == "call" else "error"
    message = ""
    try:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
    except Exception:
        message = ""
    trial_hook.record_test(report.nodeid, outcome, trial_hook.short_error(message))
