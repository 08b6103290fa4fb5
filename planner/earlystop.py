"""Early stop of the trial runs of a long script: once every candidate has enough steady-state calls, stop.

Real training runs for minutes or hours; a trial run needs only enough calls of each candidate to measure it.
The baseline run stops (exits 0 after writing its results) once every candidate has been called
``min(its profiled calls, MIN_STEADY + 1)`` times (its tracing call, then steady calls), checked when a top-level
measured call (one made from code outside every candidate) returns. The later runs must cover the same part of
the script, or their totals could not be compared: they stop at the same event, the same function's same
top-level call. Top-level calls come from code no conversion changes, so their sequence is the same in every run
of a deterministic script (a callee converted inside its caller is called fewer times eagerly; a top-level call
is not).

A stopped run's totals are then extrapolated to the whole script from its per-call evidence (each function's
steady calls scaled to its profiled count; tracing as measured), so that a conversion's tracing is weighed
against all the calls it will serve, as in a full run. Only for a script that is both the profiled and the
performance command (its profiled call counts are the counts of the run), only when the stop is expected within
the first half of the run, and never when ``early-stop = false`` in ``[tool.hybridize]``. The plan's notes say so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

MIN_STEADY = 30  # steady calls per candidate before a run may stop (the per-call evidence the plan extrapolates)
MAX_FRACTION = 0.5  # no early stop unless it is expected within this share of the run


def baseline_need(profile_calls: Mapping[str, int]) -> dict[str, int] | None:
    """The calls each candidate needs before the baseline may stop; None when stopping would save little."""
    need = {n: min(c, MIN_STEADY + 1) for n, c in profile_calls.items() if c > 0}
    if not need:
        return None
    fraction = max(need[n] / profile_calls[n] for n in need)
    return need if fraction <= MAX_FRACTION else None


class Stopper:
    """The trial hook's side: counts top-level returns against the run's stop rule and ends the process."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        need = config.get("need") or {}
        self.unmet = {str(k): int(v) for k, v in need.items()}
        self.dynamic = bool(self.unmet)
        at = config.get("at")
        self.at: tuple[str, int] | None = (str(at[0]), int(at[1])) if at else None
        self.top: dict[str, int] = {}  # top-level calls per function so far

    def after_call(self, state: Any, name: str, calls: int, top_level: bool) -> None:
        if top_level:
            self.top[name] = self.top.get(name, 0) + 1
        if self.at is not None:
            if top_level and name == self.at[0] and self.top[name] >= self.at[1]:
                self._stop(state, name)
            return
        if name in self.unmet and calls >= self.unmet[name]:
            del self.unmet[name]
        if self.dynamic and not self.unmet and top_level:
            self._stop(state, name)

    def _stop(self, state: Any, name: str) -> None:
        """Write the results and end the process now (exit status 0): the rest of the script is not run."""
        state.stopped = {"at": [name, self.top[name]], "calls": {n: st.calls for n, st in state.stats.items()}}
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            state.write()
        finally:
            os._exit(0)


class EarlyStop:
    """The planner's side: the stop rule of each run of the performance command, and what the plan says of it."""

    def __init__(self, need: dict[str, int], full_calls: dict[str, int], plain: set[str]) -> None:
        self.need = need
        self.full_calls = full_calls  # profiled calls per candidate: the whole script's
        self.plain = plain  # candidates that are plain functions (an existing tf.function's profile counts traces)
        self.at: list[Any] | None = None
        self.done = False  # the baseline ran: later runs stop at ``at`` (or run whole)

    def rule(self) -> dict[str, Any] | None:
        if not self.done:
            return {"need": self.need}
        return {"at": self.at} if self.at else None

    def after_baseline(self, stopped: Mapping[str, Any] | None) -> str | None:
        """Fix the later runs' stop from the baseline's; the note for the plan (None when it ran whole)."""
        self.done = True
        if not stopped or not stopped.get("at"):
            return None
        self.at = [str(stopped["at"][0]), int(stopped["at"][1])]
        return (f"trial runs stopped early, once every candidate had {MIN_STEADY} steady calls (or all it makes): "
                f"at top-level call {self.at[1]} of {self.at[0].partition(':')[2]}; the totals are extrapolated to the "
                "whole script from the per-call times measured (`early-stop = false` in [tool.hybridize] runs it "
                "whole)")

    def extrapolate(self, result: Any) -> None:
        """Scale a stopped run's totals to the whole script: each plain function's steady calls to its profiled
        count, the others (and the tape's time) by the share of the script the run covered."""
        if not result.stopped:
            return
        shares = [fr.calls / self.full_calls[n] for n, fr in result.functions.items()
                  if n in self.plain and self.full_calls.get(n, 0) > 0 and fr.calls > 0]
        share = min(1.0, max(shares)) if shares else 1.0
        for name, fr in result.functions.items():
            steady = fr.calls - fr.trace_calls
            if steady <= 0:
                continue
            full = self.full_calls.get(name, 0) if name in self.plain else 0
            target = full if full > fr.calls else fr.trace_calls + steady / share
            scale = (target - fr.trace_calls) / steady
            if scale <= 1.0:
                continue
            fr.time_s = fr.trace_time_s + (fr.time_s - fr.trace_time_s) * scale
            fr.taped_calls = round(fr.taped_calls * scale)
            fr.calls = round(target)
        result.gradient_s /= share
        result.gradient_calls = round(result.gradient_calls / share)


def plan(candidates: list[Any], perf: list[str], command: list[str], root: Any,
         raw_config: Mapping[str, Any]) -> EarlyStop | None:
    """An early stop for the trial runs of a long script that is both the profiled and the performance command;
    None otherwise (a test suite, another perf command, too few calls to stop early, ``early-stop = false``)."""
    from hybridize.tracer.runmain import main_module

    if raw_config.get("early-stop", True) is False or list(perf) != list(command) or main_module(perf, root) is None:
        return None
    calls = {c.function: c.profile.calls for c in candidates}
    need = baseline_need(calls)
    if need is None:
        return None
    return EarlyStop(need, calls, {c.function for c in candidates if c.current is None})
