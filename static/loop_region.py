"""Region selection (issue #17): in each loop body, the statements that must stay and the largest contiguous run of
tensor work that can move into a ``@tf.function`` step.

The per-function rules of ``hybridize check`` (``rules.py``) run on the loop body as if it were a function; every
statement with a per-step Python effect, a ``return``/``break``/``continue``/``yield``, a nested loop, a read of the
Python step counter, or an update of a value carried from one step to the next stays in the loop and bounds the
region. The region's data flow comes from ``loop_flow.py``.
"""

from __future__ import annotations

import ast
import sys

from hybridize.identity import FunctionId
from hybridize.static.index import FuncInfo, Index, ModuleInfo, dotted_name
from hybridize.static.loop_flow import (
    LOOP_NODES,
    SCOPE_NODES,
    bound_names,
    child_bodies,
    data_flow,
    jump_in,
    loaded_names,
    step_counters,
    stored_names,
    updated_names,
    walk_scope,
)
from hybridize.static.loop_model import LoopCandidate, Region, Stay
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
# Pure-Python / bookkeeping calls that do not make a statement tensor work; Keras loops and I/O that must stay eager.
NOT_COMPUTE_METHODS = frozenset({"compute_output_shape", "compute_output_signature", "get_config", "from_config",
                                 "get_weights", "set_weights", "count_params", "index", "append", "add", "get",
                                 "items", "keys", "values", "format", "summary"})
KERAS_EAGER = frozenset({"fit", "evaluate", "predict", "predict_on_batch", "train_on_batch", "test_on_batch",
                         "fit_generator", "evaluate_generator", "predict_generator", "compile", "summary", "save",
                         "save_weights", "load_weights", "export", "to_json"})
TENSOR_METHODS = frozenset({"gradient", "apply_gradients", "assign", "assign_add", "assign_sub", "scatter_update",
                            "scatter_add", "scatter_nd_update", "minimize"})


class Finder:
    """Walks a module and makes one ``LoopCandidate`` per loop (``found``)."""

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
            for child in child_bodies(stmt):
                self.walk(child, func, inner, outer | step_counters(stmt) if isinstance(stmt, LOOP_NODES) else outer)

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
        counters = step_counters(loop) | (outer - (stored_names(loop.target) if isinstance(loop, ast.For) else set()))
        bound_before: set[str] = stored_names(loop.target) if isinstance(loop, ast.For) else set()
        work, derived = self._work(body)
        stays = self._stays(body, eager, counters, bound_before, derived)
        cand.stays = [Stay(body[i].lineno, body[i].end_lineno or body[i].lineno, r) for i, r in sorted(stays.items())]
        best = _best_run(len(body), stays, work)
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
        params, returns, globals_ = data_flow(self.mod.tree.body, stmts, func)
        cand.region = Region(start=stmts[0].lineno, end=stmts[-1].end_lineno or stmts[-1].lineno,
                             stmt_lines=[s.lineno for s in stmts], params=params, returns=returns, globals=globals_,
                             tensor_statements=score, training=any(_is_training(s) for s in stmts))
        return cand

    def _work(self, body: list[ast.stmt]) -> tuple[list[bool], list[set[str]]]:
        """Per statement: is it tensor work, and the names tensor work assigned before it (a statement computing on
        them is tensor work too)."""
        work: list[bool] = []
        tensor_names: set[str] = set()  # names assigned from tensor work earlier in the body
        derived: list[set[str]] = []  # tensor_names as each statement starts
        for stmt in body:
            derived.append(set(tensor_names))
            hit = self._tensor_work(stmt) or (bool(loaded_names(stmt) & tensor_names) and any(
                isinstance(n, (ast.Call, ast.BinOp)) for n in ast.walk(stmt)))
            work.append(hit)
            if hit:
                tensor_names |= bound_names(stmt)
        return work, derived

    def _stays(self, body: list[ast.stmt], eager: dict[int, str], counters: set[str], bound_before: set[str],
               derived: list[set[str]]) -> dict[int, str]:
        """Index in ``body`` -> why that statement stays in the loop."""
        stays: dict[int, str] = {}
        stale_tapes: set[str] = set()  # tapes recorded by statements that stay eager
        bound = set(bound_before)
        for i, stmt in enumerate(body):
            reason = self._stay_reason(stmt, eager, counters, bound, derived[i])
            tape = sorted(loaded_names(stmt) & stale_tapes)
            if not reason and tape:
                reason = f"uses the tape `{tape[0]}`, which records eagerly in a statement that stays in the loop"
            if reason:
                stays[i] = reason
                stale_tapes |= _tapes(stmt)
            bound |= bound_names(stmt)
        return stays

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
        jump = jump_in(stmt)
        if jump:
            return f"`{jump}` leaves the step (control flow of the loop itself)"
        reads = loaded_names(stmt)
        counter = sorted(reads & counters)
        if counter:
            return (f"reads the step counter `{counter[0]}`, a Python int that changes from step to step "
                    "(the step would retrace for every new value)")
        carried = sorted(n for n in updated_names(stmt) if n not in bound_before)
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
        for sub in walk_scope(func.node.body):
            if isinstance(sub, (ast.Global, ast.Nonlocal)):
                declared.update(sub.names)
        written = set().union(*(bound_names(s) for s in stmts))
        hit = sorted(written & declared)
        if hit:
            return f"the region writes `{hit[0]}`, declared global/nonlocal: the write would happen once per trace"
        return ""


def _is_training(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Call) and (dotted_name(n.func) or "").rpartition(".")[2] in TRAINING_METHODS
               for n in ast.walk(stmt))


def _tapes(stmt: ast.stmt) -> set[str]:
    """Names bound by ``with ... GradientTape(...) as name`` in ``stmt``."""
    out: set[str] = set()
    for node in walk_scope([stmt]):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                ctx = item.context_expr
                fn = dotted_name(ctx.func) if isinstance(ctx, ast.Call) else None
                if fn and fn.endswith("GradientTape") and item.optional_vars is not None:
                    out |= stored_names(item.optional_vars)
    return out


def _best_run(n: int, stays: dict[int, str], work: list[bool]) -> tuple[int, int, int] | None:
    """``(tensor statements, first, last)`` of the run between stays with the most tensor work, trimmed of
    statements without tensor work at both ends; None when no run has any."""
    best: tuple[int, int, int] | None = None
    run: list[int] = []
    for i in [*range(n), n]:
        if i < n and i not in stays:
            run.append(i)
            continue
        tensorish = [j for j in run if work[j]]
        if tensorish and (best is None or len(tensorish) > best[0]):
            best = (len(tensorish), tensorish[0], tensorish[-1])
        run = []
    return best
