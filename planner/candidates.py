"""Candidates: the profile's functions joined with the static reports, each with a proposed action.

A static rule only proposes; the trial runs decide. What is decided here, before any run, is what can
never pay or never be applied: no tensors seen, a blocker finding, a function the hook cannot reach.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.identity import FunctionId
from hybridize.plan import Rejection, Settings
from hybridize.planner.passthrough import pass_through_detail
from hybridize.planner.settings import SettingsChoice, settings_for_workload
from hybridize.planner.sideeffects import output_side_effect, refusal_detail
from hybridize.planner.traces import TENSOR_KINDS, every_call_on_new_object, per_instance_traces, predict_traces
from hybridize.profile_types import FunctionProfile, Signature, as_function_profile
from hybridize.static.model import Finding, FunctionReport, as_function_report
from hybridize.tracer.cells import module_text

PER_INSTANCE = "retraces-per-instance"  # the rejection code of ``per_instance_detail``

TENSOR_FLAGS = ("keras_layer", "keras_model", "tf_module")


@dataclass
class Candidate:
    """One function the trials will measure."""

    function: str
    file: str
    line: int
    action: str  # "convert" | "tune" | "dehybridize"
    profile: FunctionProfile
    static: FunctionReport | None
    choice: SettingsChoice | None = None  # settings to try (convert/tune)
    current: Settings | None = None  # the existing decorator's settings (tune/dehybridize)
    assumptions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # hand-written ``functions --json`` / ``check --json`` objects (tests) are converted; an empty one is no report
        self.profile = as_function_profile(self.profile)
        if isinstance(self.static, Mapping):
            self.static = as_function_report(self.static) if self.static else None

    @property
    def trial_settings(self) -> Settings:
        return self.choice.settings if self.choice is not None else Settings()

    def target(self, mode: str, settings: Settings | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"function": self.function, "mode": mode}
        if mode == "graph":
            data["settings"] = (settings or self.trial_settings).to_json()
        return data


def _holds_tensor(arg: Any, depth: int = 0) -> bool:
    """A recorded argument that is a tensor/variable, or a container whose recorded items hold one (the items'
    own ``kind`` fields, never their type names: ``tensorflow.keras.Model`` is not a tensor)."""
    if not isinstance(arg, dict) or depth > 8:
        return False
    if arg.get("kind") in (*TENSOR_KINDS, "variable"):
        return True
    if arg.get("kind") == "container":
        items = arg.get("items")
        values = items.values() if isinstance(items, dict) else items if isinstance(items, list) else []
        return any(_holds_tensor(v, depth + 1) for v in values)
    return False


def received_tensors(signatures: Sequence[Signature]) -> bool:
    """Whether any recorded call passed a tensor or variable, directly or inside a container."""
    return any(_holds_tensor(arg) for sig in signatures for arg in (sig.get("args") or {}).values())


def _looked_tensorish(fn: FunctionProfile, report: FunctionReport | None) -> bool:
    """Static analysis assumed tensor parameters, or a container argument was seen: worth saying why it is not
    tried (functions given only plain Python values or objects, such as decorators, are skipped silently)."""
    if report is not None and report.precondition.get("tensor_params"):
        return True
    return any(isinstance(arg, dict) and arg.get("kind") == "container"
               for sig in fn.signatures for arg in (sig.get("args") or {}).values())


# calls that never compute on tensors (type checks, container building); anything else might
PURE_BUILTINS = frozenset({
    "isinstance", "issubclass", "callable", "hasattr", "getattr", "setattr", "type", "id", "len", "list", "tuple",
    "dict", "set", "frozenset", "str", "repr", "bool", "print", "iter", "next", "zip", "enumerate", "range",
    "sorted", "reversed", "super", "vars", "format", "hash"})
_NON_TENSOR_COMPARE = (ast.Is, ast.IsNot, ast.In, ast.NotIn)
_SOURCE_CACHE: dict[Path, ast.Module | None] = {}


def _definition(root: Path, file: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None:
    path = root / file
    if path not in _SOURCE_CACHE:
        try:
            _SOURCE_CACHE[path] = ast.parse(module_text(path))  # a notebook: its cells in order
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            _SOURCE_CACHE[path] = None
    tree = _SOURCE_CACHE[path]
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and node.lineno == line:
            return node
    return None


def no_tensor_computation(root: Path | None, fn: FunctionProfile, report: FunctionReport | None) -> str:
    """Why the function's source cannot compute on tensors (the research tool's P6: tensor parameters, no
    tensor computation), or "" when it may (or the source cannot be read: then it is tried).

    May compute: any call other than a type check or container builder, an arithmetic or comparison
    operator, indexing. Pure Python (``listify``, ``isinstance(x, P) and x.trainable``) does none of these."""
    if root is None:
        return ""
    file = (report.file if report is not None else "") or fn.file
    line = (report.line if report is not None else 0) or fn.line
    node = _definition(root, file, line) if file and line else None
    if node is None:
        return ""
    body: list[ast.AST] = list(node.body) if not isinstance(node, ast.Lambda) else [node.body]
    for stmt in body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.BinOp | ast.AugAssign | ast.Subscript):
                return ""
            if isinstance(sub, ast.UnaryOp) and not isinstance(sub.op, ast.Not):
                return ""
            if isinstance(sub, ast.Compare) and not all(isinstance(op, _NON_TENSOR_COMPARE) for op in sub.ops):
                return ""
            if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in PURE_BUILTINS):
                return ""
    return ("its source does no tensor computation (no TensorFlow or other call, operator or indexing: only type "
            "checks, attribute reads and container building), so a graph has nothing to speed up and tf.function "
            "would reject its Python return values")


def _static_settings(report: FunctionReport | None) -> Settings:
    args = report.decorator_args if report is not None else {}
    rr = args.get("reduce_retracing", args.get("experimental_relax_shapes"))
    jit = args.get("jit_compile")
    return Settings(reduce_retracing=rr if isinstance(rr, bool) else None,
                    jit_compile=jit if isinstance(jit, bool) else None)


def _blockers(report: FunctionReport | None) -> list[Finding]:
    return report.blockers() if report is not None else []


def _rejection(fn: FunctionProfile, reason: str, detail: str, **evidence: Any) -> Rejection:
    return Rejection(function=fn.function, file=fn.file, line=fn.line, reason=reason, detail=detail, evidence=evidence)


def choose_settings(signatures: list[dict[str, Any]], report: FunctionReport | None, overflow: bool = False,
                    workload: list[dict[str, Any]] | None = None, instances: int | None = None,
                    calls: int | None = None, instances_capped: bool = False) -> SettingsChoice:
    """Settings covering every signature seen; traces predicted on ``workload`` (the performance run) when given.

    ``instances``/``calls``: the distinct objects a method was called on, in that many calls, on the run the
    prediction is for; a method traces once per object whatever the settings (``per_instance_traces``), so
    the settings are chosen from the specs and only the predictions change."""
    params = report.params if report is not None else None
    codes = set(report.codes()) if report is not None else set()
    choice = settings_for_workload(signatures, workload, params, overflow=overflow)
    if "HY206" in codes and choice.kind != "plain":
        plain = [a for a in choice.alternatives if a[0] == "plain"]
        choice = SettingsChoice("plain", Settings(), plain[0][2] if plain else predict_traces("plain", signatures),
                                choice.predicted_exact,
                                [*choice.notes, "shape-dependent Python branch (HY206): shapes are not relaxed"],
                                choice.retrace_params, choice.shapes)
    if workload:
        choice.predicted_traces = predict_traces(choice.kind, workload)
        choice.alternatives = [(k, s, predict_traces(k, workload)) for k, s, _ in choice.alternatives]
    if instances is not None:
        choice.instances = instances
    if instances is not None and instances > 1:
        choice.predicted_traces = per_instance_traces(choice.predicted_traces, instances, calls)
        choice.alternatives = [(k, s, per_instance_traces(n, instances, calls)) for k, s, n in choice.alternatives]
        choice.notes.append(instances_note(instances, calls, instances_capped))
    return choice


def instances_note(instances: int, calls: int | None, capped: bool = False) -> str:
    """Why a method traces at least once per object, in words for the report."""
    many = f"at least {instances}" if capped else str(instances)
    in_calls = f" in {calls} call(s)" if calls else ""
    return (f"called on {many} different objects{in_calls}: a tf.function method traces once per object "
            "(TensorFlow binds a separate Function, with its own traces, to each instance)")


def instance_counts(fn: FunctionProfile, observed: Any = None) -> tuple[int | None, int | None, bool]:
    """(instances, calls, capped) of the run a prediction is for: the trial's ``observed`` ``FunctionResult``
    when it recorded instances (the baseline does, with the signatures), else the profile function ``fn``."""
    n = getattr(observed, "instances", None) if observed is not None else None
    if isinstance(n, int):
        return n, int(observed.calls), bool(getattr(observed, "instances_capped", False))
    return fn.instances, fn.calls, fn.instances_capped


def per_instance_detail(c: Candidate, observed: Any = None) -> str:
    """Why ``c`` is rejected ``retraces-per-instance`` (a conversion whose every call is on a new object), or "".

    ``observed``: the performance command's own counts (the baseline trial's ``FunctionResult``, which records
    ``instances`` with the signatures); only without them the profile's, which come from the test command (where
    each test may build its own object: a layer called once per test is not called once per object in training).
    Only conversions: an existing tf.function on such a method is left to the trials (removing it is what helps)."""
    if c.action != "convert" or (observed is not None and not isinstance(getattr(observed, "instances", None), int)):
        return ""
    instances, calls, capped = instance_counts(c.profile, observed)
    if instances is None or not every_call_on_new_object(instances, calls):
        return ""
    return (f"called on {'at least ' if capped else ''}{instances} different objects in {calls} calls: a tf.function "
            "method traces once per object, so every call would trace; convert the caller that creates the object "
            "instead, or keep one object and pass the changing values as tensors")


def classify_hybrid(c: Candidate, workload: list[dict[str, Any]] | None = None,
                    observed_traces: int | None = None, observed: Any = None) -> None:
    """An existing tf.function: tune when better settings cut its traces, otherwise probe removing it."""
    fn = c.profile
    instances, calls, capped = instance_counts(fn, observed)
    sigs = list(fn.signatures)
    if workload:
        sigs = _union(sigs, workload)
    choice = choose_settings(sigs, c.static, bool(fn.signatures_overflow), workload, instances, calls, capped)
    traces = observed_traces if observed_traces is not None else fn.traces
    current_traces = max(traces, per_instance_traces(predict_traces("plain", workload or sigs), instances, calls))
    c.choice = choice
    if choice.kind != "plain" and choice.settings != c.current and current_traces > choice.predicted_traces:
        c.action = "tune"
    else:
        c.action = "dehybridize"


def _union(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from hybridize.planner.trials import merge_signatures

    return merge_signatures(a, b)


def refine(c: Candidate, workload: list[dict[str, Any]], observed_traces: int | None = None,
           observed: Any = None) -> None:
    """Re-derive settings once the baseline trial has recorded the performance command's own signatures (and,
    in ``observed``, its ``FunctionResult``: the objects a method was called on)."""
    if not workload:
        return
    if c.current is not None:  # an existing tf.function
        classify_hybrid(c, workload, observed_traces, observed)
        return
    sigs = _union(list(c.profile.signatures), workload)
    instances, calls, capped = instance_counts(c.profile, observed)
    c.choice = choose_settings(sigs, c.static, bool(c.profile.signatures_overflow), workload, instances, calls, capped)


def build_candidates(functions: Iterable[FunctionProfile | Mapping[str, Any]],
                     reports: Iterable[FunctionReport | Mapping[str, Any]],
                     static_available: bool = True, root: Path | None = None) -> tuple[list[Candidate], list[Rejection]]:
    """Join on ``function`` (falling back to file and line) and sort into candidates and early rejections.

    ``functions``/``reports``: the profile's records and the static reports (``functions --json`` rows and
    ``check --json`` objects are converted). With ``root``, the sources are read to reject pass-through wrappers
    before any run."""
    by_name: dict[str, FunctionReport] = {}
    by_loc: dict[tuple[str, int], FunctionReport] = {}
    for r in map(as_function_report, reports):
        by_name[r.function] = r
        by_loc[(r.file, r.line)] = r
    candidates: list[Candidate] = []
    rejected: list[Rejection] = []
    for fn in map(as_function_profile, functions):
        name = fn.function
        report = by_name.get(name) or by_loc.get((fn.file, fn.line))
        hybrid = fn.hybrid or (report is not None and report.hybrid)
        tensors = received_tensors(fn.signatures)
        if not hybrid and not tensors:
            if _looked_tensorish(fn, report):
                rejected.append(_rejection(fn, "pure-python", "no tensor or variable was passed to it, directly or "
                                           "inside a container, in any recorded call: nothing for a graph to compute"))
            continue  # never a candidate: pure Python as far as the workload shows
        assumptions = list(report.assumptions) if report is not None else []
        if report is None:
            assumptions.append("no static report for this function" if static_available
                               else "static analysis unavailable: relying on the test run alone")
        if FunctionId.is_nested_qualname(fn.qualname):
            rejected.append(_rejection(fn, "not-reachable", "a nested function: the decorator cannot be tried "
                                       "from its module (convert its enclosing function instead)"))
            continue
        if not hybrid:
            forwards = pass_through_detail(root, report)
            if forwards:
                rejected.append(_rejection(fn, "pass-through", forwards))
                continue
            pure = no_tensor_computation(root, fn, report)
            if pure:
                rejected.append(_rejection(fn, "pure-python", pure))
                continue
        if hybrid:
            c = Candidate(name, fn.file, fn.line, "dehybridize", fn, report, None,
                          _static_settings(report), assumptions)
            classify_hybrid(c)
            candidates.append(c)
            continue
        blockers = _blockers(report)
        if blockers:
            b = blockers[0]
            via = " via " + " -> ".join(b.via) if b.via else ""
            rejected.append(_rejection(fn, "blocker-finding", f"{b.code} at line {b.line}{via}: {b.message}",
                                       findings=[f"{f.code}:{f.line}" for f in blockers]))
            continue
        output = output_side_effect(report)
        if output is not None:
            rejected.append(_rejection(fn, "blocker-finding", refusal_detail(output),
                                       findings=[f"{output.code}:{output.line}"]))
            continue
        instances, calls, capped = instance_counts(fn)
        choice = choose_settings(list(fn.signatures), report, bool(fn.signatures_overflow), None, instances, calls,
                                 capped)
        candidates.append(Candidate(name, fn.file, fn.line, "convert", fn, report, choice, None, assumptions))
    return candidates, rejected
