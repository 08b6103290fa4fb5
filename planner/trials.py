"""Running one trial: the performance (or test) command with chosen conversions applied in memory.

Each trial writes a config file, boots ``trial_hook.install`` in every Python process of the command
through the one launcher (``hybridize.process``) or a warm-start server, then sums the per-process result files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.planner.budget import RunLimit
from hybridize.planner.placement import trial_command as placed_command
from hybridize.planner.trial_hook import CONFIG_ENV
from hybridize.planner.warmstart import WarmStarter
from hybridize.process import INTERRUPTED, TIMED_OUT, run_command

BOOT = "hybridize.planner.trial_hook:install"
PLUGIN = "hybridize.planner.trial_pytest"


@dataclass
class FunctionResult:
    calls: int = 0
    time_s: float = 0.0
    nested_calls: int = 0
    trace_calls: int = 0
    trace_time_s: float = 0.0
    trace_cpu_s: float | None = None  # CPU seconds of the process during the tracing calls (None: not recorded)
    traces: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    digests: list[dict[str, Any]] = field(default_factory=list)
    replays: list[dict[str, Any]] = field(default_factory=list)  # same-run eager replays (graph vs eager digests)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    instances: int | None = None  # distinct objects a method was called on (runs that record signatures)
    instances_capped: bool = False  # then ``instances`` is a lower bound
    taped_calls: int = 0  # calls made while a GradientTape could record them
    min_s: float | None = None  # the fastest call that did not trace

    def robust_total(self, calls: int) -> float | None:
        """Time for ``calls`` calls from the fastest call: noise only adds time, so this estimate holds where one
        noisy run inflates the totals. Tracing counts at most the CPU the process spent in it: on a loaded machine
        its wall time also holds the waits for other processes, enough to make a short run's clear win look slower
        than eager."""
        if self.min_s is None:
            return None
        trace = self.trace_time_s if self.trace_cpu_s is None else min(self.trace_time_s, self.trace_cpu_s)
        return trace + self.min_s * max(calls - self.trace_calls, 0)

    @property
    def steady_calls(self) -> int:
        return self.calls - self.trace_calls

    def per_call_s(self) -> float | None:
        """Per-call time of calls that did not trace (tracing excluded); all calls when every call traced."""
        if self.steady_calls > 0:
            return (self.time_s - self.trace_time_s) / self.steady_calls
        return self.time_s / self.calls if self.calls else None

    def to_json(self) -> dict[str, Any]:
        out = {"calls": self.calls, "time_s": round(self.time_s, 6), "nested_calls": self.nested_calls,
               "trace_calls": self.trace_calls, "trace_time_s": round(self.trace_time_s, 6), "traces": self.traces,
               "errors": self.errors}
        if self.instances is not None:
            out.update(instances=self.instances, instances_capped=self.instances_capped)
        if self.taped_calls:
            out["taped_calls"] = self.taped_calls
        return out


@dataclass
class TrialResult:
    label: str
    command: list[str]
    exit_code: int
    duration_s: float
    timed_out: bool = False
    limit: RunLimit | None = None  # the timeout it ran under and why (set by the pipeline)
    functions: dict[str, FunctionResult] = field(default_factory=dict)
    edges: dict[tuple[str, str], int] = field(default_factory=dict)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    patched: set[str] = field(default_factory=set)
    hook_errors: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # function -> why the hook could not wrap it in place
    processes: int = 0
    gradient_s: float = 0.0  # tape.gradient calls outside every wrapped function: their time and count
    gradient_calls: int = 0
    changed: set[str] = field(default_factory=set)  # the functions this run converted, retuned or made eager
    stopped: dict[str, Any] | None = None  # stopped early (``planner.earlystop``): where, and the calls by then

    def func(self, name: str) -> FunctionResult:
        return self.functions.get(name) or FunctionResult()

    def failed_tests(self) -> dict[str, str]:
        return {k: str(v.get("message", "")) for k, v in self.tests.items() if v.get("outcome") in ("failed", "error")}

    def summary(self) -> dict[str, Any]:
        return {"label": self.label, "exit_code": self.exit_code, "duration_s": round(self.duration_s, 3),
                "timed_out": self.timed_out, "processes": self.processes,
                "tests": {o: sum(1 for t in self.tests.values() if t.get("outcome") == o)
                          for o in ("passed", "failed", "error", "skipped")},
                "hook_errors": self.hook_errors[:20]}


def merge_signatures(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Union of two signature lists in first-seen order, counts added."""
    out: dict[str, dict[str, Any]] = {}
    for sig in [*a, *b]:
        key = json.dumps(sig.get("args"), sort_keys=True, default=str)
        if key in out:
            out[key]["count"] = int(out[key].get("count", 0)) + int(sig.get("count", 0))
        else:
            out[key] = {"count": int(sig.get("count", 0)), "args": sig.get("args")}
    return list(out.values())


def merge_results(label: str, command: list[str], exit_code: int, duration_s: float, out_dir: Path,
                  timed_out: bool = False) -> TrialResult:
    """Sum the per-process files of one trial."""
    result = TrialResult(label, command, exit_code, duration_s, timed_out)
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        result.processes += 1
        result.patched.update(data.get("patched", []))
        result.hook_errors.extend(str(e) for e in data.get("hook_errors", []))
        result.unreachable.update({str(k): str(v) for k, v in (data.get("unreachable") or {}).items()})
        for name, st in data.get("functions", {}).items():
            fr = result.functions.setdefault(name, FunctionResult())
            fr.calls += int(st.get("calls", 0))
            fr.time_s += float(st.get("time_s", 0.0))
            fr.nested_calls += int(st.get("nested_calls", 0))
            fr.trace_calls += int(st.get("trace_calls", 0))
            fr.trace_time_s += float(st.get("trace_time_s", 0.0))
            if st.get("trace_cpu_s") is not None:
                fr.trace_cpu_s = (fr.trace_cpu_s or 0.0) + float(st["trace_cpu_s"])
            fr.traces += int(st.get("traces", 0))
            for err, n in st.get("errors", {}).items():
                fr.errors[err] = fr.errors.get(err, 0) + int(n)
            fr.digests.extend(st.get("digests", []))
            fr.replays.extend(st.get("replays", []))
            fr.signatures = merge_signatures(fr.signatures, st.get("signatures", []))
            fr.taped_calls += int(st.get("taped_calls", 0))
            if st.get("min_s") is not None:
                fr.min_s = float(st["min_s"]) if fr.min_s is None else min(fr.min_s, float(st["min_s"]))
            if st.get("instances") is not None:  # objects of different processes are different objects
                fr.instances = (fr.instances or 0) + int(st["instances"])
                fr.instances_capped = fr.instances_capped or bool(st.get("instances_capped"))
        if data.get("stopped") is not None:
            result.stopped = dict(data["stopped"])
        gradient = data.get("gradient") or {}
        result.gradient_s += float(gradient.get("s", 0.0))
        result.gradient_calls += int(gradient.get("calls", 0))
        for a, b, n in data.get("edges", []):
            result.edges[(a, b)] = result.edges.get((a, b), 0) + int(n)
        for nodeid, outcome in data.get("tests", {}).items():
            result.tests[nodeid] = outcome
    return result


def launch(cmd: list[str], *, root: Path, env: dict[str, str], timeout_s: float | None,
           log: Path | None = None) -> int:
    """Run one trial cold through the launcher; Ctrl-C, which the launcher passed on and returned as 130, raises
    ``KeyboardInterrupt`` here so the planner stops."""
    code = run_command(cmd, root=root, boot=[BOOT], env=env, timeout_s=timeout_s, log=log)
    if code == INTERRUPTED:
        raise KeyboardInterrupt
    return code


def resolve_command(cmd: list[str]) -> list[str]:
    """Run ``pytest``/``python`` with the interpreter hybridize runs under when they are that venv's."""
    if cmd and cmd[0] in ("python", "python3"):
        return [sys.executable, *cmd[1:]]
    if cmd and cmd[0] in ("pytest", "py.test"):
        return [sys.executable, "-m", "pytest", *cmd[1:]]
    return list(cmd)


def trial_env() -> dict[str, str]:
    """The environment every trial run shares (the per-run config path is added by ``run_trial``)."""
    env = dict(os.environ)
    plugins = [p for p in env.get("PYTEST_PLUGINS", "").split(",") if p]
    if PLUGIN not in plugins:
        plugins.append(PLUGIN)
    env["PYTEST_PLUGINS"] = ",".join(plugins)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_trial(command: list[str], *, root: Path, work_dir: Path, label: str, targets: list[dict[str, Any]],
              timeout_s: float | None = None, only_tests: list[str] | None = None, digest_calls: int = 0,
              record_signatures: bool = False, quiet: bool = True, warm: WarmStarter | None = None,
              stop: dict[str, Any] | None = None) -> TrialResult:
    """Run ``command`` once with ``targets`` (``{"function", "mode", "settings"}``) applied; never raises for a
    failing run. With ``warm``, a quiet run of a Python command starts from a process that has imported TensorFlow;
    ``stop`` is the run's early-stop rule (``planner.earlystop``)."""
    run_dir = work_dir / label
    shutil.rmtree(run_dir, ignore_errors=True)
    out_dir = run_dir / "out"
    out_dir.mkdir(parents=True)
    config = {"out_dir": str(out_dir), "root": str(root), "targets": targets, "only_tests": only_tests,
              "digest_calls": digest_calls, "record_signatures": record_signatures, "stop": stop}
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = trial_env()
    extra = {CONFIG_ENV: str(config_path)}
    cmd = list(command)  # as the profile ran it: whatever `python`/`pytest` meant there
    start = time.perf_counter()
    log = run_dir / "output.log" if quiet else None
    code: int | None = None
    if log is not None and warm is not None:
        code = warm.run(cmd, env, extra, log=log, timeout_s=timeout_s)
        if code is None:  # run it cold: drop whatever a warm attempt wrote
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            start = time.perf_counter()
    if code is None:
        code = launch(placed_command(cmd, root, targets), root=root, env={**env, **extra}, timeout_s=timeout_s,
                      log=log)
    duration = time.perf_counter() - start
    result = merge_results(label, command, code, duration, out_dir, timed_out=code == TIMED_OUT)
    result.changed = {str(t["function"]) for t in targets if t.get("mode") != "time"}
    return result


def output_tail(work_dir: Path, label: str, lines: int = 5) -> str:
    log = work_dir / label / "output.log"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
