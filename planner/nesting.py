"""Which of the accepted conversions to keep when they call each other: the outermost conversion measured best
(a converted caller runs its callees inside its graph, so a decorator on them too is redundant), unless its
callees together save more."""

from __future__ import annotations

from collections.abc import Iterable

from hybridize.planner.acceptance import Decision, judge
from hybridize.planner.measurement import Measurement

Nesting = tuple[set[str], dict[str, str], dict[str, list[str]]]  # (chosen, covered -> its ancestor, callees-better)


def choose_nesting(accepted: dict[str, float], edges: dict[tuple[str, str], int], calls: dict[str, int],
                   order: Iterable[str]) -> Nesting:
    """Prefer the outermost conversion measured best.

    ``accepted`` maps accepted functions to seconds saved; ``edges`` are candidate caller -> callee call
    counts. Returns (chosen, covered child -> chosen ancestor, callees-better: parent -> the callees that win).
    """
    nodes = set(calls) | {a for a, _ in edges} | {b for _, b in edges}
    children: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        if a != b:
            children[a].add(b)
    memo: dict[str, float] = {}
    visiting: set[str] = set()

    def value(f: str) -> float:
        if f in memo:
            return memo[f]
        if f in visiting:
            return 0.0
        visiting.add(f)
        below = sum(value(c) for c in children.get(f, ()))
        visiting.discard(f)
        own = accepted.get(f)
        memo[f] = max(own, below) if own is not None else below
        return memo[f]

    chosen: set[str] = set()
    covered: dict[str, str] = {}
    better: dict[str, list[str]] = {}
    for f in _topological(nodes, children, list(order)):
        if f in covered or f not in accepted:
            continue
        below = sum(value(c) for c in children.get(f, ()))
        if accepted[f] >= below or below <= 0:
            chosen.add(f)
            _cover(f, children, edges, calls, chosen, covered)
        else:
            better[f] = sorted(c for c in children.get(f, ()) if value(c) > 0)
    return chosen, covered, better


def _cover(f: str, children: dict[str, set[str]], edges: dict[tuple[str, str], int], calls: dict[str, int],
           chosen: set[str], covered: dict[str, str]) -> None:
    """Mark ``f``'s descendants covered when every call they get comes from inside a chosen graph."""
    stack = list(children.get(f, ()))
    while stack:
        d = stack.pop()
        if d in covered or d in chosen:
            continue
        inside = sum(n for (a, b), n in edges.items() if b == d and (a in chosen or a in covered))
        if inside >= calls.get(d, 0):
            covered[d] = f
            stack.extend(children.get(d, ()))


def _topological(nodes: set[str], children: dict[str, set[str]], order: list[str]) -> list[str]:
    """Callers before callees (cycles broken arbitrarily), ties in ``order``."""
    rank = {n: i for i, n in enumerate(order)}
    indeg = {n: 0 for n in nodes}
    for a in nodes:
        for b in children.get(a, ()):
            indeg[b] += 1
    out: list[str] = []
    ready = sorted((n for n in nodes if indeg[n] == 0), key=lambda n: rank.get(n, 1 << 30))
    seen: set[str] = set()
    while len(out) < len(nodes):
        if not ready:
            rest = sorted((n for n in nodes if n not in seen), key=lambda n: rank.get(n, 1 << 30))
            ready = [rest[0]]
        n = ready.pop(0)
        if n in seen:
            continue
        seen.add(n)
        out.append(n)
        for c in sorted(children.get(n, ()), key=lambda x: rank.get(x, 1 << 30)):
            indeg[c] -= 1
            if indeg[c] <= 0 and c not in seen:
                ready.append(c)
    return out


def with_static_edges(measurements: list[Measurement], edges: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """The run's caller -> callee counts, completed by static callees (one run's dynamic edges can miss some)."""
    names = {m.candidate.function for m in measurements}
    out = dict(edges)
    for m in measurements:
        for callee in m.candidate.static.calls if m.candidate.static is not None else []:
            if callee in names and (m.candidate.function, callee) not in out:
                out[(m.candidate.function, callee)] = 0
    return out


def converted_savings(measurements: list[Measurement], decided: dict[str, Decision]) -> dict[str, float]:
    """Accepted conversions (not tunings or removals) -> the seconds each saves."""
    by_name = {m.candidate.function: m for m in measurements}
    return {n: by_name[n].total_saved_s() or 0.0 for n, (ok, _, _) in decided.items()
            if ok and by_name[n].candidate.action == "convert"}


def nesting(measurements: list[Measurement], edges: dict[tuple[str, str], int],
            decided: dict[str, Decision] | None = None) -> Nesting:
    """``choose_nesting`` over the conversions the measurements so far accept: which are chosen, which are
    covered by a converted caller (no point trying other settings for those), which callers lose to callees."""
    decided = decided if decided is not None else {m.candidate.function: judge(m) for m in measurements}
    names = {m.candidate.function for m in measurements}
    calls = {m.candidate.function: m.base.calls for m in measurements}
    cand_edges = {k: v for k, v in with_static_edges(measurements, edges).items() if k[0] in names and k[1] in names}
    return choose_nesting(converted_savings(measurements, decided), cand_edges, calls,
                          [m.candidate.function for m in measurements])
