"""``analyze()``: index the project, run the rules, propagate findings through calls, decide verdicts.

The stages, in order: ``index`` (files, modules, classes, functions), ``rules`` (each function's own body),
the whole-program marks here (recursion HY302 on call-graph cycles, existing tf.functions HY401-HY403),
``propagate`` (callees' findings, by strongly connected component) and the verdict and research-tool
precondition of each reported function (``_report``).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

from hybridize.project import relpath
from hybridize.static.codes import CODES
from hybridize.static.collect import build_index
from hybridize.static.decorators import hybrid_info
from hybridize.static.discover import discover
from hybridize.static.facts import Edge, FuncFacts
from hybridize.static.index import FuncInfo, Index
from hybridize.static.model import Analysis, Finding, FunctionReport
from hybridize.static.notebooks import annotate
from hybridize.static.propagate import Hybrid, Prop, propagate, sccs
from hybridize.static.rules import FunctionRules

UNKNOWN_CODES = {"HY501", "HY502"}


def analyze(root: Path, paths: list[Path] | None = None, exclude: list[str] | tuple[str, ...] = ()) -> Analysis:
    """Statically check every function under ``paths`` (default: the whole root) for graph compatibility.

    Files that do not parse are reported in ``Analysis.errors`` and skipped. Never executes user code.
    """
    # Syntax trees are millions of GC-tracked objects that live until we return: full collections over them
    # can cost more than the analysis itself. Nothing here makes reference cycles worth collecting early.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyze(root, paths, exclude)
    finally:
        if enabled:
            gc.enable()


def _analyze(root: Path, paths: list[Path] | None, exclude: list[str] | tuple[str, ...]) -> Analysis:
    t0 = time.perf_counter()
    root = Path(root).resolve()
    files = discover(root, paths, exclude)
    # Resolve calls against the whole project even when only some files are reported.
    context = discover(root, None, exclude) if paths else files
    reported = {relpath(p, root) for p in files}
    index = build_index(root, _merge(files, context))
    facts, complete = _run_rules(index, reported)
    hybrid: dict[str, Hybrid] = {fid: _hybrid(info) for fid, info in index.functions.items()}
    graph: dict[str, list[Edge]] = {fid: f.edges for fid, f in facts.items()}
    callers: dict[str, set[str]] = {fid: set() for fid in facts}
    for fid, edges in graph.items():
        for e in edges:
            if e.callee.id in callers:
                callers[e.callee.id].add(fid)
    components = sccs(list(facts), {fid: [e.callee.id for e in edges if e.callee.id in facts]
                                    for fid, edges in graph.items()})
    _mark_recursion(index, facts, graph, components)
    _mark_hybrid(index, facts, hybrid, callers, complete)
    trans = propagate(index, facts, graph, hybrid, components)
    analysis = Analysis(root=str(root), errors=index.errors, files=len(files), lines=index.lines)
    for fid, info in index.functions.items():
        if info.module.file not in reported or fid not in facts:
            continue
        analysis.functions.append(_report(fid, info, facts[fid], trans[fid], hybrid[fid], index.functions))
    analysis.functions.sort(key=lambda r: (r.file, r.line, r.function))
    analysis.duration_s = time.perf_counter() - t0
    analysis.file_times = {k: v for k, v in index.file_times.items() if k in reported}
    analysis.lines = sum(m.lines for m in index.modules.values() if m.file in reported)
    annotate(analysis, index.notebooks)
    return analysis


def _run_rules(index: Index, reported: set[str]) -> tuple[dict[str, FuncFacts], bool]:
    """Run the rules on the reported functions and, transitively, on what they call (all of them without paths).
    Also says whether that is every function of the project (only then is "every caller" known)."""
    rules = _prepare_all(index)
    facts: dict[str, FuncFacts] = {}
    todo = [fid for fid, info in index.functions.items() if info.module.file in reported]
    complete = len(todo) == len(index.functions)
    seen = set(todo)
    while todo:
        fid = todo.pop()
        info = index.functions[fid]
        t1 = time.perf_counter()
        prepared = rules[fid]
        try:
            if prepared is None:
                raise RuntimeError("the pre-pass failed")
            facts[fid] = prepared.run()
        except Exception as exc:  # absurd nesting (RecursionError) or a bug: say so, never crash
            f = FuncFacts(info=info)
            f.add("HY501", info.line, f"could not analyse this function ({type(exc).__name__}): verdict unknown")
            facts[fid] = f
        index.file_times[info.module.file] = index.file_times.get(info.module.file, 0.0) + time.perf_counter() - t1
        for e in facts[fid].edges:
            if e.callee.id not in seen and e.callee.id in index.functions:
                seen.add(e.callee.id)
                todo.append(e.callee.id)
    return facts, complete


def _prepare_all(index: Index) -> dict[str, FunctionRules | None]:
    """The pre-pass of every function first: it records ``self.X`` attributes on the classes the rules read."""
    rules: dict[str, FunctionRules | None] = {}
    for fid, info in index.functions.items():
        t1 = time.perf_counter()
        try:
            r = FunctionRules(index, info)
            r.prepare()
            rules[fid] = r
        except Exception:  # a bug here must not stop the analysis of the rest of the project
            rules[fid] = None
        index.file_times[info.module.file] = index.file_times.get(info.module.file, 0.0) + time.perf_counter() - t1
    return rules


def _mark_recursion(index: Index, facts: dict[str, FuncFacts], graph: dict[str, list[Edge]],
                    components: list[list[str]]) -> None:
    """HY302 on every function of a call-graph cycle."""
    recursive: dict[str, list[str]] = {}
    for comp in components:
        if len(comp) > 1 or any(e.callee.id == comp[0] for e in graph[comp[0]]):
            for fid in comp:
                recursive[fid] = comp
    for fid, comp in recursive.items():
        info = index.functions[fid]
        if len(comp) == 1:
            msg = f"`{info.qualname}` calls itself: a recursive tf.function fails while staging"
        else:
            names = " -> ".join(index.functions[c].qualname for c in comp[:5])
            msg = f"mutual recursion ({names}): a recursive tf.function fails while staging"
        facts[fid].add("HY302", info.line, msg)


def _mark_hybrid(index: Index, facts: dict[str, FuncFacts], hybrid: dict[str, Hybrid], callers: dict[str, set[str]],
                 complete: bool) -> None:
    """HY401 (already a tf.function), HY403 (deprecated argument), HY402 (redundant: every caller, or the
    enclosing function, is already a tf.function)."""
    for fid, (is_hybrid, args, lines) in hybrid.items():
        if fid not in facts:
            continue
        f = facts[fid]
        if is_hybrid:
            shown = ", ".join(f"{k}={v!r}" for k, v in args.items()) or "no arguments"
            f.add("HY401", lines[0], f"already a tf.function ({shown})")
            if "experimental_relax_shapes" in args:
                f.add("HY403", lines[0], "`experimental_relax_shapes` is deprecated: use reduce_retracing=True")
            outer = list(callers.get(fid, ()))
            if complete and outer and all(hybrid[c][0] for c in outer):
                names = ", ".join(sorted(index.functions[c].qualname for c in outer)[:3])
                f.add("HY402", lines[0], f"every caller ({names}) is already a tf.function: this decorator is redundant")
        for name, line in f.nested_hybrid:
            if is_hybrid:
                nested = index.functions[fid].local_defs.get(name)
                if nested is not None and nested.id in facts:
                    facts[nested.id].add("HY402", line, f"tf.function nested inside the tf.function "
                                                        f"`{index.functions[fid].qualname}`: redundant (traced again "
                                                        "on every outer trace)")


def _merge(first: list[Path], second: list[Path]) -> list[Path]:
    seen = set(first)
    return [*first, *(p for p in second if p not in seen)]


def _hybrid(info: FuncInfo) -> Hybrid:
    try:
        return hybrid_info(info)
    except Exception:  # odd decorator expressions: treat as not hybrid rather than crash
        return False, {}, []


def _report(fid: str, info: FuncInfo, f: FuncFacts, props: list[Prop], hyb: Hybrid,
            functions: dict[str, FuncInfo]) -> FunctionReport:
    findings: list[Finding] = []
    own_keys = set()
    for fd in f.findings:
        findings.append(Finding(code=fd.code, line=fd.line, message=fd.message, via=[], file=fd.file))
        own_keys.add((fd.code, fd.line))
    for p in props:
        if not p.path:
            continue
        chain = [info.qualname, *(functions[x].qualname for x in p.path)]
        via = [fid, *p.path]
        loc = f"line {p.finding.line}" if p.finding.file == info.module.file else f"{p.finding.file}:{p.finding.line}"
        findings.append(Finding(code=p.finding.code, line=p.finding.line, file=p.finding.file, via=via,
                                message=f"{' -> '.join(chain)}: {p.finding.message} ({loc})",
                                plain=p.finding.plain or p.finding.message))
    severities = {fd.severity for fd in findings}
    codes = {fd.code for fd in findings}
    if "blocker" in severities:
        verdict = "unsafe"
    elif "warning" in severities or codes & UNKNOWN_CODES:
        verdict = "unknown"
    else:
        verdict = "safe"
    calls: list[str] = []
    for e in f.edges:
        if e.callee.id not in calls:
            calls.append(e.callee.id)
    assumptions = list(f.assumptions)
    if f.speculative:
        assumptions.insert(0, f"speculative: `{info.name}` is a name the research tool treats as taking tensors "
                              f"(parameters {', '.join(f.tensor_params) or 'none'} assumed tensors)")
    report = FunctionReport(
        function=fid, file=info.module.file, line=info.line, end_line=info.end_line, verdict=verdict,
        hybrid=hyb[0], decorator_args=hyb[1], findings=findings, assumptions=assumptions, calls=calls,
        params=f.params, is_method=info.cls is not None, control_params=list(f.control_params),
        class_bases=list(info.cls.bases) if info.cls is not None else [],
    )
    report.precondition = _precondition(report, f)
    return report


def _precondition(r: FunctionReport, f: FuncFacts) -> dict[str, Any]:
    """The research tool's view: P1 (add tf.function), P2/P3 (remove it) and its failure names."""
    side_effects = any(CODES[fd.code].precondition == "HAS_PYTHON_SIDE_EFFECTS" for fd in r.findings)
    recursive = any(fd.code == "HY302" for fd in r.findings)
    undeterminable = any(fd.code in UNKNOWN_CODES for fd in r.findings)
    tensor, primitive = bool(f.tensor_params), bool(f.primitive_params)
    failures: list[str] = []
    if r.hybrid:
        if not tensor and not side_effects:
            refactoring, holds = "P2", True
        elif tensor and primitive and not side_effects:
            refactoring, holds = "P3", True
        else:
            refactoring, holds = None, False
            if tensor and not primitive:
                failures.append("HAS_NO_PRIMITIVE_PARAMETERS")
    else:
        refactoring = "P1"
        holds = tensor and not primitive and not side_effects and not recursive
        if not tensor:
            failures.append("UNDETERMINABLE_TENSOR_PARAMETER" if any(p.kind.startswith("var") for p in r.params)
                            else "HAS_NO_TENSOR_PARAMETERS")
        if primitive:
            failures.append("HAS_PRIMITIVE_PARAMETERS")
    if side_effects:
        failures.append("HAS_PYTHON_SIDE_EFFECTS")
    if recursive:
        failures.append("IS_RECURSIVE")
    if undeterminable:
        failures.append("UNDETERMINABLE_SIDE_EFFECTS")
    for fd in r.findings:
        name = CODES[fd.code].precondition
        if fd.severity == "blocker" and name.startswith("X_") and name not in failures:
            failures.append(name)
    holds = bool(holds and refactoring is not None and not failures)
    return {"refactoring": refactoring, "holds": holds,
            "tensor_params": list(f.tensor_params), "primitive_params": list(f.primitive_params),
            "speculative": f.speculative, "failures": failures}
