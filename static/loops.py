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
"""

from __future__ import annotations

import ast
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.identity import FunctionId
from hybridize.static.index import FuncInfo, Index, ModuleInfo, build_index, dotted_name
from hybridize.static.names import LAYERISH
from hybridize.static.names import NON_TENSOR_TF as _NON_TENSOR
from hybridize.static.rules import FunctionRules

# tf.nest, tf.TensorShape, tf.print, ...: not tensor computations (GradientTape counts as training instead; Keras
# losses and tf.debugging checks are tensor work here).
NON_TENSOR_TF = tuple(sorted(set(_NON_TENSOR) - {"tensorflow.GradientTape", "tensorflow.keras", "tensorflow.debugging"}))

# Own-body finding codes that mean "this statement must run eagerly, every step" (docs/static-codes.md).
EAGER_CODES = frozenset({"HY101", "HY102", "HY103", "HY104", "HY105", "HY106", "HY107", "HY108", "HY109", "HY110",
                         "HY201", "HY202", "HY203", "HY204", "HY301", "HY303", "HY304", "HY305", "HY306", "HY307"})
TF_ROOTS = ("tensorflow", "keras", "tf_keras")
CALLEE_OK = frozenset({"HY310", "HY311"})
SETUP_SCOPES = frozenset({"__init__", "build", "__new__", "__post_init__", "setUp", "setUpClass"})
TRAINING_METHODS = frozenset({"gradient", "apply_gradients", "minimize", "GradientTape"})
LOOP_NODES = (ast.For, ast.While)
_TRY: tuple[type[ast.Try], ...] = (ast.Try, *((getattr(ast, "TryStar"),) if hasattr(ast, "TryStar") else ()))  # noqa: B009
# Pure-Python / bookkeeping calls that do not make a statement tensor work; Keras loops and I/O that must stay eager.
NOT_COMPUTE_METHODS = frozenset({"compute_output_shape", "compute_output_signature", "get_config", "from_config",
                                 "get_weights", "set_weights", "count_params", "index", "append", "add", "get",
                                 "items", "keys", "values", "format", "summary"})
KERAS_EAGER = frozenset({"fit", "evaluate", "predict", "predict_on_batch", "train_on_batch", "test_on_batch",
                         "fit_generator", "evaluate_generator", "predict_generator", "compile", "summary", "save",
                         "save_weights", "load_weights", "export", "to_json"})
TENSOR_METHODS = frozenset({"gradient", "apply_gradients", "assign", "assign_add", "assign_sub", "scatter_update",
                            "scatter_add", "scatter_nd_update", "minimize"})
SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass
class Stay:
    """A top-level statement of the loop body that must stay in the loop, and why."""

    line: int
    end_line: int
    reason: str


@dataclass
class Region:
    """The statements to move: lines ``start``..``end`` of the loop body, and the step's data flow."""

    start: int
    end: int
    stmt_lines: list[int]  # first line of each top-level statement in the region
    params: list[str]  # read in the region, bound before it in an enclosing function or the script
    returns: list[str]  # assigned in the region and read elsewhere (later, after the loop, next step)
    globals: list[str]  # module-level imports / defs / classes / builtins it reads: stay globals
    tensor_statements: int
    training: bool = False  # holds a GradientTape / gradient / apply_gradients: a training step


@dataclass
class LoopCandidate:
    """One loop: where it is, the region it could extract (or why none), and what stays in the loop."""

    file: str
    line: int
    end_line: int
    kind: str  # "for" | "while"
    scope: str  # qualname of the enclosing function, or "<module>"
    depth: int  # loops enclosing this one
    region: Region | None = None
    stays: list[Stay] = field(default_factory=list)
    refusal: str = ""  # why no region, when ``region`` is None
    assumptions: list[str] = field(default_factory=list)
    time_s: float | None = None  # profiled time of the enclosing function (inclusive), when a profile has it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    finder = _Finder(index, mod, verdicts)
    finder.walk(mod.tree.body, func=None, depth=0)
    found = finder.found
    found.sort(key=_static_key)
    return found


def _static_key(c: LoopCandidate) -> tuple[bool, bool, int, int, int]:
    return (c.region is None, not (c.region and c.region.training),
            -(c.region.tensor_statements if c.region else 0), -c.depth, c.line)


def rank_by_profile(found: list[LoopCandidate], functions: list[dict[str, Any]]) -> int:
    """Re-rank with the profile (``hybridize functions --json`` rows): loops inside a profiled function by its total
    time, most first, before those the profile has no time for (module-level loops: time outside functions is not
    recorded yet, issue #12), which keep the static order. Returns how many loops got a time."""
    times = {(f.get("file"), str(f.get("function", "")).partition(":")[2]): float(f.get("total_s") or 0.0)
             for f in functions}
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


class _Finder:
    def __init__(self, index: Index, mod: ModuleInfo, verdicts: dict[str, tuple[str, str]]) -> None:
        self.index = index
        self.mod = mod
        self.verdicts = verdicts
        self.found: list[LoopCandidate] = []
        self.by_node = {id(f.node): f for f in index.functions.values()}

    def walk(self, body: list[ast.stmt], func: FuncInfo | None, depth: int, outer: frozenset[str] = frozenset()
             ) -> None:
        """``outer``: step counters of the loops around (a read of one retraces the step once per outer step)."""
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.walk(stmt.body, self.by_node.get(id(stmt)), 0)
                continue
            if isinstance(stmt, ast.ClassDef):
                self.walk(stmt.body, None, 0)
                continue
            if isinstance(stmt, LOOP_NODES):
                self.found.append(self.candidate(stmt, func, depth, outer))
            inner = depth + 1 if isinstance(stmt, (*LOOP_NODES, ast.AsyncFor)) else depth
            for child in _child_bodies(stmt):
                self.walk(child, func, inner, outer | _counters(stmt) if isinstance(stmt, LOOP_NODES) else outer)

    def candidate(self, loop: ast.For | ast.While, func: FuncInfo | None, depth: int, outer: frozenset[str]
                  ) -> LoopCandidate:
        cand = LoopCandidate(file=self.mod.file, line=loop.lineno, end_line=loop.end_lineno or loop.lineno,
                             kind="for" if isinstance(loop, ast.For) else "while",
                             scope=func.qualname if func is not None else "<module>", depth=depth)
        body = loop.body
        if func is not None and func.name in SETUP_SCOPES:
            cand.refusal = f"in `{func.qualname}`, which sets an object up once: not a hot loop"
            return cand
        eager = self._eager_lines(loop, func, cand)
        counters = _counters(loop) | (outer - (_stores(loop.target) if isinstance(loop, ast.For) else set()))
        bound_before: set[str] = _stores(loop.target) if isinstance(loop, ast.For) else set()
        work: list[bool] = []
        tensor_names: set[str] = set()  # names assigned from tensor work earlier in the body
        derived: list[set[str]] = []  # tensor_names as each statement starts
        for stmt in body:
            derived.append(set(tensor_names))
            hit = self._tensor_work(stmt) or (bool(_loads(stmt) & tensor_names) and any(
                isinstance(n, (ast.Call, ast.BinOp)) for n in ast.walk(stmt)))
            work.append(hit)
            if hit:
                tensor_names |= _all_stores(stmt)
        stays: dict[int, str] = {}
        stale_tapes: set[str] = set()  # tapes recorded by statements that stay eager
        for i, stmt in enumerate(body):
            reason = self._stay_reason(stmt, eager, counters, bound_before, derived[i])
            tape = sorted(_loads(stmt) & stale_tapes)
            if not reason and tape:
                reason = f"uses the tape `{tape[0]}`, which records eagerly in a statement that stays in the loop"
            if reason:
                stays[i] = reason
                stale_tapes |= _tapes(stmt)
            bound_before |= _all_stores(stmt)
        cand.stays = [Stay(body[i].lineno, body[i].end_lineno or body[i].lineno, r) for i, r in sorted(stays.items())]
        best: tuple[int, int, int] | None = None  # (tensor statements, first, last)
        run: list[int] = []
        for i in [*range(len(body)), len(body)]:
            if i < len(body) and i not in stays:
                run.append(i)
                continue
            tensorish = [j for j in run if work[j]]
            if tensorish:  # trim statements without tensor work at both ends
                first, last = tensorish[0], tensorish[-1]
                score = len(tensorish)
                if best is None or score > best[0]:
                    best = (score, first, last)
            run = []
        if best is None:
            cand.refusal = ("no tensor work that can move: " + "; ".join(
                f"line {s.line}: {s.reason}" for s in cand.stays[:3])) if cand.stays else "no tensor work in the body"
            return cand
        score, first, last = best
        stmts = body[first:last + 1]
        if len(stmts) == 1 and not isinstance(stmts[0], (ast.With, ast.If, ast.For, ast.Try)):
            cand.refusal = (f"only line {stmts[0].lineno} could move: one statement is too little work for a step of "
                            "its own")
            return cand
        problem = self._scope_problem(stmts, func)
        if problem:
            cand.refusal = problem
            return cand
        params, returns, globals_ = self._data_flow(stmts, func)
        cand.region = Region(start=stmts[0].lineno, end=stmts[-1].end_lineno or stmts[-1].lineno,
                             stmt_lines=[s.lineno for s in stmts], params=params, returns=returns, globals=globals_,
                             tensor_statements=score, training=any(_is_training(s) for s in stmts))
        return cand

    # ----- what must stay -------------------------------------------------------------------------------------
    def _eager_lines(self, loop: ast.For | ast.While, func: FuncInfo | None, cand: LoopCandidate) -> dict[int, str]:
        """Line -> reason, from the checker's rules run on the loop body as if it were a function of its own."""
        node = ast.FunctionDef(name="<loop>", args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                                                 kw_defaults=[], kwarg=None, defaults=[]),
                               body=loop.body, decorator_list=[], returns=None)
        if sys.version_info >= (3, 12):
            node.type_params = []
        ast.copy_location(node, loop)
        node.end_lineno = loop.end_lineno
        ident = FunctionId(module=self.mod.name, qualname=f"<loop@{loop.lineno}>", file=self.mod.file, line=loop.lineno)
        info = FuncInfo(module=self.mod, ident=ident, node=node, name="<loop>", parent=func)
        out: dict[int, str] = {}
        try:
            rules = FunctionRules(self.index, info)
            rules.prepare()
            facts = rules.run()
        except Exception as exc:  # a rules bug costs this loop, never the command
            cand.assumptions.append(f"the side-effect rules failed on this loop ({type(exc).__name__}); "
                                    "every statement with a call was kept in the loop")
            for stmt in loop.body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Call):
                        out.setdefault(sub.lineno, "unanalysed call")
            return out
        for f in facts.findings:
            if not f.via and f.code in EAGER_CODES:
                out.setdefault(f.line, f"{f.code} {f.message}")
        for edge in facts.edges:
            verdict, why = self.verdicts.get(edge.callee.id, ("unknown", ""))
            if verdict == "unsafe":
                out.setdefault(edge.line, f"calls `{edge.callee.qualname}`, unsafe as a graph ({why})")
        cand.assumptions.extend(a for a in facts.assumptions if a not in cand.assumptions)
        return out

    def _stay_reason(self, stmt: ast.stmt, eager: dict[int, str], counters: set[str], bound_before: set[str],
                     tensor_lists: set[str]) -> str:
        # A nested loop may move only over a Python list the step itself made (``for g in grads:``: unrolled, as
        # intended); any other (a dataset, a range of steps) would be unrolled or turned into a graph loop.
        if isinstance(stmt, (*LOOP_NODES, ast.AsyncFor)) and not (
                isinstance(stmt, ast.For) and isinstance(stmt.iter, ast.Name) and stmt.iter.id in tensor_lists
                and not stmt.orelse):
            return "a nested loop (as Python in a graph it would be unrolled or converted)"
        end = stmt.end_lineno or stmt.lineno
        for line in range(stmt.lineno, end + 1):
            if line in eager:
                return f"runs eagerly every step: {eager[line]}"
        if isinstance(stmt, (ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom, ast.Delete, *SCOPE_NODES)):
            return f"a `{type(stmt).__name__.lower()}` statement"
        keras = self._keras_loop(stmt)
        if keras:
            return f"`{keras}(...)` runs Keras' own loop or file I/O, which cannot run inside a step"
        jump = _jump(stmt)
        if jump:
            return f"`{jump}` leaves the step (control flow of the loop itself)"
        reads = _loads(stmt)
        counter = sorted(reads & counters)
        if counter:
            return (f"reads the step counter `{counter[0]}`, a Python int that changes from step to step "
                    "(the step would retrace for every new value)")
        carried = sorted(n for n in _updates(stmt) if n not in bound_before)
        if carried:
            return (f"updates `{carried[0]}`, which is carried from one step to the next (read before it is written: "
                    "a Python value would retrace on every call)")
        return ""

    def _tensor_work(self, stmt: ast.stmt) -> bool:
        """Does the statement call TensorFlow / Keras, a model, layer, loss or optimizer, or a variable update?
        (A statement computing on names that tensor work assigned counts too: see ``candidate``.)"""
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Call):
                text = dotted_name(sub.func)
                if text is None:
                    continue
                fq = self.mod.resolve_dotted(text)
                parts = text.split(".")
                if parts[-1] in TENSOR_METHODS:
                    return True
                if fq.split(".")[0] in TF_ROOTS:
                    if not (fq.startswith(NON_TENSOR_TF) or ".utils." in fq or parts[-1] in NOT_COMPUTE_METHODS):
                        return True
                    continue
                # a model / layer / loss called, or a method of one (`model.decode(z)`, `metric.update_state`)
                if LAYERISH.search(parts[-1]) or (len(parts) > 1 and any(LAYERISH.search(p) for p in parts[:-1])
                                                   and parts[-1] not in NOT_COMPUTE_METHODS):
                    return True
        return False

    def _keras_loop(self, stmt: ast.stmt) -> str:
        """`model.fit(...)` and friends: Keras' own loops and file I/O, which must not run inside a step."""
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in KERAS_EAGER:
                root = dotted_name(sub.func.value) or ""
                if any(LAYERISH.search(p) for p in root.split(".")):
                    return f"{root}.{sub.func.attr}"
        return ""

    def _scope_problem(self, stmts: list[ast.stmt], func: FuncInfo | None) -> str:
        """A region that writes a name declared ``global``/``nonlocal`` in the enclosing function cannot move."""
        if func is None or isinstance(func.node, ast.Lambda):
            return ""
        declared: set[str] = set()
        for sub in _walk_scope(func.node.body):
            if isinstance(sub, (ast.Global, ast.Nonlocal)):
                declared.update(sub.names)
        written = set().union(*(_all_stores(s) for s in stmts))
        hit = sorted(written & declared)
        if hit:
            return f"the region writes `{hit[0]}`, declared global/nonlocal: the write would happen once per trace"
        return ""

    # ----- data flow ------------------------------------------------------------------------------------------
    def _data_flow(self, stmts: list[ast.stmt], func: FuncInfo | None) -> tuple[list[str], list[str], list[str]]:
        read_first, written, definite = _flow(stmts)
        params: list[str] = []
        globals_: list[str] = []
        if func is None:
            kinds = _module_binding_kinds(self.mod.tree.body)
            for name in sorted(read_first):
                k = kinds.get(name, set())
                if k and not k <= {"import", "def"}:
                    params.append(name)
                else:
                    globals_.append(name)
        else:
            local = _function_locals(func)
            for name in sorted(read_first):
                (params if name in local else globals_).append(name)
        scope_body = self.mod.tree.body if func is None or isinstance(func.node, ast.Lambda) else func.node.body
        returns = sorted(_live_after(scope_body, stmts, written))
        # A returned name the region may leave unassigned (set under an `if`) must come in too, so the step hands
        # back its old value; when nothing outside the region binds it, there is no old value to pass.
        outside = _stores_outside(scope_body, stmts)
        if func is not None and not isinstance(func.node, ast.Lambda):
            a = func.node.args
            outside |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
        maybe = [n for n in returns if n not in definite and n not in params and n in outside]
        params = sorted([*params, *maybe])
        return params, returns, globals_


# ----- helpers on statements ------------------------------------------------------------------------------------
def _is_training(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Call) and (dotted_name(n.func) or "").rpartition(".")[2] in TRAINING_METHODS
               for n in ast.walk(stmt))


def _tapes(stmt: ast.stmt) -> set[str]:
    """Names bound by ``with ... GradientTape(...) as name`` in ``stmt``."""
    out: set[str] = set()
    for node in _walk_scope([stmt]):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                ctx = item.context_expr
                fn = dotted_name(ctx.func) if isinstance(ctx, ast.Call) else None
                if fn and fn.endswith("GradientTape") and item.optional_vars is not None:
                    out |= _stores(item.optional_vars)
    return out


Path_ = tuple[tuple[int, int], ...]  # (id of a statement list, index in it) from the scope's body down


def _live_after(scope_body: list[ast.stmt], region: list[ast.stmt], written: set[str]) -> set[str]:
    """The names of ``written`` whose value from the region can be read afterwards: later in the loop body, in the
    next iteration, after the loop, or by a nested function (always counted). A read is not ours when a store
    outside the region dominates it structurally (straight-line order in a common block, a ``for`` target, a
    ``with ... as``) and lies between the region and the read. Conservative: ``break``/exceptions are ignored, so
    a name may be returned that is not needed, never the reverse."""
    last = region[-1]
    end = (last.end_lineno or last.lineno, last.end_col_offset or 0)
    region_ids = {id(s) for s in region}
    loads: dict[str, list[tuple[tuple[int, int], Path_, bool]]] = {}  # name -> (pos, path, in nested def)
    stores: dict[str, list[tuple[tuple[int, int], Path_]]] = {}
    loops: list[tuple[tuple[int, int], tuple[int, int], Path_]] = []  # enclosing loops: (start, end, path)

    def walk(body: list[ast.stmt], path: Path_) -> None:
        for i, stmt in enumerate(body):
            if id(stmt) in region_ids:
                continue
            here = (*path, (id(body), i))
            pos = (stmt.lineno, stmt.col_offset)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                for name in _free_loads(stmt) & written:
                    loads.setdefault(name, []).append((pos, here, True))
                if not isinstance(stmt, ast.Lambda):
                    stores.setdefault(stmt.name, []).append((pos, here))
                continue
            bodies = _child_bodies(stmt)
            inner = {id(n) for b in bodies for s in b for n in ast.walk(s)}
            for n in ast.walk(stmt):
                if id(n) in inner or not isinstance(n, ast.Name) or n.id not in written:
                    continue
                if isinstance(n.ctx, ast.Load):
                    loads.setdefault(n.id, []).append((pos, here, False))
                elif isinstance(n.ctx, ast.Store):
                    binder = isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith))
                    # a for target / with-as binds before its body runs: it dominates the body, not what follows
                    spot = (*here, (id(stmt.body), -1)) if binder else here  # type: ignore[attr-defined]
                    stores.setdefault(n.id, []).append(((pos[0], pos[1] + 1) if binder else pos, spot))
            if isinstance(stmt, (ast.For, ast.While, ast.AsyncFor)) and _contains(stmt, region[0]):
                loops.append((pos, (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0), here))
            for b in bodies:
                walk(b, here)

    walk(scope_body, ())

    def dominates(store: Path_, load: Path_) -> bool:
        *head, (lst, idx) = store
        return (len(load) > len(head) and list(load[:len(head)]) == head and load[len(head)][0] == lst
                and load[len(head)][1] > idx)

    live: set[str] = set()
    for name in written:
        for pos, path, nested in loads.get(name, []):
            if nested:
                live.add(name)
                break
            if pos > end:
                killed = any(end < spos < pos and dominates(sp, path) for spos, sp in stores.get(name, []))
            else:  # before the region: read in a later iteration of a loop holding both
                loop = next((lp for lp in loops if lp[0] <= pos <= lp[1]), None)
                if loop is None:
                    continue
                killed = any(loop[0] <= spos < pos and dominates(sp, path) for spos, sp in stores.get(name, []))
            if not killed:
                live.add(name)
                break
    return live


def _free_loads(node: ast.AST) -> set[str]:
    """Names a def / class / lambda reads from outside: loads minus each function's own parameters and locals
    (approximate: a name local to any function inside counts as local there)."""
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = sub.args
            local = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
            body = [sub.body] if isinstance(sub, ast.Lambda) else sub.body
            declared: set[str] = set()
            for n in (m for b in body for m in ast.walk(b)):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    local.add(n.id)
                elif isinstance(n, (ast.Global, ast.Nonlocal)):
                    declared.update(n.names)
            local -= declared
            out |= {n.id for b in body for n in ast.walk(b)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in local}
        elif isinstance(sub, ast.ClassDef):
            out |= {n.id for b in sub.body if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for n in ast.walk(b) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            out |= {n.id for d in [*sub.bases, *sub.decorator_list] for n in ast.walk(d) if isinstance(n, ast.Name)}
    return out


def _stores_outside(scope_body: list[ast.stmt], region: list[ast.stmt]) -> set[str]:
    skip = {id(s) for s in region}
    out: set[str] = set()
    todo: list[ast.AST] = list(scope_body)
    while todo:
        node = todo.pop()
        if id(node) in skip:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        if not isinstance(node, SCOPE_NODES):
            todo.extend(ast.iter_child_nodes(node))
        elif not isinstance(node, ast.Lambda):
            out.add(node.name)
    return out


def _contains(outer: ast.stmt, inner: ast.stmt) -> bool:
    return any(n is inner for n in ast.walk(outer))


def _child_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    out: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            out.append(value)
    for handler in getattr(stmt, "handlers", []) or []:
        out.append(handler.body)
    for case in getattr(stmt, "cases", []) or []:
        out.append(case.body)
    return out


def _walk_scope(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of ``body`` without descending into nested functions, classes or lambdas."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(reversed(body))
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, SCOPE_NODES):
            continue
        todo.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _jump(stmt: ast.stmt) -> str:
    """The first return/break/continue/yield/await of this loop's level inside ``stmt`` (nested loops excluded)."""
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return):
            return "return"
        if isinstance(node, (ast.Break, ast.Continue)):
            return "break" if isinstance(node, ast.Break) else "continue"
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            return type(node).__name__.lower().replace("yieldfrom", "yield from")
        if isinstance(node, SCOPE_NODES):
            continue
        if isinstance(node, (*LOOP_NODES, ast.AsyncFor)) and node is not stmt:
            # break/continue inside a nested loop belong to it; return/yield still leave ours
            todo.extend(n for n in ast.walk(node) if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)))
            continue
        todo.extend(ast.iter_child_nodes(node))
    return ""


def _stores(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _all_stores(stmt: ast.stmt) -> set[str]:
    """Names the statement binds in its own scope (assignments, ``with ... as``, walrus, nested defs' names)."""
    out: set[str] = set()
    for node in _walk_scope([stmt]):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def _loads(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _updates(stmt: ast.stmt) -> set[str]:
    """Names the statement reads before it writes them (``n += 1``, ``h = cell(x, h)``)."""
    read_first, written, _ = _flow([stmt])
    return read_first & written


def _counters(loop: ast.For | ast.While) -> set[str]:
    """Loop variables that are Python ints changing every step: ``for i in range(...)``, ``for i, b in enumerate``."""
    if not isinstance(loop, ast.For) or not isinstance(loop.iter, ast.Call):
        return set()
    fn = dotted_name(loop.iter.func)
    if fn == "range" and isinstance(loop.target, ast.Name):
        return {loop.target.id}
    if fn == "enumerate" and isinstance(loop.target, ast.Tuple) and loop.target.elts:
        first = loop.target.elts[0]
        return {first.id} if isinstance(first, ast.Name) else set()
    return set()


def _flow(stmts: list[ast.stmt]) -> tuple[set[str], set[str], set[str]]:
    """(names read before being definitely assigned, names assigned, names definitely assigned at the end) over
    ``stmts`` in execution order. Comprehension and lambda variables are their own scope's."""
    read_first: set[str] = set()
    written: set[str] = set()

    def expr(node: ast.AST | None, defined: set[str]) -> None:
        if node is None:
            return
        own: set[str] = set()  # bound by a comprehension or lambda inside this expression
        for sub in ast.walk(node):
            if isinstance(sub, ast.comprehension):
                own |= _stores(sub.target)
            elif isinstance(sub, ast.Lambda):
                a = sub.args
                own |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in defined
                    and sub.id not in own):
                read_first.add(sub.id)

    def store(target: ast.AST, defined: set[str]) -> None:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                defined.add(sub.id)
                written.add(sub.id)
            elif isinstance(sub, (ast.Attribute, ast.Subscript)):
                expr(sub.value, defined)
                if isinstance(sub, ast.Subscript):
                    expr(sub.slice, defined)

    def block(body: list[ast.stmt], defined: set[str]) -> set[str]:
        for s in body:
            stmt(s, defined)
        return defined

    def stmt(s: ast.stmt, defined: set[str]) -> None:
        if isinstance(s, ast.Assign):
            expr(s.value, defined)
            for t in s.targets:
                store(t, defined)
        elif isinstance(s, ast.AugAssign):
            if isinstance(s.target, ast.Name) and s.target.id not in defined:
                read_first.add(s.target.id)
            expr(s.value, defined)
            store(s.target, defined)
        elif isinstance(s, ast.AnnAssign):
            expr(s.value, defined)
            if s.value is not None:
                store(s.target, defined)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                expr(item.context_expr, defined)
                if item.optional_vars is not None:
                    store(item.optional_vars, defined)
            block(s.body, defined)
        elif isinstance(s, ast.If):
            expr(s.test, defined)
            a = block(s.body, set(defined))
            b = block(s.orelse, set(defined))
            defined |= a & b
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            expr(s.iter, defined)
            inner = set(defined)
            store(s.target, inner)
            block(s.body, inner)
            block(s.orelse, set(defined))  # the body may not run: nothing it binds is definite afterwards
        elif isinstance(s, ast.While):
            expr(s.test, defined)
            block(s.body, set(defined))
            block(s.orelse, set(defined))
        elif isinstance(s, _TRY):
            block(s.body, set(defined))
            for h in s.handlers:
                expr(h.type, defined)
                if h.name:
                    written.add(h.name)
                block(h.body, set(defined))
            block(s.orelse, set(defined))
            block(s.finalbody, defined)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(s.name)
            written.add(s.name)
        else:  # expression statements and the rest: reads only (walrus counts as a write)
            for sub in ast.walk(s):
                if isinstance(sub, ast.NamedExpr):
                    store(sub.target, defined)
            expr(s, defined)

    definite = block(stmts, set())
    return read_first, written, definite


def _module_binding_kinds(body: list[ast.stmt]) -> dict[str, set[str]]:
    """Module-level name -> how it is bound ("import", "def" for defs and classes, "value" otherwise)."""
    kinds: dict[str, set[str]] = {}
    for node in _walk_scope(body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                kinds.setdefault((a.asname or a.name).split(".")[0], set()).add("import")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kinds.setdefault(node.name, set()).add("def")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            kinds.setdefault(node.id, set()).add("value")
    return kinds


def _function_locals(func: FuncInfo) -> set[str]:
    """Names local to ``func`` or any function enclosing it (they become parameters of a module-level step)."""
    out: set[str] = set()
    f: FuncInfo | None = func
    while f is not None:
        node = f.node
        args = node.args
        out |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        out |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        if not isinstance(node, ast.Lambda):
            declared: set[str] = set()
            for sub in _walk_scope(node.body):
                if isinstance(sub, ast.Global):
                    declared.update(sub.names)
            for stmt in node.body:
                out |= _all_stores(stmt)
            out -= declared
        f = f.parent
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
