"""Measured loop extraction (issue #17): trial runs of the performance command with a hot loop's region extracted.

``static/loops.py`` finds the region and ``rewriter/extract.py`` makes the edit; this module decides whether the edit
pays. For the best-ranked extractable loop of the performance command's main file, the program runs with the
extracted source compiled in memory under the original file name (:mod:`hybridize.planner.extract_run`; nothing is
written to the user's tree), the new step being a ``tf.function`` from its definition, once per setting (plain,
``reduce_retracing``), interleaved with eager runs of the unchanged program through the same runner. The whole run is
timed (the loop is most of a training script's time; start-up is paid on both sides). An extraction is recommended
when every extracted run exits as the baseline did, prints the same final numbers within the tolerance of
:mod:`hybridize.planner.outputs`, and is faster; otherwise it is listed as rejected with the reason.

A third setting, ``input_signature`` with ``None`` where a dimension varied, is tried only when the plain run's step
traced more than one shape (a smaller last batch): the runner writes the step's traces at exit. Every parameter of
an ``input_signature`` step must be a tensor, so object parameters (model, optimizer) are read as module globals
instead, which is possible only for a loop at module level. A setting other than plain is kept only when it beats
plain by ``SETTING_MARGIN`` (a longer decorator must pay for itself).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.identity import FunctionId, module_name_for
from hybridize.plan import Plan, Recommendation, Rejection, Settings, TensorSpecModel, render_decorator
from hybridize.planner.extract_run import STEP_ENV, TRACES_ENV
from hybridize.planner.outputs import compare, final_numbers

RUNNER = "hybridize.planner.extract_run"
MAX_LOOPS = 1  # one extraction per plan: a second in the same file would be planned on lines the first moves
MAX_REFUSALS = 5  # non-extractable loops listed in the plan
MIN_SPEEDUP = 1.03  # below this a whole-run difference is noise on a loaded machine
SETTING_MARGIN = 1.03  # a setting other than plain must beat plain by this factor to be kept
SETTINGS: tuple[tuple[str, Settings], ...] = (("plain", Settings()), ("reduce_retracing", Settings(reduce_retracing=True)))
SIGNATURE = "input_signature"


@dataclass
class Run:
    label: str
    seconds: float
    exit_code: int
    output: str


@dataclass
class Outcome:
    """What the planner learned about extractions: recommendations (unranked), rejections, notes, file hashes."""

    recommendations: list[Recommendation] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    file_hashes: dict[str, str] = field(default_factory=dict)


def main_script(perf: list[str], root: Path) -> Path | None:
    """The project ``.py`` file the performance command runs as its main program, or None."""
    from hybridize.tracer.runmain import main_file

    found = main_file(_resolved(perf), root)
    if found is None or not found.endswith(".py"):
        return None
    path = Path(found).resolve()
    try:
        path.relative_to(root.resolve())
    except ValueError:
        return None
    return path if path.is_file() else None


def _resolved(perf: list[str]) -> list[str]:
    from hybridize.planner.trials import resolve_command

    return resolve_command(perf)


def _step_calls(tree: ast.Module, stmts: list[ast.stmt]) -> list[str | None]:
    """Per statement, the module-level ``tf.function`` it calls as a whole (``out = step(...)``), else None."""
    from hybridize.planner.placement import _is_tf_function

    converted = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and any(_is_tf_function(d) for d in n.decorator_list)}
    out: list[str | None] = []
    for s in stmts:
        value = s.value if isinstance(s, (ast.Assign, ast.Expr, ast.AnnAssign)) else None
        ok = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in converted
        out.append(value.func.id if ok else None)  # type: ignore[union-attr]
    return out


def already_extracted(tree: ast.Module, stmt_lines: list[int]) -> str | None:
    """The name of the ``tf.function`` the region only calls (a step extracted before: re-profiling an applied
    script must not extract the call of its own step again), else None."""
    stmts = [s for s in ast.walk(tree) if isinstance(s, ast.stmt) and s.lineno in stmt_lines]
    names = _step_calls(tree, stmts)
    return None if not names or None in names else sorted(n for n in names if n)[0]


def loop_step(tree: ast.Module, loop_line: int) -> str | None:
    """The ``tf.function`` step the loop at ``loop_line`` calls in its body (an applied extraction), else None."""
    loop = next((n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While)) and n.lineno == loop_line), None)
    if loop is None:
        return None
    return next((n for n in _step_calls(tree, loop.body) if n), None)


def _plain_python(refusal: str) -> bool:
    """A loop with no tensor work at all, or in set-up code: not worth a line among the rejections."""
    return refusal == "no tensor work in the body" or refusal.endswith("sets an object up once: not a hot loop")


def measure_extractions(root: Path, work: Path, perf: list[str], *, budget_s: float | None, baseline_s: float | None,
                        say: Callable[[str], None] = lambda _: None, strict_budget: bool = True) -> Outcome:
    """Find, extract in memory and time the best loops of the performance command's main file.

    ``strict_budget``: ``budget_s`` is the user's ``--budget``. Under the default budget (False) eager and plain run
    even past it (the extraction is a script's whole plan, as XLA's trial is the setting a hand placement misses);
    the other settings only where they fit."""
    from hybridize.rewriter.edits import EditError
    from hybridize.rewriter.extract import extract
    from hybridize.rewriter.source import sha256_bytes
    from hybridize.static.loops import LoopCandidate, find_loops

    out = Outcome()
    main = main_script(perf, root)
    if main is None:
        return out
    rel = main.relative_to(root.resolve()).as_posix()
    source = main.read_bytes()
    try:
        loops = find_loops(root, main)
        tree = ast.parse(source)
    except (HybridizeError, SyntaxError, ValueError):
        return out
    module = module_name_for(rel)
    chosen: list[LoopCandidate] = []
    for cand in loops:
        region = cand.region
        function = FunctionId.format_name(module, cand.scope)
        if region is None:
            step = loop_step(tree, cand.line)
            if step is not None:
                out.notes.append(f"{rel}:{cand.line}: the loop calls its step {step}, already a tf.function")
            elif len(out.rejected) < MAX_REFUSALS and not _plain_python(cand.refusal):
                out.rejected.append(Rejection(function, rel, cand.line, "not-extractable",
                                              f"loop at line {cand.line}: {cand.refusal}"))
            continue
        step = already_extracted(tree, region.stmt_lines)
        if step is not None:
            out.notes.append(f"{rel}:{cand.line}: the loop already calls its extracted step {step} (a tf.function)")
            continue
        if len(chosen) < MAX_LOOPS:
            chosen.append(cand)
    if not chosen:
        return out
    split = _split(perf)
    if split is None:
        return out
    python, argv = split
    work.mkdir(parents=True, exist_ok=True)
    one_run = baseline_s or 0.0
    for n, cand in enumerate(chosen):
        assert cand.region is not None
        function = FunctionId.format_name(module, cand.scope)
        variants: dict[str, tuple[Settings, bytes, Any]] = {}
        try:
            for label, settings in SETTINGS:
                ex = extract(source, cand, None, settings)
                variants[label] = (settings, ex.source, ex)
        except EditError as exc:
            out.rejected.append(Rejection(function, rel, cand.line, "not-extractable", f"loop at line {cand.line}: {exc}"))
            continue
        budget_note = ""
        if budget_s is not None and one_run and one_run * (1 + len(variants)) > budget_s:
            if one_run * 2 > budget_s and strict_budget:
                out.rejected.append(Rejection(function, rel, cand.line, "over-budget",
                                              f"loop at line {cand.line}: 2 runs of ~{one_run:.0f} s do not fit the "
                                              f"budget of {budget_s:.0f} s"))
                continue
            variants = {"plain": variants["plain"]}  # a long run: the one setting most steps need, not the rest
            budget_note = (f"only plain measured: {1 + len(SETTINGS)} runs of ~{one_run:.0f} s do not fit the budget "
                           f"of {budget_s:.0f} s" + ("" if one_run * 2 <= budget_s else
                                                     " (eager and plain run past the default budget, as XLA's trial)"))
        say(f"hybridize: measuring the extraction of {rel} lines {cand.region.start}-{cand.region.end} "
            f"({len(variants)} settings, interleaved with eager runs)")
        runs: dict[str, list[Run]] = {"eager": []}
        rounds = 2 if one_run and budget_s is not None and one_run * 2 * (1 + len(variants)) <= budget_s else 1
        traces = work / f"extract{n}-plain-traces.json"
        sig_note = ""
        for r in range(rounds):
            order = ["eager", *variants] if r % 2 == 0 else [*variants, "eager"]
            for label in order:
                src = None if label == "eager" else variants[label][1]
                env = {STEP_ENV: variants[label][2].name, TRACES_ENV: str(traces)} if label == "plain" and r == 0 else {}
                run = _run(python, argv, main, src, root, work / f"extract{n}-{label}-{r}", label, one_run, env)
                runs.setdefault(label, []).append(run)
                if label == "eager" and not one_run:
                    one_run = run.seconds
            if r == 0 and not budget_note:
                sig_note = _add_signature_variant(source, cand, _read_traces(traces), variants)
                if SIGNATURE in variants:
                    runs[SIGNATURE] = [_run(python, argv, main, variants[SIGNATURE][1], root,
                                            work / f"extract{n}-{SIGNATURE}-0", SIGNATURE, one_run)]
        if len(runs["eager"]) == 1 and _numbers_differ(runs):  # are the numbers deterministic at all?
            runs["eager"].append(_run(python, argv, main, None, root, work / f"extract{n}-eager-check", "eager", one_run))
        rec, rej = _decide(runs, variants, cand, function, rel, [n for n in (budget_note, sig_note) if n])
        if rec is not None:
            out.recommendations.append(rec)
            out.file_hashes[rel] = sha256_bytes(source)
        if rej is not None:
            out.rejected.append(rej)
    return out


def _split(perf: list[str]) -> tuple[str, list[str]] | None:
    from hybridize.planner.warmstart import split_command

    return split_command(_resolved(perf))


def _read_traces(path: Path) -> list[list[dict[str, Any] | None]] | None:
    """The plain step's traces written by the runner, or None (the step never ran, or an unreadable file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, list) and all(isinstance(t, list) for t in data) else None


def _joined_spec(entries: list[Any]) -> TensorSpecModel | None:
    """One spec covering every trace's entry of a parameter (``None`` where a dimension varied), or None when
    the parameter was not a tensor of one dtype and rank in every trace."""
    if not entries or not all(isinstance(e, dict) and isinstance(e.get("dtype"), str) for e in entries):
        return None
    dtypes = {e["dtype"] for e in entries}
    shapes = [e.get("shape") for e in entries]
    if len(dtypes) != 1 or any(not isinstance(sh, list) for sh in shapes) or len({len(sh) for sh in shapes}) != 1:
        return None
    joined = [dims[0] if len(set(dims)) == 1 else None for dims in zip(*shapes, strict=True)]
    return TensorSpecModel(shape=joined, dtype=dtypes.pop())


def signature_setting(cand: Any, traces: list[list[Any]] | None) -> tuple[Settings, list[str]] | str:
    """``(Settings with an input_signature, the step's tensor parameters)`` when the plain step traced more than one
    shape and an input_signature can cover it; else why not (one line)."""
    region = cand.region
    params = list(region.params)
    if not traces or len(traces) < 2:
        return ""  # one shape (or none seen): plain already traces once, nothing to say
    if any(len(t) != len(params) for t in traces):
        return "input_signature not tried: the step's traces do not match its parameters"
    specs: list[TensorSpecModel] = []
    tensors: list[str] = []
    for i, name in enumerate(params):
        entries = [t[i] for t in traces]
        spec = _joined_spec(entries)
        if spec is not None:
            specs.append(spec)
            tensors.append(name)
        elif any(e is not None for e in entries):
            return f"input_signature not tried: parameter {name} changes dtype or rank between traces"
        elif cand.scope != "<module>" or name in region.returns:
            return (f"input_signature not tried: parameter {name} is not a tensor and cannot be read as a module "
                    "global (an input_signature must cover every parameter)")
    if not specs or all(s.shape is not None and None not in s.shape for s in specs):
        return ""
    return Settings(input_signature=specs), tensors


def _add_signature_variant(source: bytes, cand: Any, traces: list[list[Any]] | None,
                           variants: dict[str, tuple[Settings, bytes, Any]]) -> str:
    """Add the ``input_signature`` extraction to ``variants`` when the plain traces call for one; a note or ""."""
    from hybridize.rewriter.edits import EditError
    from hybridize.rewriter.extract import extract

    found = signature_setting(cand, traces)
    if isinstance(found, str):
        return found
    settings, tensors = found
    narrowed = dataclasses.replace(cand, region=dataclasses.replace(cand.region, params=tensors))
    try:
        ex = extract(source, narrowed, None, settings)
    except EditError as exc:
        return f"input_signature not tried: {exc}"
    variants[SIGNATURE] = (settings, ex.source, ex)
    return f"the plain step traced {len(traces or [])} shapes: input_signature tried"


def _run(python: str, argv: list[str], main: Path, source: bytes | None, root: Path, folder: Path, label: str,
         typical_s: float, extra_env: dict[str, str] | None = None) -> Run:
    folder.mkdir(parents=True, exist_ok=True)
    src_arg = "-"
    if source is not None:
        (folder / "main.py").write_bytes(source)
        src_arg = str(folder / "main.py")
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra_env or {})
    cmd = [python, "-m", RUNNER, src_arg, str(main), "--", *argv]
    timeout = max(60.0, 3 * typical_s) if typical_s else None
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
        code, text = proc.returncode, proc.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        code, text = 124, (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
    seconds = time.perf_counter() - started
    (folder / "output.log").write_text(text, encoding="utf-8")
    return Run(label, seconds, code, text)


def _last_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ""


def _numbers_differ(runs: dict[str, list[Run]]) -> bool:
    base = final_numbers(runs["eager"][0].output)
    return any(compare(base, final_numbers(r.output)) for label, rs in runs.items() if label != "eager" for r in rs)


def _decide(runs: dict[str, list[Run]], variants: dict[str, tuple[Settings, bytes, Any]], cand: Any, function: str,
            rel: str, notes: list[str] | None = None) -> tuple[Recommendation | None, Rejection | None]:
    region = cand.region
    eager = runs["eager"]
    base_s = min(r.seconds for r in eager)
    base_code = eager[0].exit_code
    base_numbers = final_numbers(eager[0].output)
    timings = {label: [round(r.seconds, 3) for r in rs] for label, rs in runs.items()}
    where = f"loop at line {cand.line}, lines {region.start}-{region.end}"
    evidence: dict[str, Any] = {"runs_s": timings, "timed": "whole run, eager and extracted runs interleaved"}
    problems: list[str] = []
    notes = list(notes or [])
    varies = len(eager) > 1 and compare(base_numbers, final_numbers(eager[1].output)) is not None
    if varies:  # unseeded randomness: two eager runs disagree, so a difference says nothing about the step
        notes.append("final printed numbers differ between two eager runs too (unseeded randomness?): not compared")
    best: tuple[float, str] | None = None
    for label in variants:
        rs = runs.get(label, [])
        bad_exit = [r.exit_code for r in rs if r.exit_code != base_code]
        if bad_exit:
            said = _last_line(next(r.output for r in rs if r.exit_code != base_code))
            problems.append(f"{label}: exited {bad_exit[0]} (eager {base_code})" + (f": {said}" if said else ""))
            continue
        diff = next((d for d in (compare(base_numbers, final_numbers(r.output)) for r in rs) if d), None)
        if diff is not None and not varies:
            problems.append(f"{label}: final printed numbers differ ({diff})")
            continue
        seconds = min(r.seconds for r in rs)
        if best is None or seconds < best[0]:
            best = (seconds, label)
    best = _prefer_plain(best, runs, problems, notes)
    if base_code != 0:  # a failing program's timings (and its traceback's line numbers) say nothing about a step
        said = _last_line(eager[0].output)
        return None, Rejection(function, rel, cand.line, "baseline-failed",
                               f"{where}: the unchanged program exits {base_code}" + (f": {said}" if said else ""),
                               evidence)
    if best is None:
        code = "output-mismatch" if any("differ" in p for p in problems) else "trial-failed"
        return None, Rejection(function, rel, cand.line, code, f"{where}: {'; '.join(problems)}", evidence)
    seconds, label = best
    speedup = base_s / seconds if seconds > 0 else float("inf")
    evidence["setting"] = label
    if problems or notes:
        evidence["notes"] = [*notes, *problems]
    if speedup < MIN_SPEEDUP:
        return None, Rejection(function, rel, cand.line, "measured-slower",
                               f"{where}: x{speedup:.2f} with {label} ({base_s:.2f} s eager, {seconds:.2f} s "
                               f"extracted): not worth a new function", evidence)
    settings, _, ex = variants[label]
    rec = Recommendation(
        rank=0, id=0, function=function, file=rel, line=cand.line, action="extract",
        decorator=render_decorator(settings), settings=settings, speedup=round(speedup, 3),
        saved_s=round(base_s - seconds, 3), calls=0, confidence="high" if len(eager) > 1 and not varies else "medium",
        evidence={**evidence, "signature": ex.signature, "baseline_s": round(base_s, 3),
                  "numbers": ("final printed numbers vary between eager runs" if varies else
                              "final printed numbers match" if base_numbers else "no final numbers printed")},
        extract={"loop_line": cand.line, "start": region.start, "end": region.end,
                 "stmt_lines": list(region.stmt_lines), "name": ex.name,
                 "params": list(getattr(ex, "params", None) or region.params),
                 "returns": list(region.returns)})
    return rec, None


def _prefer_plain(best: tuple[float, str] | None, runs: dict[str, list[Run]], problems: list[str],
                  notes: list[str]) -> tuple[float, str] | None:
    """Plain instead of a faster setting that does not beat it by ``SETTING_MARGIN`` (when plain ran cleanly)."""
    if best is None or best[1] == "plain" or any(p.startswith("plain:") for p in problems) or not runs.get("plain"):
        return best
    plain_s = min(r.seconds for r in runs["plain"])
    if best[0] * SETTING_MARGIN <= plain_s:
        return best
    notes.append(f"{best[1]} {best[0]:.2f} s vs plain {plain_s:.2f} s: under the {SETTING_MARGIN:.2f}x margin, plain kept")
    return plain_s, "plain"


def add_to_plan(plan: Plan, found: Outcome) -> None:
    """Append the extraction results after the function recommendations (ids and ranks continue theirs)."""
    next_id = max((r.id for r in plan.recommendations), default=0) + 1
    next_rank = max((r.rank for r in plan.recommendations), default=0) + 1
    for rec in sorted(found.recommendations, key=lambda r: -(r.saved_s or 0.0)):
        rec.id, rec.rank = next_id, next_rank
        next_id += 1
        next_rank += 1
        plan.recommendations.append(rec)
    plan.rejected.extend(found.rejected)
    plan.file_hashes.update(found.file_hashes)
    if found.notes:
        plan.meta.setdefault("notes", []).extend(found.notes)


def run_for_plan(plan: Plan, root: Path, work: Path, perf: list[str], budget_s: float | None,
                 baseline_s: float | None, say: Callable[[str], None], strict_budget: bool = True) -> None:
    """The pipeline's entry: measure and add to ``plan``; an unexpected failure costs the extraction, never the plan."""
    try:
        found = measure_extractions(root, work, perf, budget_s=budget_s, baseline_s=baseline_s, say=say,
                                    strict_budget=strict_budget)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # pragma: no cover - a planner bug must not lose the measured plan
        plan.meta.setdefault("notes", []).append(f"loop extraction skipped: {type(exc).__name__}: {exc}")
        return
    add_to_plan(plan, found)
