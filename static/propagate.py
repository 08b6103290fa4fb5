"""Interprocedural propagation: what a function's callees do is what the function does, as a graph.

Works on the strongly connected components of the call graph in reverse topological order, so every
function's transitive findings are computed once. Calls into functions that are already ``tf.function`` are not
followed (what they do is already graph behaviour); findings about the callee itself (``NOT_PROPAGATED``) stay
there; a finding reached only on a first call (a guarded edge) is kept as that (HY309) or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hybridize.static.facts import Edge, FuncFacts
from hybridize.static.index import FuncInfo, Index
from hybridize.static.model import Finding

MAX_PROPAGATED = 40  # transitive findings kept per function (blockers first): keeps the JSON readable
NOT_PROPAGATED = {"HY401", "HY402", "HY403", "HY302", "HY301", "HY310", "HY311"}  # about the callee itself, not about running it
SEVERITY_RANK = {"blocker": 0, "warning": 1, "info": 2}

Hybrid = tuple[bool, dict[str, Any], list[int]]  # (already a tf.function, decorator arguments, decorator lines)


@dataclass
class Prop:
    finding: Finding  # the original finding (own, in ``origin``)
    origin: FuncInfo
    path: list[str]  # callee chain from the caller's callee down to ``origin`` (ids); [] when own


def propagate(index: Index, facts: dict[str, FuncFacts], graph: dict[str, list[Edge]], hybrid: dict[str, Hybrid],
              components: list[list[str]]) -> dict[str, list[Prop]]:
    """Each analysed function's own and transitive findings (``components`` callees first, as ``sccs`` gives them)."""
    trans: dict[str, list[Prop]] = {}
    for comp in components:
        members = set(comp)
        own: list[Prop] = []
        for fid in comp:
            own.extend(Prop(fd, index.functions[fid], []) for fd in facts[fid].findings
                       if fd.code not in NOT_PROPAGATED)
        for fid in comp:
            info = index.functions[fid]
            items: dict[tuple[str, str, int], Prop] = {}
            for p in own:
                if p.origin is info:
                    items[(p.origin.id, p.finding.code, p.finding.line)] = p
            for e in graph[fid]:
                callee = e.callee.id
                if callee not in facts or hybrid[callee][0]:
                    continue
                source = [p for p in own if p.origin.id == callee] if callee in members else trans.get(callee, [])
                _add_from_callee(items, source, info, e, facts[fid])
            ordered = sorted(items.values(), key=lambda p: (SEVERITY_RANK[p.finding.severity], len(p.path)))
            trans[fid] = ordered[:MAX_PROPAGATED] if len(ordered) > MAX_PROPAGATED else ordered
    return trans


def _add_from_callee(items: dict[tuple[str, str, int], Prop], source: list[Prop], caller: FuncInfo, e: Edge,
                     caller_facts: FuncFacts) -> None:
    """Merge what the callee of ``e`` propagates into the caller's ``items`` (the shortest path wins)."""
    callee = e.callee.id
    for p in source:
        if not _keeps(p, caller, e, caller_facts):
            continue
        if e.guarded:  # reached only on the first call (`@once`, `if self.w is None:`, build)
            if p.finding.closure_name == "self":
                continue
            if p.finding.code in ("HY306", "HY307"):
                f0 = p.finding
                p = Prop(Finding(code="HY309", line=f0.line, file=f0.file, closure_name=f0.closure_name,
                                 message=f"{f0.message.split(' in the body')[0]} on the first call only "
                                         "(the call is guarded): allowed once under tf.function"),
                         p.origin, p.path)
        key = (p.origin.id, p.finding.code, p.finding.line)
        path = [callee, *p.path] if p.path or p.origin.id != callee else [callee]
        if key not in items or len(path) < len(items[key].path):
            items[key] = Prop(p.finding, p.origin, path)


def _keeps(p: Prop, caller: FuncInfo, edge: Edge, caller_facts: FuncFacts) -> bool:
    """Drop what is local from the caller's point of view (closure writes to its own locals; a constructor
    writing to the new object's attributes)."""
    name = p.finding.closure_name
    if name is None:
        return True
    if edge.kind == "ctor" and name == "self" and p.origin is edge.callee:
        return False
    params = {q.name for q in caller_facts.params}
    if name in caller_facts.locals_ and name not in params:
        anc = p.origin.parent
        while anc is not None:
            if anc is caller:
                return False
            anc = anc.parent
    return True


def sccs(nodes: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (deep call chains must not hit the recursion limit); callees first."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index_of:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ.get(node, [])
            recurse = False
            while i < len(children):
                child = children[i]
                i += 1
                if child not in index_of:
                    work.append((node, i))
                    work.append((child, 0))
                    recurse = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if recurse:
                continue
            if low[node] == index_of[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out
