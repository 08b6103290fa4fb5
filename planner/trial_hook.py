"""The in-process import hook of the trial runs: wraps chosen functions as their modules are imported.

Booted in every Python process of a trial run (``run_command(boot=["hybridize.planner.trial_hook:install"])``)
and configured by a JSON file named in ``HYBRIDIZE_TRIAL_CONFIG``. The source is never touched: each chosen
function or method is wrapped where it is defined (``placement``: an extra decorator compiled in memory, for target
modules with source and for the program's main file run through ``hybridize.tracer.runmain``), or else replaced in
its module's namespace after the module executed, by

- ``time``: a timing wrapper around the original (the eager baseline; an existing tf.function as is),
- ``graph``: a timing wrapper around ``tf.function(original, **settings)`` (convert, or tune an existing one),
- ``eager``: a timing wrapper around an existing tf.function's Python function (de-hybridize).

Per function it records calls, inclusive time (calls made while an outer graph is being traced are
counted apart: they are trace-time work, not execution), traces (``experimental_get_tracing_count``),
errors, which timed function called which, and digests of the first inputs/outputs for the
eager-versus-graph result comparison. Each process writes one JSON file at exit. Nothing here may break
the user's program: every failure of the hook itself is recorded and swallowed.

This module is the entry point others load by name (boot, the pytest plugin); the parts live beside it:
``hook_state`` (per-process counts and the results file), ``hook_tape`` (eager or tracing, tape timing),
``hook_digests`` (value digests, signatures, eager replay), ``hook_wrapper`` (the timing wrapper),
``hook_targets`` (the replacement per trial mode), ``hook_patch`` (finding the function in its module) and
``hook_import`` (the import hook).
"""

from __future__ import annotations

import atexit
import json
import os
import sys

from hybridize.planner.hook_import import Finder
from hybridize.planner.hook_patch import patch_module
from hybridize.planner.hook_state import HookState, short_error

__all__ = ["CONFIG_ENV", "install", "only_tests", "record_test", "short_error"]

CONFIG_ENV = "HYBRIDIZE_TRIAL_CONFIG"

_state: HookState | None = None


def install() -> None:
    """Boot entry point: read the config, hook imports, register the exit writer. Silent without config."""
    global _state
    path = os.environ.get(CONFIG_ENV)
    if not path or _state is not None:
        return
    with open(path, encoding="utf-8") as fh:
        config = json.load(fh)
    state = HookState(config)
    _state = state
    sys.meta_path.insert(0, Finder(state))
    from hybridize.planner import placement

    placement.install(state)  # the main program, when run through hybridize.tracer.runmain
    from hybridize.planner import nbplace

    nbplace.install(state)  # notebook cells, as a Jupyter kernel runs them
    for module_name in list(state.targets):
        module = sys.modules.get(module_name)
        if module is not None:
            patch_module(state, module)
    atexit.register(_write_at_exit)
    _follow_forks()


def _write_at_exit() -> None:
    if _state is not None and not _state.written:
        try:
            _state.written = True
            _state.write()
        except Exception:
            pass


def _follow_forks() -> None:
    """A forked worker (``multiprocessing``'s fork start method, a pool) ends with ``os._exit``, which skips
    ``atexit``: its calls were lost, and its function was reported not measured although the parent had patched it.
    A child starts its own counts (the parent's stay the parent's) and writes them on ``os._exit`` too."""
    from hybridize.tracer.exitpaths import before_os_exit

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_start_over_in_child)
    before_os_exit(_write_at_exit)


def _start_over_in_child() -> None:
    if _state is not None:
        try:
            _state.start_over()
        except Exception:
            pass


def record_test(nodeid: str, outcome: str, message: str = "") -> None:
    """Called by the trial pytest plugin: the worst outcome of a test's phases wins."""
    if _state is None:
        return
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    old = _state.tests.get(nodeid)
    if old is None or rank.get(outcome, 0) > rank.get(str(old.get("outcome")), 0):
        _state.tests[nodeid] = {"outcome": outcome, "message": message[:500]}


def only_tests() -> list[str] | None:
    """Node ids a bisection run restricts pytest to (None: run everything)."""
    if _state is None:
        return None
    only = _state.config.get("only_tests")
    return None if only is None else [str(x) for x in only]
