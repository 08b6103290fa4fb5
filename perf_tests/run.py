"""The benchmark of issue 6: is hybridize as good as a careful human, on programs like the ones users write?

    .venv/bin/python perf_tests/run.py [--quick] [--repeats N] [--no-apply] [NAME ...]

For each workload of ``perf_tests/workloads`` (and ``examples`` when named or when no name is given):
  1. materialize it in a temporary folder and run the real pipeline there, as a user would:
     ``hybridize profile --perf "python bench.py" -- python -m pytest -q tests`` (a subprocess, the venv's bin first
     on PATH), then read ``.hybridize/plan.json``; the wall time of that command is "pipeline s";
  2. map the plan's recommendations to a placement ``{qualname: {"action", "settings"}}`` and time side by side,
     interleaved, best of ``--repeats``, each bench in a fresh process (``registry.compare_many(fresh=True)``: one-time
     costs included, as a user's program pays them; ``--in-process`` times all in one warm process instead):
     eager, hybridize's placement, the ORACLE (the workload's hand placement) and "convert everything static analysis
     allows" (``registry.convert_everything``), comparing every placement's outputs to eager's within ``--rtol``;
     identical placements are one program, timed once; when hybridize and the oracle differ by more than 5 % either
     way, ``--settle`` (4) more interleaved repeats of eager, hybridize and the oracle (never one placement alone);
  3. score hybridize's decisions against the oracle's function by function: a function is "positive" when its
     action is convert / tune / dehybridize and "negative" when it is kept as it is; precision and recall of the
     positives, and every disagreement (including same action, different settings) listed;
  4. unless ``--no-apply``: ``hybridize apply`` (every recommendation) on the copy, then its tests again;
  5. print one table and write ``perf_tests/results/results.json`` and ``results.md`` (rows of workloads not run
     this time are kept from the previous file, each row carries its own date and load average).

``--quick``: small workloads, and at most two of them (one convertible, one to leave alone) unless names are
given: checks that the harness runs end to end. Ratios are measured side by side in one harness run; absolute
seconds depend on the machine's load (recorded with each row).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = REPO / "perf_tests" / "results"
POSITIVE = ("convert", "tune", "dehybridize")
QUICK_NAMES = ("numeric_library", "side_effects")
EXAMPLES = "examples"
TEST_COMMAND = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]

if str(REPO) not in sys.path:  # `python perf_tests/run.py` puts perf_tests/, not the repo, on sys.path
    sys.path.insert(0, str(REPO))


# ----------------------------------------------------------------------------------------------- pure parts


def plan_to_placement(plan: Mapping[str, Any], module: str | None = None,
                      extracted_step: str | None = None) -> dict[str, dict[str, Any]]:
    """The plan's recommendations as a placement. With ``module``, only ``"module:qualname"`` ids of that module,
    keyed by qualname (the workloads' ORACLE keys); without, keyed by the full function id (examples/).

    An ``extract`` recommendation names a loop, not a function: in-process it is the conversion of
    ``extracted_step``, the workload's function holding the same statements (its ``EXTRACTED_STEP``), with the
    plan's settings; without one it stays an ``extract`` entry no bench can place."""
    out: dict[str, dict[str, Any]] = {}
    for rec in plan.get("recommendations", []):
        function = str(rec.get("function", ""))
        mod, _, qualname = function.partition(":")
        if module is not None and mod != module:
            continue
        key = qualname if module is not None else function
        action = rec.get("action", "convert")
        if action == "extract" and extracted_step is not None:
            key, action = extracted_step, "convert"
        out[key] = {"action": action, "settings": dict(rec.get("settings") or {})}
    return out


def rejection_reasons(plan: Mapping[str, Any], module: str | None = None) -> dict[str, str]:
    """``{qualname (or id): reason}`` for the plan's rejected functions: why hybridize kept them."""
    out: dict[str, str] = {}
    for rej in plan.get("rejected", []):
        mod, _, qualname = str(rej.get("function", "")).partition(":")
        if module is not None and mod != module:
            continue
        out[qualname if module is not None else str(rej.get("function"))] = str(rej.get("reason", ""))
    return out


def _is_positive(entry: Mapping[str, Any] | None) -> bool:
    return entry is not None and entry.get("action") in POSITIVE


def _settings(entry: Mapping[str, Any] | None) -> dict[str, Any]:
    """Settings with unset (``None``) values dropped, also inside ``input_signature`` specs (``"name": null``)."""
    out = {k: v for k, v in dict((entry or {}).get("settings") or {}).items() if v is not None}
    if isinstance(out.get("input_signature"), list):
        out["input_signature"] = [{k: v for k, v in spec.items() if v is not None} if isinstance(spec, Mapping)
                                  else spec for spec in out["input_signature"]]
    return out


def score(tool: Mapping[str, Mapping[str, Any]], oracle: Mapping[str, Mapping[str, Any]],
          reasons: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Precision / recall of the tool's "change this function" decisions against the oracle's, function by function.

    The universe is every function either side names; a function absent from a placement is kept as it is.
    Precision = TP / (TP + FP), recall = TP / (TP + FN); ``None`` when undefined (nothing chosen / nothing to find).
    ``disagreements`` lists each function where the two differ: a different decision, or the same action with
    different settings (reported, not counted against precision or recall).
    """
    reasons = reasons or {}
    tp = fp = fn = tn = 0
    disagreements: list[dict[str, Any]] = []
    for name in sorted(set(tool) | set(oracle)):
        t, o = tool.get(name), oracle.get(name)
        tp_, op_ = _is_positive(t), _is_positive(o)
        t_action = t.get("action") if tp_ and t is not None else "keep"
        o_action = o.get("action") if op_ and o is not None else "keep"
        if tp_ and op_:
            tp += 1
        elif tp_:
            fp += 1
        elif op_:
            fn += 1
        else:
            tn += 1
        kind = ""
        if tp_ != op_ or t_action != o_action:
            kind = "decision"
        elif tp_ and _settings(t) != _settings(o):
            kind = "settings"
        if kind:
            row: dict[str, Any] = {"function": name, "kind": kind, "hybridize": t_action, "oracle": o_action,
                                   "hybridize_settings": _settings(t), "oracle_settings": _settings(o)}
            if not tp_ and name in reasons:
                row["hybridize_reason"] = reasons[name]
            if o is not None and o.get("why"):
                row["oracle_why"] = o["why"]
            disagreements.append(row)
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "disagreements": disagreements,
    }


def same_decisions(tool: Mapping[str, Mapping[str, Any]], oracle: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when both placements change the same functions the same way: their time difference is then noise."""
    def changed(p: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
        return {k: (str(v.get("action")), json.dumps(_settings(v), sort_keys=True)) for k, v in p.items()
                if _is_positive(v)}
    return changed(tool) == changed(oracle)


def outputs_ok(row: Mapping[str, Any], labels: tuple[str, ...], rtol: float) -> tuple[bool | None, list[str]]:
    """Did every placement that ran reproduce eager's outputs within ``rtol``? ``(ok, problems)``;
    ``None`` when no outputs were compared (examples/ is timed through its perf command only)."""
    problems: list[str] = []
    compared = False
    for label in labels:
        cell = row.get(label)
        if not isinstance(cell, Mapping):
            continue
        if "error" in cell:
            problems.append(f"{label}: raised {cell['error']}")
            continue
        diff = cell.get("max_rel_output_diff")
        if diff is None:
            continue
        compared = True
        if not diff <= rtol:  # NaN fails too
            problems.append(f"{label}: output differs from eager by {diff:.2g} (rtol {rtol:g})")
    if problems:
        return False, problems
    return (True if compared else None), problems


def rotated(items: list[Any], k: int) -> list[Any]:
    """``items`` rotated left by ``k`` (the placements' order in repeat ``k``)."""
    if not items:
        return []
    k %= len(items)
    return items[k:] + items[:k]


def merge_timings(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several ``compare_many`` results (one per repeat) -> one: best eager, best of each placement, its speedup
    and output difference recomputed against the best eager run; a placement that raised once is an error."""
    best = min(runs, key=lambda r: float(r["eager_s"]))
    eagers = [float(r["eager_s"]) for r in runs]
    out: dict[str, Any] = {"workload": best.get("workload"), "eager_s": best["eager_s"],
                           "outputs_eager": best.get("outputs_eager"),
                           "eager_spread": max(eagers) / min(eagers) if min(eagers) > 0 else None,
                           "timed_as": dict(runs[0].get("timed_as") or {})}
    labels = [k for k, v in runs[0].items() if isinstance(v, Mapping) and ("s" in v or "error" in v)]
    for label in labels:
        cells = [r[label] for r in runs if isinstance(r.get(label), Mapping)]
        errors = [c for c in cells if "error" in c]
        if errors:
            out[label] = dict(errors[0])
            continue
        cell = dict(min(cells, key=lambda c: float(c["s"])))
        eager_out = out["outputs_eager"] or {}
        mine = cell.get("outputs") or {}
        diffs = [abs(mine[k] - v) / max(abs(v), 1e-6) for k, v in eager_out.items() if k in mine]
        cell["speedup"] = float(out["eager_s"]) / float(cell["s"]) if cell["s"] else float("nan")
        cell["max_rel_output_diff"] = max(diffs, default=cell.get("max_rel_output_diff", 0.0))
        out[label] = cell
    return out


SETTLE_BAND = 0.05  # hybridize vs oracle further apart than this gets more repeats of both (``--settle``)


def hyb_vs_oracle(timing: Mapping[str, Any]) -> float | None:
    """hybridize's speedup as a fraction of the oracle's (oracle seconds / hybridize seconds)."""
    hyb, oracle = timing.get("hybridize"), timing.get("oracle")
    if not isinstance(hyb, Mapping) or not isinstance(oracle, Mapping) or "s" not in hyb or "s" not in oracle:
        return None
    return _ratio(float(oracle["s"]), float(hyb["s"]))


def unsettled(timing: Mapping[str, Any]) -> bool:
    """Whether hybridize and the oracle differ by more than the band either way: a difference that few
    repeats cannot tell from this machine's noise (with other jobs running, fresh-process benches of one
    trace-dominated workload were bimodal here, 0.47-0.52 s or 0.70-0.83 s for the same program; 0.39-0.44 s
    quiet), so both get more repeats, never one alone."""
    ratio = hyb_vs_oracle(timing)
    return ratio is not None and not (1 - SETTLE_BAND <= ratio <= 1 / (1 - SETTLE_BAND))


def settle_note(before: float | None, args: argparse.Namespace) -> str:
    """The row's note when the settle step re-measured it."""
    return (f"hybridize/oracle was {before or 0.0:.0%} after {args.repeats} repeats; best of "
            f"{args.repeats + args.settle} for eager, hybridize and oracle (all: {args.repeats})")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summarize(name: str, timing: Mapping[str, Any], scoring: Mapping[str, Any], *, pipeline_s: float | None,
              rtol: float) -> dict[str, Any]:
    """One results row from the side-by-side timing and the scoring."""
    def secs(label: str) -> float | None:
        cell = timing.get(label)
        return float(cell["s"]) if isinstance(cell, Mapping) and "s" in cell else None

    eager = timing.get("eager_s")
    hyb, oracle, every = secs("hybridize"), secs("oracle"), secs("all")
    ok, problems = outputs_ok(timing, ("hybridize", "oracle", "all"), rtol)
    return {
        "workload": name,
        "eager_s": eager, "hybridize_s": hyb, "oracle_s": oracle, "all_s": every,
        "speedup_hybridize": _ratio(eager, hyb), "speedup_oracle": _ratio(eager, oracle),
        "speedup_all": _ratio(eager, every),
        # hybridize's speed as a share of the oracle's: oracle_s / hybridize_s (100% = as fast as the hand placement)
        "hybridize_of_oracle": _ratio(oracle, hyb),
        "precision": scoring.get("precision"), "recall": scoring.get("recall"),
        "outputs_ok": ok, "output_problems": problems,
        "pipeline_s": pipeline_s,
        "errors": {k: v["error"] for k, v in timing.items() if isinstance(v, Mapping) and "error" in v},
        "eager_spread": timing.get("eager_spread"),  # slowest / fastest of the same eager program: the noise
        "timed_as": dict(timing.get("timed_as") or {}),
    }


def _fmt(value: Any, kind: str = "s") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if kind == "s":
        return f"{value:.2f}"
    if kind == "x":
        return f"{value:.2f}x"
    if kind == "%":
        return f"{value * 100:.0f}%"
    if kind == "p":
        return f"{value:.2f}"
    return str(value)


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("workload", "workload", ""),
    ("eager s", "eager_s", "s"),
    ("hybridize s", "hybridize_s", "s"),
    ("oracle s", "oracle_s", "s"),
    ("all s", "all_s", "s"),
    ("hyb x", "speedup_hybridize", "x"),
    ("oracle x", "speedup_oracle", "x"),
    ("all x", "speedup_all", "x"),
    ("hyb/oracle", "hybridize_of_oracle", "%"),
    ("precision", "precision", "p"),
    ("recall", "recall", "p"),
    ("outputs ok", "outputs_ok", ""),
    ("tests after apply", "tests_after_apply", ""),
    ("pipeline s", "pipeline_s", "s"),
)


def table_cells(row: Mapping[str, Any]) -> list[str]:
    return [_fmt(row.get(key), kind) if kind or isinstance(row.get(key), bool) or row.get(key) is None
            else str(row.get(key)) for _, key, kind in COLUMNS]


def render_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """A fixed-width table for the terminal."""
    header = [title for title, _, _ in COLUMNS]
    body = [table_cells(r) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    for b in body:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(b, widths, strict=True))))
    return "\n".join(lines)


def render_markdown(results: Mapping[str, Any]) -> str:
    """``results.md``: the machine, the table, and each workload's disagreements with the oracle."""
    machine = results.get("machine", {})
    rows = list(results.get("rows", []))
    out = [
        "# hybridize benchmark: eager vs hybridize vs oracle vs convert-everything",
        "",
        f"Generated by `perf_tests/run.py` on {results.get('date', '?')}; machine: {machine.get('platform', '?')}, "
        f"{machine.get('cpus', '?')} CPUs, Python {machine.get('python', '?')}, TensorFlow {machine.get('tensorflow', '?')}"
        f", Keras {machine.get('keras', '?')}. Mode: {'quick' if results.get('quick') else 'full'}, "
        f"best of {results.get('repeats', '?')} interleaved run(s) per placement.",
        "",
        "Columns: seconds of the workload's fixed bench (best of the repeats), all four placements timed side by side, "
        f"{results.get('timing') or 'in one process'}; `x` = eager / placement; `hyb/oracle` = oracle s / "
        "hybridize s (100% = as fast as the hand placement); precision / recall of hybridize's "
        "convert/tune/dehybridize decisions against the oracle's "
        "(n/a = nothing chosen / nothing to find); `outputs ok` = every placement's outputs within rtol of eager's; "
        "`tests after apply` = the copy's tests after `hybridize apply` of every recommendation; `pipeline s` = "
        "wall time of `hybridize profile` (traced test run + static analysis + trial runs).",
        "",
        "| " + " | ".join(title for title, _, _ in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for r in rows:
        out.append("| " + " | ".join(table_cells(r)) + " |")
    out.append("")
    out.append("Load average when each row was measured: " + ", ".join(
        f"{r.get('workload')} {r.get('loadavg', '?')}" for r in rows) + ".")
    spread = [r for r in rows if r.get("eager_spread")]
    if spread:
        shared = [f"{r.get('workload')} (" + ", ".join(f"{k} as {v}" for k, v in r["timed_as"].items()) + ")"
                  for r in rows if r.get("timed_as")]
        out.append("")
        out.append("Noise: the same eager program timed once per repeat, slowest / fastest: "
                   + ", ".join(f"{r.get('workload')} {float(r['eager_spread']):.2f}x" for r in spread)
                   + ". Differences of that size between placements are not significant. Identical placements are one "
                   "program and are timed once (hybridize = oracle, or hybridize = eager when it recommends nothing "
                   "placeable): " + (", ".join(shared) or "none") + ".")
    out += ["", "## Decisions vs the oracle", ""]
    for r in rows:
        recs = r.get("recommendations") or []
        out.append(f"### {r.get('workload')}")
        out.append("")
        out.append("hybridize recommended: " + (", ".join(f"`{x}`" for x in recs) if recs else "nothing") + ".")
        rej = r.get("rejected") or {}
        if rej:
            out.append("Rejected: " + ", ".join(f"`{k}` ({v})" for k, v in sorted(rej.items())) + ".")
        dis = r.get("disagreements") or []
        if not dis:
            out.append("Agrees with the oracle on every function.")
        for d in dis:
            line = (f"- `{d['function']}`: hybridize {d['hybridize']} {json.dumps(d.get('hybridize_settings') or {})}"
                    f", oracle {d['oracle']} {json.dumps(d.get('oracle_settings') or {})}")
            if d.get("hybridize_reason"):
                line += f"; hybridize's reason: {d['hybridize_reason']}"
            if d.get("oracle_why"):
                line += f"; oracle: {d['oracle_why']}"
            out.append(line)
        for p in r.get("output_problems") or []:
            out.append(f"- output problem: {p}")
        for k, v in (r.get("notes") or {}).items():
            out.append(f"- {k}: {v}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def merge_rows(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """Rows of this run replace the previous file's rows of the same workload; others are kept; ordered by ``order``
    (unknown names last)."""
    by_name: dict[str, dict[str, Any]] = {str(r.get("workload")): dict(r) for r in old}
    by_name.update({str(r.get("workload")): dict(r) for r in new})
    rank = {n: i for i, n in enumerate(order)}
    return sorted(by_name.values(), key=lambda r: (rank.get(str(r.get("workload")), len(rank)), str(r.get("workload"))))


# ----------------------------------------------------------------------------------------------- real runs


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="2")


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float) -> tuple[int, float]:
    start = time.perf_counter()
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {shlex.join(cmd)}\n")
        fh.flush()
        try:
            rc = subprocess.run(cmd, cwd=cwd, env=_env(), stdout=fh, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    return rc, time.perf_counter() - start


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": f"{platform.system()} {platform.machine()}", "cpus": os.cpu_count(),
                            "python": platform.python_version()}
    try:
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover
        info["tensorflow"] = None
    try:
        import keras

        info["keras"] = keras.__version__
    except ImportError:  # pragma: no cover
        info["keras"] = None
    return info


def loadavg() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def profile(project: Path, perf: str, log: Path, timeout: float) -> tuple[dict[str, Any], float, int]:
    """The real pipeline in ``project``: ``(plan, seconds, exit code)``; an empty plan if none was written."""
    rc, secs = _run([str(BIN / "hybridize"), "profile", "--perf", perf, "--", *TEST_COMMAND], project, log, timeout)
    try:
        plan = json.loads((project / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        plan = {"recommendations": [], "rejected": []}
    return plan, secs, rc


def apply_and_test(project: Path, log: Path, timeout: float) -> str:
    """``hybridize apply`` of every recommendation, then the tests: "passed", "failed (rc N)" or "apply failed"."""
    rc, _ = _run([str(BIN / "hybridize"), "apply"], project, log, timeout)
    if rc != 0:
        return f"apply failed (rc {rc})"
    rc, _ = _run(TEST_COMMAND, project, log, timeout)
    return "passed" if rc == 0 else f"failed (rc {rc})"


def bench_workload(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from perf_tests.workloads import registry

    log = work / f"{name}.log"
    previous = (args.previous_rows or {}).get(name, {})
    plan_file = work / name / ".hybridize" / "plan.json"
    reuse = bool(args.reuse_plans and plan_file.exists() and previous)
    if reuse:  # timing only: the plan of an earlier run in the same workdir, its pipeline seconds and apply outcome
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
        pipeline_s, rc = previous.get("pipeline_s"), int(previous.get("profile_exit") or 0)
        print(f"[{name}] reusing the plan in {plan_file}", flush=True)
    else:
        project = registry.materialize(name, work / name)
        perf = registry.perf_command(name, args.quick)
        print(f"[{name}] hybridize profile in {project} (log {log})", flush=True)
        plan, pipeline_s, rc = profile(project, perf, log, args.timeout)
    print(f"[{name}] profile exit {rc} in {pipeline_s or 0:.1f} s; {len(plan.get('recommendations', []))} "
          f"recommendation(s)", flush=True)
    workload = registry.load(name)
    tool = plan_to_placement(plan, name, getattr(workload.module, "EXTRACTED_STEP", None))
    oracle = workload.oracle
    everything = registry.convert_everything(workload.module)
    placements = {"hybridize": tool, "oracle": oracle, "all": everything}
    if args.in_process:
        # Warm-up, discarded: eager, then each placement once, so that one-time costs (imports, the allocator, Keras
        # builds, TensorFlow's first graph construction) are not charged to whichever placement happens to run first.
        workload.bench(quick=args.quick)
        for placement in placements.values():
            try:
                with registry.placed(workload.module, placement):
                    workload.bench(quick=args.quick)
            except Exception:  # reported by the timed runs below
                pass
    # The placements' order rotates between repeats, so none always runs right after eager. By default each bench
    # runs in a fresh process (registry.bench_fresh): one-time costs included, as the user's program pays them.
    rounds = [registry.compare_many(name, dict(rotated(list(placements.items()), rep)), quick=args.quick, repeats=1,
                                    fresh=not args.in_process)
              for rep in range(args.repeats)]
    timing = merge_timings(rounds)
    settled = ""
    if unsettled(timing) and args.settle > 0 and not same_decisions(tool, oracle):
        before = hyb_vs_oracle(timing)
        pair = {"hybridize": tool, "oracle": oracle}
        print(f"[{name}] hybridize/oracle {before:.0%} after {args.repeats} repeat(s): {args.settle} more of both",
              flush=True)
        rounds += [registry.compare_many(name, dict(rotated(list(pair.items()), rep)), quick=args.quick, repeats=1,
                                         fresh=not args.in_process)
                   for rep in range(args.settle)]
        timing = merge_timings(rounds)
        settled = settle_note(before, args)
    reasons = rejection_reasons(plan, name)
    scoring = score(tool, oracle, reasons)
    row = summarize(name, timing, scoring, pipeline_s=pipeline_s, rtol=args.rtol)
    unplaced = sorted(q for q in tool if "." in q or not hasattr(workload.module, q))
    notes: dict[str, str] = {}
    if rc != 0:
        notes["profile exit code"] = str(rc)
    if unplaced:
        notes["recommended but not placeable in-process (methods)"] = ", ".join(unplaced)
    if same_decisions(tool, oracle):
        notes["same placement"] = "hybridize's placement is the oracle's (one program, timed once)"
    if settled:
        notes["re-measured"] = settled
    meta = plan.get("meta") or {}
    if meta.get("profile_duration_s") is not None:
        notes["pipeline parts"] = (f"traced test run {float(meta['profile_duration_s']):.1f} s, planning "
                                   f"{float(meta.get('planning_s') or 0):.1f} s (trial-run baseline "
                                   f"{float(meta.get('baseline_s') or 0):.1f} s)")
    if reuse:
        row["tests_after_apply"] = previous.get("tests_after_apply")
        notes["timing only"] = "plan, pipeline seconds and tests after apply from the earlier run (--reuse-plans)"
    elif not args.no_apply:
        row["tests_after_apply"] = apply_and_test(project, log, args.timeout)
    row.update(
        measured_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), loadavg=loadavg(),
        quick=args.quick, repeats=args.repeats, profile_exit=rc, order="rotated",
        timing="in one warm process (warm-up: eager + each placement)" if args.in_process else "a fresh process per bench",
        recommendations=[f"{r.get('action')} {r.get('function', '').partition(':')[2]} {r.get('decorator', '')}".strip()
                         for r in plan.get("recommendations", [])],
        rejected=reasons, disagreements=scoring["disagreements"], notes=notes,
        tp=scoring["tp"], fp=scoring["fp"], fn=scoring["fn"], tn=scoring["tn"],
        outputs_eager=timing.get("outputs_eager"),
        max_rel_output_diff={k: timing[k].get("max_rel_output_diff") for k in ("hybridize", "oracle", "all")
                             if isinstance(timing.get(k), Mapping)},
    )
    return row


def _examples_targets(placement: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A placement in the planner's trial-hook target form (``mode`` graph / eager)."""
    out: list[dict[str, Any]] = []
    for function, entry in placement.items():
        action = entry.get("action")
        if action in ("convert", "tune"):
            out.append({"function": function, "mode": "graph", "settings": dict(entry.get("settings") or {})})
        elif action == "dehybridize":
            out.append({"function": function, "mode": "eager"})
    return out


def bench_examples(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """examples/ spans several modules, so placements go through the planner's trial hook on its perf command
    (``bench_planner.trial``), each placement a run of ``perf.py``, interleaved; outputs are not compared."""
    from hybridize.project import load_config
    from perf_tests.bench_planner import static_all, trial
    from perf_tests.workloads.registry import EXAMPLES_ORACLE

    project = work / EXAMPLES
    log = work / "examples.log"
    os.environ["PATH"] = _env()["PATH"]  # the trial hook runs `python perf.py` with this process's environment
    previous = (args.previous_rows or {}).get(EXAMPLES, {})
    reuse = bool(args.reuse_plans and (project / ".hybridize" / "plan.json").exists() and previous)
    if not reuse:
        shutil.rmtree(project, ignore_errors=True)
        shutil.copytree(REPO / "examples", project, ignore=shutil.ignore_patterns(".hybridize", "__pycache__"))
    config = load_config(project)
    perf_cmd = config.perf_command or ["python", "perf.py"]
    if reuse:  # the earlier run applied the plan to this copy: time the original source
        _run([str(BIN / "hybridize"), "apply", "--undo"], project, log, args.timeout)
        plan = json.loads((project / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
        pipeline_s, rc = previous.get("pipeline_s"), int(previous.get("profile_exit") or 0)
    else:
        print(f"[examples] hybridize profile in {project} (log {log})", flush=True)
        plan, pipeline_s, rc = profile(project, shlex.join(perf_cmd), log, args.timeout)
    print(f"[examples] profile exit {rc} in {pipeline_s:.1f} s", flush=True)
    tool = plan_to_placement(plan)
    allowed = {k: {"action": "convert", "settings": v.get("settings") or {}} for k, v in static_all(project).items()}
    placements = {"eager": {}, "hybridize": tool, "oracle": dict(EXAMPLES_ORACLE), "all": allowed}
    times: dict[str, float] = {}

    def measure(labels: list[str], reps: range) -> None:
        for rep in reps:
            for label in labels:
                secs, _, output = trial(project, perf_cmd, _examples_targets(placements[label]), f"{label}-{rep}")
                if "perf:" not in output:  # the perf command failed: no time to report
                    raise RuntimeError(f"examples {label}: perf command printed no time: {output.strip()[-300:]}")
                times[label] = min(times.get(label, float("inf")), secs)
                print(f"[examples] rep {rep + 1}: {label} {secs:.2f} s", flush=True)

    def as_timing() -> dict[str, Any]:
        return {"eager_s": times["eager"], **{k: {"s": times[k]} for k in ("hybridize", "oracle", "all")}}

    measure(list(placements), range(args.repeats))
    notes = {"outputs": "not compared (timed through perf.py by the planner's trial hook)"}
    timing = as_timing()
    if unsettled(timing) and args.settle > 0 and not same_decisions(tool, EXAMPLES_ORACLE):
        before = hyb_vs_oracle(timing) or 0.0
        print(f"[examples] hybridize/oracle {before:.0%} after {args.repeats} repeat(s): {args.settle} more of "
              "eager, hybridize and oracle", flush=True)
        measure(["eager", "hybridize", "oracle"], range(args.repeats, args.repeats + args.settle))
        timing = as_timing()
        notes["re-measured"] = settle_note(before, args)
    reasons = rejection_reasons(plan)
    scoring = score(tool, EXAMPLES_ORACLE, reasons)
    row = summarize(EXAMPLES, timing, scoring, pipeline_s=pipeline_s, rtol=args.rtol)
    if reuse:
        row["tests_after_apply"] = previous.get("tests_after_apply")
    elif not args.no_apply:
        row["tests_after_apply"] = apply_and_test(project, log, args.timeout)
    row.update(
        measured_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), loadavg=loadavg(),
        quick=args.quick, repeats=args.repeats, profile_exit=rc,
        recommendations=[f"{r.get('action')} {r.get('function')} {r.get('decorator', '')}".strip()
                         for r in plan.get("recommendations", [])],
        rejected=reasons, disagreements=scoring["disagreements"], notes=notes,
        tp=scoring["tp"], fp=scoring["fp"], fn=scoring["fn"], tn=scoring["tn"],
    )
    return row


def rescore(results: dict[str, Any], work: Path) -> list[str]:
    """Recompute each row's decisions-vs-oracle from the plan left in ``work/<name>`` (timings untouched), after a
    change to the scoring; returns the workloads rescored."""
    from perf_tests.workloads import registry

    done: list[str] = []
    for row in results.get("rows", []):
        name = str(row.get("workload"))
        try:
            plan = json.loads((work / name / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        module = None if name == EXAMPLES else name
        oracle = registry.EXAMPLES_ORACLE if name == EXAMPLES else registry.load(name).oracle
        tool = plan_to_placement(plan, module)
        scoring = score(tool, oracle, rejection_reasons(plan, module))
        row.update(precision=scoring["precision"], recall=scoring["recall"], disagreements=scoring["disagreements"],
                   tp=scoring["tp"], fp=scoring["fp"], fn=scoring["fn"], tn=scoring["tn"])
        notes = dict(row.get("notes") or {})
        notes.pop("same placement", None)
        if module is not None and same_decisions(tool, oracle):
            notes["same placement"] = "hybridize's placement is the oracle's (one program, timed once)"
        row["notes"] = notes
        done.append(name)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="workloads (and/or 'examples'); default: all of them")
    parser.add_argument("--quick", action="store_true", help="small workloads, at most two, to check the harness")
    parser.add_argument("--repeats", type=int, default=None, help="best of N interleaved runs per placement "
                        "(default 3; 1 with --quick)")
    parser.add_argument("--settle", type=int, default=4, help="when hybridize and the oracle differ by more than "
                        "5%% either way, N more interleaved repeats of both (default 4; 0: never; not with --quick)")
    parser.add_argument("--in-process", action="store_true",
                        help="time every placement in this one warm process (one-time costs hidden) instead of one "
                             "fresh process per bench")
    parser.add_argument("--rtol", type=float, default=1e-4, help="output tolerance relative to eager")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess (profile, apply, tests)")
    parser.add_argument("--no-apply", action="store_true", help="skip `hybridize apply` + tests on the copies")
    parser.add_argument("--out", default=None,
                        help="folder for results.json / results.md (default perf_tests/results; --quick: the workdir)")
    parser.add_argument("--workdir", default=None, help="where to materialize the projects (default: a temp folder)")
    parser.add_argument("--reuse-plans", action="store_true",
                        help="timing only: reuse the plans an earlier run left in --workdir (no profile, no apply)")
    parser.add_argument("--rescore", action="store_true",
                        help="only recompute the scoring of the saved results from the plans left in --workdir")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.quick:
        args.settle = 0
    if args.rescore:
        if not args.workdir:
            parser.error("--rescore needs --workdir (where the earlier run left its projects)")
        out = Path(args.out) if args.out else RESULTS
        saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
        print("rescored:", ", ".join(rescore(saved, Path(args.workdir))) or "nothing")
        from hybridize.plan import write_text_atomic

        write_text_atomic(out / "results.json", json.dumps(saved, indent=2, default=str) + "\n")
        write_text_atomic(out / "results.md", render_markdown(saved))
        return 0
    from perf_tests.workloads.registry import NAMES

    known = [*NAMES, EXAMPLES]
    names = list(args.names) or (list(QUICK_NAMES) if args.quick else known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(known)}")
    args.previous_rows = {}
    if args.reuse_plans:
        if not args.workdir:
            parser.error("--reuse-plans needs --workdir (where the earlier run left its projects)")
        try:
            saved = json.loads(((Path(args.out) if args.out else RESULTS) / "results.json").read_text(encoding="utf-8"))
            args.previous_rows = {str(r.get("workload")): r for r in saved.get("rows", [])}
        except (OSError, ValueError):
            pass
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hybridize-perf-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for name in names:
        try:
            rows.append(bench_examples(args, work) if name == EXAMPLES else bench_workload(name, args, work))
        except Exception as exc:  # one broken workload must not lose the others' results
            print(f"[{name}] FAILED: {type(exc).__name__}: {exc}", flush=True)
            rows.append({"workload": name, "error": f"{type(exc).__name__}: {exc}"[:300],
                         "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
        print(render_text(rows[-1:]), flush=True)
    out = Path(args.out) if args.out else (work if args.quick else RESULTS)
    path = out / "results.json"
    old: list[dict[str, Any]] = []
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
            if bool(previous.get("quick")) == bool(args.quick):
                old = list(previous.get("rows", []))
        except ValueError:
            old = []
    results = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), "quick": args.quick, "repeats": args.repeats, "rtol": args.rtol,
        "timing": ("in one warm process (one-time costs hidden by a warm-up)" if args.in_process else
                   "each bench in a fresh process (one-time costs such as first traces included, as a user's program "
                   "pays them; examples/ through the planner's trial hook on its perf.py)"),
        "rows": merge_rows(old, rows, known),
    }
    from hybridize.plan import write_text_atomic

    write_text_atomic(path, json.dumps(results, indent=2, default=str) + "\n")
    write_text_atomic(out / "results.md", render_markdown(results))
    print()
    print(render_text(results["rows"]))
    print(f"\nwrote {path} and {out / 'results.md'}")
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
