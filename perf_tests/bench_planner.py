"""The planner's benchmark (not a timed test): are hybridize's recommendations as good as a careful human's?

    .venv/bin/python perf_tests/bench_planner.py [--project examples] [--reps 1] [--skip-profile] [--json FILE]

On a temporary copy of the project it measures, side by side on the performance command (conversions applied
in memory by the planner's trial hook, so every placement runs the same unmodified source):
  - eager: nothing converted;
  - hybridize: every recommendation of the plan written by ``hybridize profile``;
  - oracle: the best of the hand placements tried (for examples/, the placement its README's table describes,
    alone and merged with hybridize's), and hybridize's own plan (a hand placement can only be better if measured so);
  - static-all: "convert everything static analysis allows" (every function that received tensors and has no
    blocker finding, plain ``@tf.function``), which is what the research tool would do;
and the whole ``hybridize profile`` versus one plain run of the test command (target <= 4x), plus the test
outcomes under hybridize's recommendations (target: no test that passed fails). Prints a table; ``--json`` saves it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The examples README's "careful human" placement (function -> mode, settings), written as data, not code.
SIG_F32 = {"shape": [], "dtype": "float32"}
SIG_I32 = {"shape": [], "dtype": "int32"}
HAND: dict[str, dict[str, dict[str, Any]]] = {
    "examples": {
        "demo_model.train:train_step": {"mode": "graph", "settings": {}},
        "demo_model.evaluate:eval_step": {"mode": "graph", "settings": {}},
        "demo_model.numerics:expected_calibration_error": {"mode": "graph", "settings": {}},
        "demo_model.numerics:summary_statistics": {"mode": "graph", "settings": {"reduce_retracing": True}},
        "demo_model.train:augment_batch": {"mode": "graph", "settings": {
            "input_signature": [{"shape": [None, 32], "dtype": "float32"}, SIG_F32]}},
        "demo_model.evaluate:predict_proba": {"mode": "graph", "settings": {"reduce_retracing": True}},
        "demo_model.train:warmup_learning_rate": {"mode": "graph", "settings": {
            "input_signature": [SIG_I32, SIG_F32, SIG_I32]}},
        "demo_model.evaluate:count_correct": {"mode": "eager"},
    }
}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 1800) -> tuple[int, float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, time.perf_counter() - start, proc.stdout + proc.stderr


def perf_seconds(output: str, wall: float) -> float:
    """The workload's own timer when it prints one (``perf: X s wall``), else the process wall time."""
    match = re.search(r"perf:\s*([0-9.]+)\s*s", output)
    return float(match.group(1)) if match else wall


def trial(project: Path, command: list[str], targets: list[dict[str, Any]], label: str) -> tuple[float, int, str]:
    from hybridize.planner.trials import output_tail, run_trial

    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = run_trial(command, root=project, work_dir=project / ".hybridize" / "bench", label=label, targets=targets)
    finally:
        os.chdir(cwd)
    log = (project / ".hybridize" / "bench" / label / "output.log").read_text(encoding="utf-8", errors="replace")
    failed = sum(1 for t in result.tests.values() if t.get("outcome") in ("failed", "error"))
    if result.exit_code not in (0, 1):
        print(f"  {label}: exit {result.exit_code}: {output_tail(project / '.hybridize' / 'bench', label, 2)}")
    return perf_seconds(log, result.duration_s), failed, log


def plan_targets(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in plan["recommendations"]:
        if r["action"] == "dehybridize":
            out[r["function"]] = {"mode": "eager"}
        else:
            out[r["function"]] = {"mode": "graph", "settings": r.get("settings") or {}}
    return out


def static_all(project: Path) -> dict[str, dict[str, Any]]:
    from hybridize.identity import FunctionId
    from hybridize.planner.candidates import received_tensors
    from hybridize.project import load_config
    from hybridize.static import analyze
    from hybridize.tracer.store import load_profile

    config = load_config(project)
    reports = {f.function: f.to_json() for f in analyze(project, [project / p for p in config.paths] or None,
                                                        config.exclude).functions}
    out: dict[str, dict[str, Any]] = {}
    for fn in load_profile(project / ".hybridize").functions:
        rep = reports.get(fn.function)
        if fn.hybrid or FunctionId.is_nested_qualname(fn.qualname) or not received_tensors(fn.signatures):
            continue
        if rep is not None and any(f.get("severity") == "blocker" for f in rep.get("findings", [])):
            continue
        out[fn.function] = {"mode": "graph", "settings": {}}
    return out


def as_targets(placement: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"function": k, **v} for k, v in placement.items()]


def ref_tree(ref: str) -> Path:
    """The package as of git ``ref``, laid out importably (stage folders under hybridize/), for PYTHONPATH:
    it shadows the editable install, whose finder comes after the path entries."""
    base = Path(tempfile.mkdtemp(prefix="hybridize-ref-"))
    src = base / "src"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(src), ref], check=True,
                   capture_output=True)
    tree = base / "tree" / "hybridize"
    shutil.copytree(src / "hybridize", tree)
    for stage in ("tracer", "static", "planner", "rewriter"):
        if (src / stage).is_dir():
            shutil.copytree(src / stage, tree / stage)
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(src)], capture_output=True)
    return base / "tree"


def trial_runs(project: Path) -> str:
    """Each trial run's label and seconds, from the plan's meta."""
    try:
        plan = json.loads((project / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "(no plan)"
    runs = plan.get("meta", {}).get("runs") or []
    return ", ".join(f"{r.get('label')} {float(r.get('duration_s') or 0):.1f}" for r in runs) or "(none)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default=str(REPO / "examples"))
    parser.add_argument("--test-command", default=None, help="default: [tool.hybridize] test-command or pytest -q tests")
    parser.add_argument("--reps", type=int, default=1, help="best of N runs per placement (alternating)")
    parser.add_argument("--skip-profile", action="store_true", help="reuse the copy's existing plan (with --workdir)")
    parser.add_argument("--workdir", default=None, help="where to copy the project (default: a temporary folder)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--profile-only", action="store_true", help="only the profile-cost ratio, no placements")
    parser.add_argument("--compare-ref", default=None,
                        help="also time `hybridize profile` with the package as of this git ref, side by side")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from hybridize.project import load_config

    src = Path(args.project).resolve()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hybridize-bench-")) / src.name
    if not args.skip_profile:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(src, work, ignore=shutil.ignore_patterns(".hybridize", "__pycache__"))
    config = load_config(work)
    test_cmd = shlex.split(args.test_command) if args.test_command else (config.test_command or ["pytest", "-q", "tests"])
    perf_cmd = config.perf_command or test_cmd
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    os.environ["PATH"] = env["PATH"]  # the in-process trials resolve `python` as the profile did: this venv's
    row: dict[str, Any] = {"project": src.name, "python": sys.version.split()[0]}

    if not args.skip_profile:
        if args.compare_ref:  # the reference first (its plan is then overwritten by the current one)
            ref_env = dict(env, PYTHONPATH=str(ref_tree(args.compare_ref)))
            _, plain_ref, _ = run(test_cmd, work, env)
            rc1, ref_s, out = run([str(BIN / "hybridize"), "profile", "--", *test_cmd], work, ref_env)
            if rc1 != 0:
                print(out[-3000:])
            row.update(ref=args.compare_ref, ref_plain_test_s=round(plain_ref, 2), ref_profile_s=round(ref_s, 2),
                       ref_profile_ratio=round(ref_s / plain_ref, 2), ref_trial_runs=trial_runs(work))
            print(f"[{args.compare_ref}] plain test run {plain_ref:.1f} s; hybridize profile {ref_s:.1f} s "
                  f"({ref_s / plain_ref:.1f}x); trial runs: {row['ref_trial_runs']}", flush=True)
        _, plain_s, _ = run(test_cmd, work, env)
        rc2, prof_s, out = run([str(BIN / "hybridize"), "profile", "--", *test_cmd], work, env)
        if rc2 != 0:
            print(out[-3000:])
        row.update(plain_test_s=round(plain_s, 2), profile_s=round(prof_s, 2), profile_ratio=round(prof_s / plain_s, 2),
                   trial_runs=trial_runs(work))
        print(f"[current] plain test run {plain_s:.1f} s; hybridize profile {prof_s:.1f} s ({prof_s / plain_s:.1f}x, "
              f"target <= 4x); trial runs: {row['trial_runs']}", flush=True)
        if args.profile_only:
            if args.json:
                Path(args.json).write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
            return 0
    plan = json.loads((work / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    placements: dict[str, dict[str, dict[str, Any]]] = {"eager": {}, "hybridize": plan_targets(plan),
                                                         "static-all": static_all(work)}
    hand = HAND.get(src.name)
    if hand:
        placements["hand"] = hand
        placements["hand+hybridize"] = {**hand, **plan_targets(plan)}
    times: dict[str, float] = {}
    for rep in range(args.reps):
        for name, placement in placements.items():
            secs, _, _ = trial(work, perf_cmd, as_targets(placement), f"{name}-{rep}")
            times[name] = min(times.get(name, float("inf")), secs)
            print(f"  rep {rep + 1}: {name:15s} {secs:8.2f} s  ({len(placement)} function(s))", flush=True)
    _, failed, _ = trial(work, test_cmd, as_targets(placements["hybridize"]), "tests-hybridize")
    oracle_name = min((n for n in placements if n not in ("eager", "static-all")), key=lambda n: times[n])
    eager, hyb, oracle, allowed = times["eager"], times["hybridize"], times[oracle_name], times["static-all"]
    row.update(eager_s=round(eager, 3), hybridize_s=round(hyb, 3), oracle_s=round(oracle, 3), oracle=oracle_name,
               static_all_s=round(allowed, 3), tests_failing_under_hybridize=failed,
               speedup_hybridize=round(eager / hyb, 3), speedup_oracle=round(eager / oracle, 3),
               speedup_static_all=round(eager / allowed, 3),
               fraction_of_oracle=round((eager / hyb - 1) / max(eager / oracle - 1, 1e-9), 3),
               recommendations=[f"{r['action']} {r['function']} {r['decorator']}" for r in plan["recommendations"]])
    print(f"\n{'project':10s} {'eager s':>8s} {'hybridize':>10s} {'oracle':>8s} {'static-all':>10s} "
          f"{'hyb x':>6s} {'oracle x':>8s} {'all x':>6s} {'of oracle':>9s} tests-failing")
    print(f"{src.name:10s} {eager:8.2f} {hyb:10.2f} {oracle:8.2f} {allowed:10.2f} {eager / hyb:6.2f} "
          f"{eager / oracle:8.2f} {eager / allowed:6.2f} {row['fraction_of_oracle']:9.0%} {failed}")
    print(f"(oracle = best of hand placements tried: {oracle_name}; 'of oracle' = hybridize's speedup gain / oracle's)")
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
