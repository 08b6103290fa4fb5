"""Measured loop extraction (issue #17): which loops of the performance command's main file are measured, and
what the plan gets.

``static/loops.py`` finds the region and ``rewriter/extract.py`` makes the edit; :mod:`extract_measure` runs the
trials (in memory: nothing is written to the user's tree) and :mod:`extract_decide` judges them. This module picks
the best-ranked extractable loop (one per plan), lists the loops that cannot be extracted, notes a loop that already
calls its extracted step (re-profiling an applied script), and appends the outcome to the plan.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.identity import FunctionId, module_name_for
from hybridize.plan import Plan, Recommendation, Rejection
from hybridize.planner.extract_decide import decide
from hybridize.planner.extract_measure import Launcher, measure_loop
from hybridize.planner.extract_settings import SETTINGS, Variants

MAX_LOOPS = 1  # one extraction per plan: a second in the same file would be planned on lines the first moves
MAX_REFUSALS = 5  # non-extractable loops listed in the plan


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

    ``strict_budget``: ``budget_s`` is the user's ``--budget`` (see :mod:`extract_measure` for what runs past the
    default budget)."""
    from hybridize.rewriter.edits import EditError
    from hybridize.rewriter.extract import extract
    from hybridize.rewriter.source import sha256_bytes

    out = Outcome()
    main = main_script(perf, root)
    if main is None:
        return out
    rel = main.relative_to(root.resolve()).as_posix()
    source = main.read_bytes()
    chosen = _choose(root, main, rel, source, out)
    split = _split(perf) if chosen else None
    if split is None:
        return out
    python, argv = split
    work.mkdir(parents=True, exist_ok=True)
    module = module_name_for(rel)
    for n, cand in enumerate(chosen):
        assert cand.region is not None
        function = FunctionId.format_name(module, cand.scope)
        variants: Variants = {}
        try:
            for label, settings in SETTINGS:
                ex = extract(source, cand, None, settings)
                variants[label] = (settings, ex.source, ex)
        except EditError as exc:
            out.rejected.append(Rejection(function, rel, cand.line, "not-extractable", f"loop at line {cand.line}: {exc}"))
            continue
        launcher = Launcher(python, argv, main, root, work, n, typical_s=baseline_s or 0.0)
        trial = measure_loop(launcher, source, cand, variants, budget_s=budget_s, strict=strict_budget, say=say)
        rec, rej = decide(trial, variants, cand, function, rel)
        if rec is not None:
            out.recommendations.append(rec)
            out.file_hashes[rel] = sha256_bytes(source)
        if rej is not None:
            out.rejected.append(rej)
    return out


def _choose(root: Path, main: Path, rel: str, source: bytes, out: Outcome) -> list[Any]:
    """The loops to measure (``MAX_LOOPS``); the refusals and the already-extracted loops go to ``out``."""
    from hybridize.static.loops import find_loops

    try:
        loops = find_loops(root, main)
        tree = ast.parse(source)
    except (HybridizeError, SyntaxError, ValueError):
        return []
    module = module_name_for(rel)
    chosen: list[Any] = []
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
    return chosen


def _split(perf: list[str]) -> tuple[str, list[str]] | None:
    from hybridize.planner.warmstart import split_command

    return split_command(_resolved(perf))


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
