"""Tracer overhead, measured side by side (not a timed test): run with each interpreter to compare back ends.

    .venv/bin/python perf_tests/bench_tracer.py        # Python 3.11: the import-hook back end
    .venv312/bin/python perf_tests/bench_tracer.py     # Python 3.12: the sys.monitoring back end

Workloads, each run plain and under ``hybridize profile --no-measure`` alternately (``--reps`` times, best of):
  1. the examples project's pytest suite (targets: <= 1.15x on 3.12+, <= 1.5x on 3.11);
  2. a call-dense pure-Python workload (a worst case: tiny project functions called ~1.2 M times);
  3. profile size at two call counts (it must not grow with the call count).
Prints wall seconds and ratios; the profile also counts the tracer's own internal errors, printed here too.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

DENSE = '''
def leaf(x, y=1):
    return x + y


def middle(n):
    total = 0
    for i in range(n):
        total = leaf(total, i & 3)
    return total


class Acc:
    def add(self, v):
        return v * 2


def run(calls):
    acc = Acc()
    total = 0
    for _ in range(calls // 1000):
        total += middle(500)
        for j in range(500):
            total += acc.add(j & 7)
    return total
'''


def make_dense_project(base: Path) -> Path:
    root = base / "dense"
    (root / "dense").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "dense"\nversion = "0"\n')
    (root / "dense" / "__init__.py").write_text("")
    (root / "dense" / "work.py").write_text(DENSE)
    return root


CPU: dict[str, list[float]] = {}  # run label -> CPU seconds (user + system) of every process of each run


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, label: str = "") -> float:
    """Wall seconds; the CPU seconds (less sensitive to other load on a shared machine) go to ``CPU[label]``."""
    c0 = _cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    CPU.setdefault(label, []).append(_cpu() - c0)
    return elapsed


def profiled(cmd: list[str], data: Path, coverage: bool = True) -> list[str]:
    extra = [] if coverage else ["--no-coverage"]
    return [PY, "-m", "hybridize", "profile", "--no-measure", *extra, "--data-dir", str(data), "--", *cmd]


def side_by_side(name: str, cmd: list[str], cwd: Path, data: Path, reps: int) -> tuple[float, float]:
    """Plain, profiled, and profiled without line coverage, interleaved so that load changes hit all three alike."""
    runs: dict[str, list[float]] = {"plain": [], "profiled": [], "no-coverage": []}
    CPU.clear()
    for _ in range(reps):
        runs["plain"].append(timed(cmd, cwd, "plain"))
        runs["no-coverage"].append(timed(profiled(cmd, data, coverage=False), cwd, "no-coverage"))
        runs["profiled"].append(timed(profiled(cmd, data), cwd, "profiled"))
    p = min(runs["plain"])
    t = min(runs["profiled"])
    n = min(runs["no-coverage"])
    print(f"{name:<34} plain {p:7.2f} s   profiled {t:7.2f} s = {t / p:5.2f}x   without line coverage {n:7.2f} s = {n / p:5.2f}x",
          flush=True)
    print(f"{'':<34} all runs: " + "; ".join(f"{k} {', '.join(f'{x:.2f}' for x in v)}" for k, v in runs.items()), flush=True)
    cp, ct, cn = min(CPU["plain"]), min(CPU["profiled"]), min(CPU["no-coverage"])
    print(f"{'':<34} CPU seconds (all processes): plain {cp:.2f}, profiled {ct:.2f} = {ct / cp:.2f}x, "
          f"without line coverage {cn:.2f} = {cn / cp:.2f}x", flush=True)
    return p, t


def profile_summary(data: Path) -> dict[str, object]:
    con = sqlite3.connect(data / "profile.db")
    try:
        meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
        calls = con.execute("SELECT COALESCE(SUM(calls), 0) FROM functions").fetchone()[0]
        rows = con.execute("SELECT COUNT(*) FROM signatures").fetchone()[0]
    finally:
        con.close()
    return {"calls": calls, "signature_rows": rows, "bytes": (data / "profile.db").stat().st_size,
            "internal_errors": meta.get("internal_errors"), "processes": meta.get("processes")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="runs of each side (best of)")
    parser.add_argument("--calls", type=int, default=1_200_000, help="project calls in the dense workload")
    parser.add_argument("--skip-examples", action="store_true")
    parser.add_argument("--only-examples", action="store_true")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} ({PY}), {args.reps} reps, best of each side", flush=True)
    with tempfile.TemporaryDirectory(prefix="hybridize-bench-") as tmp:
        base = Path(tmp)
        if not args.skip_examples:
            ex = base / "examples"
            shutil.copytree(REPO / "examples", ex, ignore=shutil.ignore_patterns(".hybridize", "__pycache__"))
            cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
            side_by_side("examples: pytest tests", cmd, ex, base / "data-ex", args.reps)
            print(f"{'':<34} profile: {profile_summary(base / 'data-ex')}", flush=True)
        if args.only_examples:
            return
        dense = make_dense_project(base)
        p0, t0 = side_by_side("fixed cost: python -c pass", [PY, "-c", "pass"], dense, base / "data-0", args.reps)
        code = "import sys, dense.work as w; w.run(int(sys.argv[1]))"
        p1, t1 = side_by_side(f"dense: {args.calls:,} tiny calls", [PY, "-c", code, str(args.calls)], dense,
                              base / "data-d1", args.reps)
        per_call = ((t1 - t0) - (p1 - p0)) / args.calls * 1e6
        print(f"{'':<34} without the fixed cost: {(t1 - t0) / max(p1 - p0, 1e-9):.1f}x, {per_call:.2f} us per project call",
              flush=True)
        small = profile_summary(base / "data-d1")
        print(f"{'':<34} profile: {small}", flush=True)
        timed(profiled([PY, "-c", code, str(args.calls // 10)], base / "data-d2"), dense)
        tenth = profile_summary(base / "data-d2")
        print(f"profile size: {tenth['bytes']} bytes at {tenth['calls']:,} calls, {small['bytes']} bytes at "
              f"{small['calls']:,} calls (signature rows {tenth['signature_rows']} vs {small['signature_rows']})", flush=True)


if __name__ == "__main__":
    main()
