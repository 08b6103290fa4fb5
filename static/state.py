"""What the rules know about one function while they walk it: its names, its tensors, the guards around the
current statement, and the findings so far. Every rule family reads and reports through this one object.
"""

from __future__ import annotations

import ast
import re

from hybridize.static.astutil import is_container_value, once_decorated, root_name, root_passes_calls
from hybridize.static.facts import Edge, FuncFacts
from hybridize.static.index import FuncInfo, Index, ModuleInfo, dotted_name
from hybridize.static.names import (
    BUILD_NAME,
    BUILTINS,
    CONTAINER_ANNOTATION,
    GUARD_NAMES,
    LAYERISH,
    LAYERISH_ANNOTATION,
    NON_TENSOR_TF,
    PY_VALUE_NAME,
    VARIABLE_CTORS,
)
from hybridize.static.scope import Scope, classify_names, param_list
from hybridize.static.tensors import tensor_evidence


class FunctionState:
    """Per-function state shared by the rule families (``writes``, ``control``, ``calls``, ``methods``, ``effects``)."""

    def __init__(self, index: Index, info: FuncInfo) -> None:
        self.index = index
        self.info = info
        self.mod: ModuleInfo = info.module
        self.facts = FuncFacts(info=info)
        self.loops: list[tuple[ast.AST, bool]] = []  # (loop node, is a tensor loop)
        self.if_tests: list[ast.expr] = []
        self.called_texts: list[tuple[int, str]] = []  # (line, unparsed callee) for trainable_variables checks
        self.guard_depth = 0
        self.reported: set[tuple[str, int]] = set()
        # Set by ``prepare`` / ``setup``:
        self.param_names: set[str] = set()
        self.self_name: str | None = None
        self.scope: Scope
        self.body: list[ast.AST] = []
        self.local_names: set[str] = set()
        self.outside: set[str] = set()
        self.binding_flags: dict[str, list[tuple[int, bool]]] = {}
        self.tensors: set[str] = set()
        self.strong_tensors: set[str] = set()
        self.once_decorated = False
        self.guarded_function = False

    def prepare(self) -> None:
        """Pre-pass (run for every function before any ``run``): names, and ``self.X = ...`` for the class."""
        node = self.info.node
        facts = self.facts
        facts.params = param_list(node)
        self.param_names = {p.name for p in facts.params}
        self.self_name = None
        if self.info.cls is not None and facts.params and not self.is_static():
            self.self_name = facts.params[0].name
        scope = Scope()
        body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        for stmt in body:
            scope.visit(stmt)
        self.scope = scope
        self.body = body
        cls = self.info.cls
        if cls is not None and self.self_name == "self":
            for attr, value, _line in scope.self_attrs:
                cls.attrs.add(attr)
                if is_container_value(value):
                    cls.container_attrs.add(attr)
                if isinstance(value, ast.Call):
                    first = value.args[0] if value.args else None
                    if (isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name)
                            and first.value.id == "self" and first.attr in cls.methods):
                        cls.methods[first.attr].wrapped_by.append((value.lineno, value))
                    text = dotted_name(value.func)
                    if text:
                        cls.attr_types.setdefault(attr, self.mod.resolve_dotted(text))

    def setup(self) -> None:
        """Classify names and tensors, and whether the whole function is first-call initialisation."""
        scope = self.scope
        self.local_names = (set(scope.bound) - scope.globals - scope.nonlocals) | self.param_names
        self.facts.locals_ = set(self.local_names)
        self.outside, self.binding_flags = classify_names(scope, self.facts.params, self.local_names)
        tensor_evidence(self)
        self.once_decorated = once_decorated(self.info)
        self.guarded_function = self.info.name in GUARD_NAMES or (
            self.info.cls is not None and BUILD_NAME.search(self.info.name) is not None) or self.once_decorated

    def is_static(self) -> bool:
        node = self.info.node
        if isinstance(node, ast.Lambda):
            return False
        return any(dotted_name(d) in ("staticmethod",) for d in node.decorator_list)

    def outside_at(self, name: str, line: int) -> bool:
        """Is ``name`` an outside object at ``line`` (the latest binding before it decides)?"""
        if name not in self.outside and name not in self.binding_flags:
            return False
        marks = self.binding_flags.get(name, [])
        if name in self.param_names:
            is_var = any(p.name == name and p.kind.startswith("var") for p in self.facts.params)
            marks = [(0, not is_var), *marks]
        elif name not in self.local_names:
            return name in self.outside
        before = [m for m in marks if m[0] < line]
        if before:
            return max(before, key=lambda m: m[0])[1]
        return any(flag for _, flag in marks)

    def outside_root(self, node: ast.expr) -> str | None:
        """The outside name a write target hangs off (None when it is local or created inside)."""
        if root_passes_calls(node):
            return None
        root = root_name(node)
        if root is None:
            return None
        if root == self.self_name or self.outside_at(root, getattr(node, "lineno", 0)):
            return root
        return None

    def closure(self, root: str | None) -> str | None:
        """The name when it is a variable of an enclosing function (so that function may own it); ``self``
        for writes on this method's own instance (dropped when reached from a constructor call)."""
        if root is not None and root == self.self_name:
            return "self"
        if root is None or self.info.parent is None or root in self.param_names:
            return None
        return root if root not in self.scope.globals else None

    def resolve_func(self, func: ast.expr) -> str | None:
        """Dotted name of a callee expression through imports (None for dynamic callees)."""
        text = dotted_name(func)
        if text is None:
            return None
        head = text.partition(".")[0]
        if head in self.local_names:
            return None
        mod = self.mod
        if head in mod.global_values and head not in mod.imports and head not in mod.functions \
                and head not in mod.classes and dotted_name(mod.global_values[head]) is None:
            return None  # a module-level object (logger, list, layer): its methods are handled as objects
        if not (head in mod.imports or head in mod.functions or head in mod.classes or head in mod.global_values
                or head in ("tf", "np") or head in BUILTINS):
            return None  # a closure variable or a name we cannot see (star import)
        return self.index.canonical(mod.resolve_dotted(text))

    def tensorish(self, node: ast.expr) -> bool:
        """Best-effort: does this expression produce a tensor (not a shape, dtype or Python value)?"""
        if isinstance(node, ast.Name):
            return node.id in self.tensors
        if isinstance(node, ast.Call):
            fq = self.resolve_func(node.func)
            if fq is not None and (fq.startswith("tensorflow.") or fq.startswith("keras.ops.")):
                return not any(fq == n or fq.startswith(n + ".") for n in NON_TENSOR_TF) and fq not in VARIABLE_CTORS
            if isinstance(node.func, ast.Attribute) and node.func.attr not in ("numpy", "item", "tolist", "get_shape",
                                                                               "as_list", "__len__"):
                return self.tensorish(node.func.value) and not isinstance(node.func.value, ast.Call)
            return False
        if isinstance(node, ast.Attribute):
            return False
        if isinstance(node, ast.BinOp):
            return self.tensorish(node.left) or self.tensorish(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.tensorish(node.operand)
        if isinstance(node, ast.BoolOp):
            return any(self.tensorish(v) for v in node.values)
        if isinstance(node, ast.Compare):
            if any(isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in node.ops):
                return False
            if any(isinstance(v, ast.Constant) and isinstance(v.value, (str, bytes)) for v in node.comparators):
                return False  # `labels == "inferred"`: a Python value
            return any(self.tensorish(v) for v in [node.left, *node.comparators])
        if isinstance(node, ast.Subscript):
            return self.tensorish(node.value)
        if isinstance(node, ast.IfExp):
            return self.tensorish(node.body) or self.tensorish(node.orelse)
        return False

    def layerish(self, name: str) -> bool:
        """A parameter or local that is (by name or annotation) a layer or model."""
        if LAYERISH.search(name):
            return True
        for p in self.facts.params:
            if p.name == name and p.annotation and LAYERISH_ANNOTATION.search(p.annotation):
                return True
        return False

    def container(self, recv: ast.expr) -> bool:
        """Evidence that ``recv`` is a Python list/dict/set (for mutators such as update/add/pop that other
        objects also have): a literal or constructor assigned to it, or a container annotation."""
        cls = self.info.cls
        if isinstance(recv, ast.Attribute) and isinstance(recv.value, ast.Name) and recv.value.id == self.self_name:
            return cls is not None and recv.attr in cls.container_attrs
        if isinstance(recv, ast.Name):
            for p in self.facts.params:
                if p.name == recv.id:
                    return bool((p.annotation and CONTAINER_ANNOTATION.match(p.annotation)) or
                                (p.annotation or "").startswith(("dict", "Dict", "set", "Set", "MutableMapping")))
            values = [v for _, v in self.scope.bound.get(recv.id, [])]
            if recv.id not in self.local_names and recv.id in self.mod.global_values:
                values = [self.mod.global_values[recv.id]]
            return any(isinstance(v, ast.expr) and is_container_value(v) for v in values)
        if isinstance(recv, ast.Subscript):
            return True  # d[k].add(...): an element of a container, most likely a container itself
        return False

    def array_param(self, node: ast.expr) -> bool:
        """A required parameter passed straight to NumPy (tf-keras-vis ``normalize(array)``: ``np.max(array)``):
        tf.function turns NumPy-array and tensor arguments into symbolic tensors, which NumPy cannot convert.
        Parameters that look like Python values (a default, a scalar / str / sequence annotation) or that are
        rebound in the body are left alone."""
        if not isinstance(node, ast.Name) or node.id in (self.self_name, "cls") or PY_VALUE_NAME.match(node.id):
            return False
        param = next((p for p in self.facts.params if p.name == node.id), None)
        if param is None or param.has_default or param.kind not in ("positional", "keyword-only"):
            return False
        if param.annotation and not re.search(r"ndarray|Tensor|Array|array", param.annotation):
            return False
        return node.id not in self.scope.bound  # rebound in the body: no longer the caller's value

    def enclosing_def(self, name: str) -> FuncInfo | None:
        parent = self.info.parent
        while parent is not None:
            if name in parent.local_defs:
                return parent.local_defs[name]
            parent = parent.parent
        return None

    def report(self, code: str, line: int, message: str, closure_name: str | None = None) -> None:
        if (code, line) in self.reported:
            return
        self.reported.add((code, line))
        self.facts.add(code, line, message, closure_name)

    def edge(self, callee: FuncInfo, line: int, kind: str) -> None:
        guarded = bool(self.guard_depth or self.guarded_function or once_decorated(callee))
        self.facts.edges.append(Edge(callee=callee, line=line, kind=kind, guarded=guarded))

    def creation(self, node: ast.Call, what: str, code: str) -> None:
        if self.once_decorated and not self.guard_depth:
            # the guard wraps the function from outside: `apply` puts @tf.function under it, so the graph itself
            # creates the variable on every trace (measured on sonnet's `@once.once` `Linear._initialize`: ValueError
            # "tf.function only supports singleton tf.Variables created on the first call"). Callers stay fine.
            self.report(code, node.lineno, f"{what} in the body, which its `@once`-style decorator guards from "
                                           "outside: converting this function itself creates it on every trace "
                                           "(tf.function raises ValueError); convert its caller instead")
            return
        if self.guard_depth or self.guarded_function:
            self.report("HY309", node.lineno, f"{what} on the first call only (guarded): allowed once under "
                                              "tf.function; a retrace must not create it again")
        else:
            self.report(code, node.lineno, f"{what} in the body: a new one on every trace (tf.function raises "
                                           "ValueError); create it once and reuse it")

    def shape_use(self, test: ast.expr, line: int, where: str) -> None:
        """``x.shape[0] > n`` / ``range(x.shape[0])``: breaks once the dimension is relaxed to None."""
        for node in ast.walk(test):
            if isinstance(node, ast.Subscript):
                value = node.value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                        value.func.attr in ("as_list", "get_shape"):
                    value = value.func.value
                is_shape = (isinstance(value, ast.Attribute) and value.attr == "shape") or (
                    isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                    and value.func.attr == "get_shape")
                if is_shape:
                    root = root_name(value)
                    if root is not None and root != self.self_name:
                        self.report("HY206", line, f"{where} depends on the static shape `{ast.unparse(node)}`: "
                                                   "None once the shape is relaxed (TypeError); use tf.shape()")
                        return
