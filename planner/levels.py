"""The candidate call graph cut into nesting levels, and one measuring run per level: a function is never
measured while a converted caller hides it, and a run never converts a caller together with its callee."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridize.plan import Settings
from hybridize.planner.absorb import absorb
from hybridize.planner.correctness import check_failures
from hybridize.planner.fallback import retry_level
from hybridize.planner.trials import TrialResult
from hybridize.planner.variants import judge_variant, variant_broke_run, variant_choices

if TYPE_CHECKING:
    from hybridize.planner.session import Trials


def _children(trials: Trials) -> dict[str, set[str]]:
    """Candidate -> its candidate callees, from the baseline's call edges and the static calls."""
    children: dict[str, set[str]] = {c.function: set() for c in trials.candidates}
    for (a, b), _ in trials.edges.items():
        if a in children and b in children and a != b:
            children[a].add(b)
    for c in trials.candidates:
        for callee in c.static.calls if c.static is not None else []:
            if callee in children and callee != c.function:
                children[c.function].add(callee)
    return children


def _transitive(children: dict[str, set[str]]) -> dict[str, set[str]]:
    """Transitive callees: a run may not convert a function and one of these together."""
    out: dict[str, set[str]] = {}
    for n in children:
        seen: set[str] = set()
        stack = list(children[n])
        while stack:
            d = stack.pop()
            if d not in seen and d != n:
                seen.add(d)
                stack.extend(children[d])
        out[n] = seen
    return out


def _depths(names: list[str], children: dict[str, set[str]]) -> dict[str, int]:
    """Longest-path depth of each name below the roots (bounded: cycles stop growing at ``len(names)``)."""
    depth: dict[str, int] = {n: 0 for n in names}
    for _ in range(len(names)):  # relax
        changed = False
        for a in names:
            for b in children[a]:
                if depth[b] < depth[a] + 1 and depth[a] + 1 < len(names):
                    depth[b] = depth[a] + 1
                    changed = True
        if not changed:
            break
    return depth


def levels(trials: Trials) -> list[list[str]]:
    """Candidates grouped so that no group holds a caller and its callee (longest-path depth); sets the
    session's ``descendants``. Only functions the baseline exercised, and not per instance, are grouped."""
    names = [c.function for c in trials.candidates]
    children = _children(trials)
    trials.descendants = _transitive(children)
    depth = _depths(names, children)
    exercised = [n for n in names if trials.measurements[n].base.calls > 0 and not trials.measurements[n].per_instance]
    groups: dict[int, list[str]] = {}
    for n in exercised:
        groups.setdefault(depth[n], []).append(n)
    return [groups[k] for k in sorted(groups)]


def level_fits(trials: Trials, index: int, names: list[str]) -> bool:
    """Whether the run of level ``index`` fits a user's ``--budget`` (estimated as one baseline run, with room
    kept for the test check); notes the functions left unmeasured when not. The first level always runs (a plan
    with no measurement would recommend nothing whatever the budget), and without a user's budget so do all:
    the default budget only limits optional runs."""
    assert trials.baseline is not None
    if index == 0 or not trials.strict_budget or trials.has_budget(trials.baseline.duration_s + trials.reserve_s):
        return True
    trials.notes.append(f"budget reached: level {index} not measured ({len(names)} function(s): "
                        f"{', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
    for n in names:
        trials.measurements[n].not_measured = (f"the --budget of {trials.budget_s:.0f} s was spent before its run "
                                               f"(nesting level {index}); a larger budget measures it")
    return False


def run_level(trials: Trials, index: int, names: list[str]) -> None:
    """Measure one level's conversions; the next settings of functions measured at earlier levels ride
    along when no converted function of this level calls them or is called by them (a run saved)."""
    assert trials.baseline is not None
    converted: dict[str, Settings | None] = {n: trials.by_name[n].trial_settings for n in names}
    riders = {n: v for n, v in variant_choices(trials, "variants").items()
              if n not in converted and not any(trials.related(n, x) for x in converted)}
    if riders:
        targets = trials.targets({**converted, **{n: s for n, (_, s) in riders.items()}},
                                 {n for n, (v, _) in riders.items() if v == "dehybridize"}, replay=True)
        result = trials.run(f"level{index}", trials.perf, targets, digests=True)
        if not trials._broke(result):
            for n, (variant, settings) in riders.items():
                judge_variant(trials, n, variant, settings, result)
            _after_level(trials, index, names, converted, result)
            return
        trials.notes.append(f"other settings broke the run of level {index}: measured again without them")
        for n, (variant, settings) in riders.items():
            variant_broke_run(trials, n, variant, settings)
    label = f"level{index}-alone" if riders else f"level{index}"
    result = trials.run(label, trials.perf, trials.targets(converted, replay=True), digests=True)
    _after_level(trials, index, names, converted, result)


def _after_level(trials: Trials, index: int, names: list[str], converted: dict[str, Settings | None],
                 result: TrialResult) -> None:
    """Record the level's run; isolate its failures; then (``fallback.retry_level``) measure each culprit again
    on its next settings (a float spec, relaxed shapes, plain, removal) before rejecting it."""
    assert trials.baseline is not None
    trials.level_results[result.label] = result
    absorb(trials, result, names, converted)
    check_failures(trials, result, names, converted, trials.perf, f"level{index}")
    retry_level(trials, index, names, trials._crashed(result))
