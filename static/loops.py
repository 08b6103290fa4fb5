"""Hot-loop candidates: loops whose body holds a contiguous run of tensor work that could become one step function.

Training scripts often do their tensor work inline in a loop body (forward pass, ``GradientTape``, gradients,
``apply_gradients``) and then log every N steps; no function-level conversion helps there. This module finds such
loops (module level or inside a function) and, in each body, the largest contiguous run of top-level statements that
can move into a ``@tf.function`` step: the same per-function rules ``hybridize check`` applies (side effects, eager-only
calls, variable creation; see ``rules.py``) are run on the loop body as if it were a function, and every statement
with a per-step Python effect, a ``return``/``break``/``continue``/``yield``, a nested loop, a read of the Python step
counter, or an update of a value carried from one step to the next stays in the loop and bounds the region.

The region's data flow (parameters, return values, globals) is computed here too, so a report can show the step's
signature without touching the source; ``rewriter/extract.py`` performs the edit. Purely static (``ast``).
Ranking is static (training steps first, then more tensor statements, then deeper loops), or, with a profile,
by the time of the function holding the loop (``rank_by_profile``): the profile has no per-line times yet.

By concern: this module is the entry (finding and ranking loops); ``loop_model.py`` the reported types,
``loop_region.py`` which statements stay and which region moves, ``loop_flow.py`` the region's data flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hybridize.errors import HybridizeError
from hybridize.profile_types import FunctionProfile
from hybridize.static.collect import build_index
from hybridize.static.loop_model import LoopCandidate, Region, Stay
from hybridize.static.loop_region import CALLEE_OK, Finder


def find_loops(root: Path, path: Path) -> list[LoopCandidate]:
    """Every ``for``/``while`` loop of ``path`` with its extractable region, best candidates first.

    Raises :class:`HybridizeError` when the file cannot be read or parsed.
    """
    root = root.resolve()
    index = build_index(root, [path.resolve()])
    if index.errors:
        err = index.errors[0]
        raise HybridizeError(f"{err.file}:{err.line}: cannot parse: {err.message}")
    mod = next(iter(index.modules.values()))
    verdicts = _callee_verdicts(root, path)
    finder = Finder(index, mod, verdicts)
    finder.walk(mod.tree.body, func=None, depth=0)
    found = finder.found
    found.sort(key=_static_key)
    return found


def _static_key(c: LoopCandidate) -> tuple[bool, bool, int, int, int]:
    return (c.region is None, not (c.region and c.region.training),
            -(c.region.tensor_statements if c.region else 0), -c.depth, c.line)


def rank_by_profile(found: list[LoopCandidate], functions: Sequence[FunctionProfile]) -> int:
    """Re-rank with the profile (its ``FunctionProfile`` records): loops inside a profiled function by its total
    time, most first, before those the profile has no time for (module-level loops: time outside functions is not
    recorded yet, issue #12), which keep the static order. Returns how many loops got a time."""
    times = {(f.file, f.qualname): f.total_s for f in functions}
    timed = 0
    for c in found:
        c.time_s = times.get((c.file, c.scope)) if c.scope != "<module>" else None
        timed += c.time_s is not None
    found.sort(key=lambda c: (c.region is None, c.time_s is None, -(c.time_s or 0.0), _static_key(c)))
    return timed


def _callee_verdicts(root: Path, path: Path) -> dict[str, tuple[str, str]]:
    """Function id -> (verdict, first blocker) from the project's static analysis (transitive facts included)."""
    from hybridize.static.engine import analyze

    try:
        analysis = analyze(root, [path.resolve()])
    except Exception:  # the loop finder must work on files the checker cannot handle
        return {}
    out: dict[str, tuple[str, str]] = {}
    for r in analysis.functions:
        # HY310/HY311 say "do not decorate this function itself" (a constructor, a Keras `call`): calling it from a
        # step is exactly what they recommend, so they do not keep the call out of the step.
        blockers = [f for f in r.findings if f.severity == "blocker" and f.code not in CALLEE_OK]
        out[r.function] = ("unsafe" if blockers else "unknown" if r.verdict == "unsafe" else r.verdict,
                           f"{blockers[0].code} {blockers[0].message}" if blockers else "")
    return out


def describe(c: LoopCandidate) -> str:
    """One line for the CLI."""
    where = f"{c.file}:{c.line}: {c.kind} loop in {c.scope}" + (
        f" ({c.time_s:.3f} s profiled)" if c.time_s is not None else "")
    if c.region is None:
        return f"{where}: nothing to extract ({c.refusal})"
    r = c.region
    ret = ", ".join(r.returns) or "nothing"
    return (f"{where}: lines {r.start}-{r.end} ({r.tensor_statements} tensor statement(s)) -> "
            f"step({', '.join(r.params)}) returning {ret}")


__all__ = ["LoopCandidate", "Region", "Stay", "describe", "find_loops", "rank_by_profile"]
