"""Per-function rules: what in one function's own body would behave differently as a graph.

One pre-pass classifies the function's names (parameters, locals created inside, aliases of outside
objects, tensors), one walk emits findings and call edges. Nested functions and classes are
analysed as functions of their own; anonymous lambdas are part of the body they appear in.
Interprocedural propagation and verdicts are in ``analyze.py``.
"""

from __future__ import annotations

import ast
import builtins
import re
from ast import AST
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybridize.static.index import ClassInfo, FuncInfo, Index, ModuleInfo, dotted_name
from hybridize.static.model import Finding, Param

BUILTINS = set(dir(builtins))
AMBIGUOUS_MUTATORS = {"update", "add", "pop", "clear", "remove", "discard"}
MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add", "discard",
            "popitem", "sort", "reverse", "appendleft", "extendleft", "popleft", "__setitem__", "__delitem__"}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "vlog"}
HOST_READS = {"item", "tolist"}
# Libraries whose calls we treat as graph-compatible (or handle with specific rules) without saying so each time.
KNOWN_LIBS = {"tensorflow", "keras", "tf_keras", "numpy", "math", "functools", "itertools", "collections", "typing",
              "dataclasses", "abc", "enum", "operator", "contextlib", "copy", "types", "string", "re", "tree",
              "six", "inspect", "warnings", "logging", "absl", "os", "sys", "time", "random", "datetime", "json",
              "pickle", "shutil", "subprocess", "io", "pathlib", "socket", "requests", "urllib", "http", "sonnet",
              "typing_extensions", "numbers", "weakref", "textwrap", "builtins", "__future__", "attr", "attrs"}
IO_EXACT = {"pickle.dump", "pickle.load", "json.dump", "json.load", "marshal.dump", "marshal.load"}
IO_PREFIXES = ("os.", "shutil.", "subprocess.", "io.open", "numpy.save", "numpy.load",
               "numpy.savetxt", "numpy.loadtxt", "sys.stdout.", "sys.stderr.",
               "sys.stdin.", "imageio.", "PIL.Image.open", "matplotlib.pyplot.savefig", "matplotlib.pyplot.show",
               "matplotlib.pyplot.imsave", "cv2.imread", "cv2.imwrite", "h5py.File", "csv.writer", "csv.reader",
               "glob.glob", "tempfile.")
IO_SAFE = ("os.path.", "os.getenv", "os.environ.get", "os.sep", "os.fspath", "os.cpu_count", "os.getcwd", "os.environ")
IO_PATH_METHODS = {"write_text", "write_bytes", "read_text", "read_bytes", "mkdir", "unlink", "touch", "rmdir",
                   "rename", "write", "writelines", "readline", "readlines", "flush"}
NET_PREFIXES = ("requests.", "urllib.request.", "urllib3.", "socket.", "http.client.", "httpx.", "aiohttp.")
RANDOM_PREFIXES = ("random.", "numpy.random.")
TIME_NAMES = {"time.time", "time.perf_counter", "time.monotonic", "time.process_time", "time.sleep", "time.time_ns",
              "time.perf_counter_ns", "time.monotonic_ns", "datetime.datetime.now", "datetime.datetime.utcnow",
              "datetime.date.today", "datetime.datetime.today", "timeit.default_timer"}
HOST_READ_NAMES = {"keras.backend.get_value", "tensorflow.keras.backend.get_value", "tensorflow.keras.backend.eval",
                   "keras.backend.eval", "keras.ops.convert_to_numpy", "tf_keras.backend.get_value"}
VARIABLE_CTORS = {"tensorflow.Variable", "keras.Variable", "tensorflow.keras.Variable", "tensorflow.compat.v1.Variable",
                  "tensorflow.compat.v1.get_variable", "keras.backend.variable", "tensorflow.keras.backend.variable"}
KERAS_PREFIXES = ("tensorflow.keras.layers.", "keras.layers.", "tf_keras.layers.", "tensorflow.keras.optimizers.",
                  "keras.optimizers.", "tf_keras.optimizers.", "tensorflow.keras.models.", "keras.models.",
                  "tf_keras.models.")
KERAS_NAMES = {"tensorflow.keras.Sequential", "keras.Sequential", "tensorflow.keras.Model", "keras.Model",
               "tf_keras.Sequential", "tf_keras.Model", "tensorflow.Module", "sonnet.Module"}
NON_TENSOR_TF = {"tensorflow.executing_eagerly", "tensorflow.is_tensor", "tensorflow.TensorShape", "tensorflow.as_dtype",
                 "tensorflow.get_static_value", "tensorflow.name_scope", "tensorflow.device", "tensorflow.TensorSpec",
                 "tensorflow.get_logger", "tensorflow.config", "tensorflow.nest", "tensorflow.GradientTape",
                 "tensorflow.distribute", "tensorflow.summary", "tensorflow.debugging", "tensorflow.print",
                 "tensorflow.function", "tensorflow.keras", "tensorflow.data", "tensorflow.dtypes", "tensorflow.Module"}
TENSOR_NAMES = {"x", "inputs", "input", "tensor", "images", "image", "logits", "labels", "y_true", "y_pred",
                "features", "inputs_", "input_tensor", "seed_input", "batch_x", "batch_y", "x_batch", "y_batch"}
SPECULATIVE = re.compile(r"^(.*(train|test).*_step|call|__call__|run_model|.*inference)$")
MODEL_BASE = re.compile(r"(Model|Layer|Module)$")
# Parameter names that conventionally hold Python values (sizes, shapes, counts): NumPy on them is fine in a graph.
PY_VALUE_NAME = re.compile(r"^(shape|\w+_shape|size|\w+_size|length|\w+_len|n|num_\w+|n_\w+|\w*count|dims?|axis|axes|"
                           r"rank|depth|steps?|k|units|dtype|seed|name)$")
# Callables named like these (or annotated as Keras / tf.Module types) are assumed to be layers or models: calling
# them is graph-compatible by the library's design, so they are an assumption rather than an unresolved call.
LAYERISH = re.compile(r"(^|_)(model|layer|net|network|block|encoder|decoder|module|head|cell|backbone|mlp|"
                      r"classifier|discriminator|generator|dense|conv|rnn|lstm|gru|embedding|attention|init|initializer|initialiser|"
                      r"activation|regularizer|constraint|loss|metric|optimizer|core|linear|norm|mod)s?(_?\d+)?$",
                      re.IGNORECASE)
LAYERISH_ANNOTATION = re.compile(r"Model|Layer|Module|keras|Sequential")
RNG_CTORS = ("default_rng", "RandomState", "Random", "Generator", "SeedSequence", "PCG64", "Philox", "SFC64",
             "MT19937", "BitGenerator", "SystemRandom")
CONSTRUCTOR_NAMES = {"__init__", "__new__", "__post_init__", "__init_subclass__", "__setstate__"}
CONTAINER_ANNOTATION = re.compile(r"^(typing\.)?(Sequence|List|list|Tuple|tuple|Dict|dict|Iterable|Mapping|Set|set|"
                                  r"Collection|Iterator)\b")
NOT_TENSOR_NAME = re.compile(r"(^|_)(shape|shapes|size|sizes|dims?|axis|axes|dtype|name|rank|ndims|perm)$")
BUILD_NAME = re.compile(r"^_?build$|_build$|^build_from_config$|^_?(create|init|make)_(variables|weights|slots|state)$")
def _once_decorated(info: FuncInfo) -> bool:
    """A run-once decorator (`@once`, `@once.once`, `@functools.cache`-like names ending in "once")."""
    node = info.node
    return not isinstance(node, ast.Lambda) and any(
        (dotted_name(d.func if isinstance(d, ast.Call) else d) or "").endswith("once") for d in node.decorator_list)


GUARD_NAMES = {"__init__", "_initialize", "initialize", "_create_slots", "_create_slot"}  # + BUILD_NAME for methods


@dataclass
class Edge:
    callee: FuncInfo
    line: int
    kind: str  # "call" | "ctor"
    guarded: bool = False  # inside first-call initialisation (`@once`, `if self.w is None:`, build)


@dataclass
class FuncFacts:
    """What the rules found in one function's own body."""

    info: FuncInfo
    findings: list[Finding] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    tensor_params: list[str] = field(default_factory=list)
    primitive_params: list[str] = field(default_factory=list)
    speculative: bool = False
    locals_: set[str] = field(default_factory=set)  # names local to this function (for closure propagation)
    nested_hybrid: list[tuple[str, int]] = field(default_factory=list)  # (name, line) of nested tf.functions
    control_params: list[str] = field(default_factory=list)  # parameters whose value drives Python control flow

    def add(self, code: str, line: int, message: str, closure_name: str | None = None) -> None:
        self.findings.append(Finding(code=code, line=line, message=message, file=self.info.module.file,
                                     closure_name=closure_name))

    def assume(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)


def _root_name(node: ast.AST) -> str | None:
    """The Name at the bottom of an Attribute/Subscript/method-call chain (``self`` for ``self.a[0].b``)."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            break
    return node.id if isinstance(node, ast.Name) else None


def _root_passes_calls(node: ast.AST) -> bool:
    """True when the chain to the root goes through a call (``f().x``): the object may be new."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Call):
            return True
        node = node.value
    return False


CONTAINER_CTORS = {"list", "dict", "set", "deque", "OrderedDict", "defaultdict", "Counter", "collections.deque",
                   "collections.OrderedDict", "collections.defaultdict", "collections.Counter"}


def _is_container_value(v: ast.expr) -> bool:
    if isinstance(v, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return isinstance(v, ast.Call) and dotted_name(v.func) in CONTAINER_CTORS


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, (ast.Tuple, ast.List)):
        out: list[ast.expr] = []
        for elt in node.elts:
            out.extend(_targets(elt))
        return out
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return [node]  # type: ignore[list-item]


_FIELDS: dict[type, tuple[str, ...]] = {}


class FastVisitor(ast.NodeVisitor):
    """``ast.NodeVisitor`` with per-class cached dispatch, inlined into the child loop, and no descent into
    ``ctx`` nodes or constants (about 2-3x faster than the standard one; the analysis is mostly this walk)."""

    _table: dict[type, Callable[[Any, Any], None]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._table = {}

    @classmethod
    def _method(cls, node_cls: type) -> Callable[[Any, Any], None]:
        method = getattr(cls, "visit_" + node_cls.__name__, None) or FastVisitor.generic_visit
        cls._table[node_cls] = method
        return method

    def visit(self, node: ast.AST) -> None:
        method = self._table.get(node.__class__) or self._method(node.__class__)
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        cls = node.__class__
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _FIELDS[cls] = tuple(f for f in cls._fields if f != "ctx")
        table = self._table
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        (table.get(item.__class__) or self._method(item.__class__))(self, item)
            elif isinstance(value, AST):
                (table.get(value.__class__) or self._method(value.__class__))(self, value)

    def visit_Constant(self, node: ast.Constant) -> None:
        return


class _Scope(FastVisitor):
    """Pre-pass: names bound in the function (excluding nested defs), globals/nonlocals declared."""

    def __init__(self) -> None:
        self.bound: dict[str, list[tuple[str, ast.AST | None]]] = {}  # name -> [(how, value)]
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.yields: list[int] = []
        self.loads: set[str] = set()
        self.calls: list[ast.Call] = []
        self.lines: dict[str, list[int]] = {}  # parallel to ``bound``: the line of each binding
        self.self_attrs: list[tuple[str, ast.expr, int]] = []  # self.X = value

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(node)
        self.generic_visit(node)

    def _self_attr(self, target: ast.AST, value: ast.expr | None, line: int) -> None:
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self" \
                and value is not None:
            self.self_attrs.append((target.attr, value, line))

    def _add(self, name: str, how: str, value: ast.AST | None, line: int) -> None:
        self.bound.setdefault(name, []).append((how, value))
        self.lines.setdefault(name, []).append(line)

    def bind(self, target: ast.AST, how: str, value: ast.AST | None) -> None:
        for t in _targets(target):
            if isinstance(t, ast.Name):
                self._add(t.id, how, value, t.lineno)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._add(node.name, "def", None, node.lineno)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._add(node.name, "def", None, node.lineno)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._add(node.name, "def", None, node.lineno)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
            self._add(a.arg, "fresh", None, node.lineno)
        self.visit(node.body)

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._self_attr(t, node.value, node.lineno)
            if isinstance(t, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) \
                    and len(t.elts) == len(node.value.elts):
                for te, ve in zip(t.elts, node.value.elts, strict=True):
                    self.bind(te, "assign", ve)
            else:
                self.bind(t, "assign" if isinstance(t, ast.Name) else "unpack", node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.bind(node.target, "assign", node.value)
        self._self_attr(node.target, node.value, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._self_attr(node.target, node.value, node.lineno)
        if isinstance(node.target, ast.Name):
            self._add(node.target.id, "aug", None, node.lineno)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.bind(node.target, "assign", node.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self.bind(node.target, "iter", node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.bind(node.target, "fresh", None)
        self.generic_visit(node)

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self.bind(node.optional_vars, "with", node.context_expr)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._add(node.name, "fresh", None, node.lineno)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._add((a.asname or a.name).split(".")[0], "import", None, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            self._add(a.asname or a.name, "import", None, node.lineno)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.nonlocals.update(node.names)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.yields.append(node.lineno)
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.yields.append(node.lineno)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)


def _param_list(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[Param]:
    a = node.args
    out: list[Param] = []
    positional = a.posonlyargs + a.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, default in zip(positional, defaults, strict=True):
        out.append(_param(arg, "positional", default))
    if a.vararg:
        out.append(_param(a.vararg, "var-positional", None))
    for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(_param(arg, "keyword-only", kw_default))
    if a.kwarg:
        out.append(_param(a.kwarg, "var-keyword", None))
    return out


def _param(arg: ast.arg, kind: str, default: ast.expr | None) -> Param:
    value = None
    if isinstance(default, ast.Constant) and isinstance(default.value, (int, float, str, bool)):
        value = default.value
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else None
    return Param(name=arg.arg, kind=kind, has_default=default is not None, default=value, annotation=ann)


class FunctionRules(FastVisitor):
    """The walk over one function body that emits findings and call edges."""

    def __init__(self, index: Index, info: FuncInfo) -> None:
        self.index = index
        self.info = info
        self.mod: ModuleInfo = info.module
        self.facts = FuncFacts(info=info)
        self.loops: list[tuple[ast.AST, bool]] = []  # (loop node, is a tensor loop)
        self.if_tests: list[ast.expr] = []
        self.called_texts: list[tuple[int, str]] = []  # (line, unparsed callee) for trainable_variables checks
        self.guard_depth = 0
        self.in_try = 0
        self.reported: set[tuple[str, int]] = set()

    # ----- set-up --------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Pre-pass (run for every function before any ``run``): names, and ``self.X = ...`` for the class."""
        node = self.info.node
        facts = self.facts
        facts.params = _param_list(node)
        self.param_names = {p.name for p in facts.params}
        self.self_name = None
        if self.info.cls is not None and facts.params and not self._is_static():
            self.self_name = facts.params[0].name
        scope = _Scope()
        body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        for stmt in body:
            scope.visit(stmt)
        self.scope = scope
        self.body = body
        cls = self.info.cls
        if cls is not None and self.self_name == "self":
            for attr, value, _line in scope.self_attrs:
                cls.attrs.add(attr)
                if _is_container_value(value):
                    cls.container_attrs.add(attr)
                if isinstance(value, ast.Call):
                    first = value.args[0] if value.args else None
                    if (isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name)
                            and first.value.id == "self" and first.attr in cls.methods):
                        cls.methods[first.attr].wrapped_by.append((value.lineno, value))
                    text = dotted_name(value.func)
                    if text:
                        cls.attr_types.setdefault(attr, self.mod.resolve_dotted(text))

    def run(self) -> FuncFacts:
        facts = self.facts
        body = self.body
        scope = self.scope
        self.local_names = (set(scope.bound) - scope.globals - scope.nonlocals) | self.param_names
        facts.locals_ = set(self.local_names)
        self._classify_names()
        self._tensor_evidence()
        self.once_decorated = _once_decorated(self.info)
        self.guarded_function = self.info.name in GUARD_NAMES or (
            self.info.cls is not None and BUILD_NAME.search(self.info.name) is not None) or self.once_decorated
        if self.info.cls is not None and self.info.name in SETUP_METHODS:
            facts.add("HY310", self.info.line, f"`{self.info.name}` sets up the object: as a tf.function it would run "
                                               "once per input signature, so later objects stay half-built")
        if self.info.cls is not None and self.info.name == "call" and any(
                b.startswith(KERAS_PREFIXES) or (b in KERAS_NAMES and b not in PLAIN_MODULES)
                for b in self.index.all_bases(self.info.cls)):
            facts.add("HY311", self.info.line, f"`{self.info.qualname}` is the `call` of a Keras layer/model: "
                                               "convert the function that calls the model instead")
        for line in scope.yields[:1]:
            facts.add("HY301", line, "generator: `yield` makes this a generator, which AutoGraph refuses")
        for stmt in body:
            self.visit(stmt)
        for p in facts.params:
            if p.kind in ("var-positional", "var-keyword"):
                facts.assume(f"{'*' if p.kind == 'var-positional' else '**'}{p.name}: the kinds of forwarded "
                             "arguments are unknown (treated as possibly tensors)")
        return facts

    def _is_static(self) -> bool:
        node = self.info.node
        if isinstance(node, ast.Lambda):
            return False
        return any(dotted_name(d) in ("staticmethod",) for d in node.decorator_list)

    def _classify_names(self) -> None:
        """outside = parameters, free names, and locals that alias them; fresh = created inside."""
        outside = {p.name for p in self.facts.params if p.kind not in ("var-positional", "var-keyword")}
        bound = self.scope.bound
        outside |= {n for n in self.scope.loads if n not in self.local_names and n not in BUILTINS}
        outside |= self.scope.globals | self.scope.nonlocals
        for _ in range(3):
            changed = False
            for name, bindings in bound.items():
                if name in outside or name in self.param_names:
                    continue
                for how, value in bindings:
                    if how in ("iter", "unpack", "with") and value is not None:
                        root = _root_name(value)
                        if root in outside and not (how == "iter" and isinstance(value, ast.Call)
                                                    and not isinstance(value.func, ast.Attribute)):
                            outside.add(name)
                            changed = True
                            break
                    elif how == "assign" and isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
                        root = _root_name(value)
                        if root in outside and not _root_passes_calls(value):
                            outside.add(name)
                            changed = True
                            break
            if not changed:
                break
        self.outside = outside
        # Per binding (line, aliases outside?), for a flow-sensitive-enough answer at a given line.
        flags: dict[str, list[tuple[int, bool]]] = {}
        for name, bindings in bound.items():
            marks = []
            for (how, value), line in zip(bindings, self.scope.lines[name], strict=True):
                if how in ("iter", "unpack", "with") and value is not None:
                    root = _root_name(value)
                    alias = root in outside and not (how == "iter" and isinstance(value, ast.Call)
                                                     and not isinstance(value.func, ast.Attribute))
                elif how == "assign" and isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
                    alias = _root_name(value) in outside and not _root_passes_calls(value)
                elif how == "aug":
                    continue  # `x += ...` keeps what x was
                else:
                    alias = False
                marks.append((line, alias))
            flags[name] = marks
        self.binding_flags = flags

    def _outside_at(self, name: str, line: int) -> bool:
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

    def _tensor_evidence(self) -> None:
        facts = self.facts
        info = self.info
        skip = {self.self_name} if self.self_name else set()
        candidates = [p for p in facts.params if p.name not in skip]
        primitive = []
        for p in candidates:
            ann = p.annotation or ""
            if (p.has_default and p.default is not None) or ann in ("int", "float", "bool", "str"):
                primitive.append(p.name)
        facts.primitive_params = primitive
        tensors: set[str] = set()
        strong: set[str] = set()  # annotation or conventional name: enough for the len() rule
        for p in candidates:
            ann = p.annotation or ""
            if ("Tensor" in ann or "tf.Variable" in ann) and not CONTAINER_ANNOTATION.match(ann):
                tensors.add(p.name)
                strong.add(p.name)
        speculative = False
        if SPECULATIVE.match(info.name) and info.name not in ("__init__",):
            if info.name in ("call", "__call__"):
                bases = self.index.all_bases(info.cls) if info.cls else []
                speculative = any(MODEL_BASE.search(b) for b in bases)
            else:
                speculative = True
        if speculative:
            for p in candidates:
                if p.kind in ("positional", "keyword-only") and p.name not in primitive and not p.has_default \
                        and not self._layerish(p.name) and not NOT_TENSOR_NAME.search(p.name) \
                        and not CONTAINER_ANNOTATION.match(p.annotation or ""):
                    tensors.add(p.name)
            facts.speculative = True
        # Usage: a parameter passed straight to a TensorFlow op, or named like a tensor.
        names = {p.name for p in candidates if p.kind in ("positional", "keyword-only")}
        for node in self.scope.calls:
            if not any(isinstance(a, ast.Name) and a.id in names for a in node.args) and not any(
                    isinstance(k.value, ast.Name) and k.value.id in names for k in node.keywords):
                continue
            fq = self._resolve_func(node.func)
            if fq and (fq.startswith("tensorflow.") or fq.startswith("keras.ops.")) and not any(
                    fq.startswith(n) for n in NON_TENSOR_TF):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if isinstance(arg, ast.Name) and arg.id in names and not NOT_TENSOR_NAME.search(arg.id):
                        tensors.add(arg.id)
        for p in candidates:
            if p.name in TENSOR_NAMES and p.name not in primitive and not CONTAINER_ANNOTATION.match(p.annotation or ""):
                tensors.add(p.name)
                strong.add(p.name)
        self.tensors = set(tensors)
        self.strong_tensors = strong
        facts.tensor_params = [p.name for p in candidates if p.name in tensors]
        # Locals assigned from tensor expressions.
        for _ in range(2):
            for name, bindings in self.scope.bound.items():
                if name in self.tensors or name in self.param_names:
                    continue
                if bindings and all(how in ("assign", "aug") and (value is None or self.tensorish(value))  # type: ignore[arg-type]
                                    for how, value in bindings) and any(how == "assign" for how, _ in bindings):
                    self.tensors.add(name)
                    self.strong_tensors.add(name)

    # ----- helpers -------------------------------------------------------------------------------------------
    def _resolve_func(self, func: ast.expr) -> str | None:
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
            fq = self._resolve_func(node.func)
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

    def _outside_root(self, node: ast.expr) -> str | None:
        """The outside name a write target hangs off (None when it is local or created inside)."""
        if _root_passes_calls(node):
            return None
        root = _root_name(node)
        if root is None:
            return None
        if root == self.self_name or self._outside_at(root, getattr(node, "lineno", 0)):
            return root
        return None

    def _report(self, code: str, line: int, message: str, closure_name: str | None = None) -> None:
        if (code, line) in self.reported:
            return
        self.reported.add((code, line))
        self.facts.add(code, line, message, closure_name)

    def _closure(self, root: str | None) -> str | None:
        """The name when it is a variable of an enclosing function (so that function may own it); ``self``
        for writes on this method's own instance (dropped when reached from a constructor call)."""
        if root is not None and root == self.self_name:
            return "self"
        if root is None or self.info.parent is None or root in self.param_names:
            return None
        return root if root not in self.scope.globals else None

    # ----- statements ----------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        from hybridize.static.decorators import tf_function_call

        for dec in node.decorator_list:
            if tf_function_call(dec, self.mod)[0]:
                self.facts.nested_hybrid.append((node.name, node.lineno))

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        return

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)  # anonymous lambdas run as part of this body (tf.map_fn(lambda ...))

    def visit_Global(self, node: ast.Global) -> None:
        return

    def _write_target(self, target: ast.expr, line: int) -> None:
        for t in _targets(target):
            if isinstance(t, ast.Name):
                if t.id in self.scope.globals:
                    self._report("HY103", line, f"global write: `{t.id}` is module state; the write happens once "
                                                f"per trace, not per call")
                elif t.id in self.scope.nonlocals:
                    self._report("HY103", line, f"nonlocal write: `{t.id}` belongs to the enclosing function; the "
                                                f"write happens once per trace", closure_name=t.id)
            elif isinstance(t, ast.Attribute):
                root = self._outside_root(t.value)
                if root is not None and root == self.self_name and (
                        self.info.name in CONSTRUCTOR_NAMES or self.guarded_function or self.guard_depth):
                    continue  # a constructor, or first-call initialisation (`@once`, `if self.w is None:`)
                if root is not None and self._memo(t):
                    continue  # `if not f.checked: ... f.checked = True`: a run-once memo behaves the same
                if root is not None:
                    what = "self" if root == self.self_name else f"`{root}`"
                    self._report("HY104", line, f"attribute write `{ast.unparse(t)}` on {what} (not created here): "
                                                "set once per trace, later calls never update it",
                                 closure_name=self._closure(root))
            elif isinstance(t, ast.Subscript):
                root = self._outside_root(t.value)
                if root is not None:
                    self._report("HY105", line, f"item assignment `{ast.unparse(t)}` mutates `{root}` (not created "
                                                "here): happens once per trace", closure_name=self._closure(root))

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._write_target(t, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._write_target(node.target, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._write_target(node.target, node.lineno)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            if isinstance(t, (ast.Subscript, ast.Attribute)):
                self._write_target(t, node.lineno)
        self.generic_visit(node)

    def _loop_is_tensor(self, node: ast.For | ast.AsyncFor | ast.While) -> bool:
        if isinstance(node, ast.While):
            return self.tensorish(node.test)
        it = node.iter
        if isinstance(it, ast.Call):
            fq = self._resolve_func(it.func)
            if fq == "tensorflow.range":
                return True
        return self.tensorish(it)

    def visit_For(self, node: ast.For) -> None:
        it = node.iter
        fq = self._resolve_func(it.func) if isinstance(it, ast.Call) else None
        if isinstance(it, ast.Name) and it.id in self.tensors:
            self._report("HY205", node.lineno, f"Python `for` over tensor `{it.id}`: iterates the first dimension "
                                               "(unrolled or a tf.while_loop); fails if that dimension is unknown")
        if fq in ("range", "builtins.range") or (fq is None and isinstance(it, ast.Call)):
            self._shape_use(it, node.lineno, "loop bound")
        if fq in ("range", "builtins.range") and isinstance(it, ast.Call):
            for arg in it.args:
                self._control(arg)
        self.visit(node.iter)
        self.loops.append((node, self._loop_is_tensor(node)))
        for stmt in node.body:
            self.visit(stmt)
        self.loops.pop()
        for stmt in node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_While(self, node: ast.While) -> None:
        self._control(node.test)
        self._shape_use(node.test, node.lineno, "`while` condition")
        self.visit(node.test)
        self.loops.append((node, self._loop_is_tensor(node)))
        for stmt in node.body:
            self.visit(stmt)
        self.loops.pop()
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_Return(self, node: ast.Return) -> None:
        if any(is_tensor for _, is_tensor in self.loops):
            self._report("HY303", node.lineno, "`return` inside a tensor loop (tf.range / a tensor condition): "
                                               "AutoGraph raises NotImplementedError")
        self.generic_visit(node)

    def _memo(self, target: ast.Attribute) -> bool:
        """Is this attribute write guarded by a test of the same attribute (a run-once memo)?"""
        text = dotted_name(target)
        if text is None:
            return False
        return any(dotted_name(n) == text for test in self.if_tests for n in ast.walk(test)
                   if isinstance(n, ast.Attribute))

    def _is_guard(self, test: ast.expr) -> bool:
        text = ast.unparse(test)
        return ("None" in text or "hasattr" in text or "built" in text or "initialized" in text
                or "initialised" in text or "_created" in text)

    def _control(self, test: ast.AST) -> None:
        """Record parameters whose *value* decides a branch / loop bound (``if training:``, ``range(n)``); not
        ``x is None``, ``isinstance(x, ...)``, ``len(x)``, ``x.shape`` (those are trace-time facts)."""
        if isinstance(test, ast.Name):
            if test.id in self.param_names and test.id != self.self_name and test.id not in self.facts.control_params:
                self.facts.control_params.append(test.id)
            return
        if isinstance(test, ast.Attribute):
            return
        if isinstance(test, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in test.ops):
            return
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id in (
                "isinstance", "hasattr", "callable", "len", "type", "getattr"):
            return
        for child in ast.iter_child_nodes(test):
            self._control(child)

    def visit_If(self, node: ast.If) -> None:
        self._control(node.test)
        self._shape_use(node.test, node.lineno, "`if` condition")
        self.visit(node.test)
        guard = self._is_guard(node.test)
        self.if_tests.append(node.test)
        self.guard_depth += guard
        # `if isinstance(x, (list, tuple)):` -> x is a Python container in the body, not a tensor.
        containers = {t.args[0].id for t in ast.walk(node.test) if isinstance(t, ast.Call) and isinstance(t.func, ast.Name)
                      and t.func.id == "isinstance" and len(t.args) == 2 and isinstance(t.args[0], ast.Name)
                      and not isinstance(node.test, ast.UnaryOp)}
        saved = (self.tensors, self.strong_tensors)
        if containers:
            self.tensors, self.strong_tensors = self.tensors - containers, self.strong_tensors - containers
        for stmt in node.body:
            self.visit(stmt)
        self.tensors, self.strong_tensors = saved
        self.if_tests.pop()
        for stmt in node.orelse:
            self.visit(stmt)
        self.guard_depth -= guard

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._control(node.test)
        self._shape_use(node.test, node.lineno, "conditional expression")
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        if self.tensorish(node.test):
            self._report("HY204", node.lineno, f"`assert {ast.unparse(node.test)[:60]}` on a tensor: a graph tensor "
                                               "has no truth value (use tf.debugging.assert_*)")
        else:
            self._shape_use(node.test, node.lineno, "assert")
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        for test in self.if_tests:
            if self.tensorish(test):
                self._report("HY305", node.lineno, f"`raise` under the tensor condition `{ast.unparse(test)[:60]}`: "
                                                   "AutoGraph leaves that `if` to Python, so every trace fails")
                break
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        if node.handlers:
            for stmt in node.body:
                hit = next((n for n in ast.walk(stmt) if isinstance(n, ast.Call) and self.tensorish(n)), None)
                if hit is not None:
                    self._report("HY304", node.lineno, "`try/except` around tensor work: ops fail at run time, "
                                                       "outside the try, so the handler never runs")
                    break
        self.generic_visit(node)

    visit_TryStar = visit_Try  # type: ignore[assignment]

    def _shape_use(self, test: ast.expr, line: int, where: str) -> None:
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
                    root = _root_name(value)
                    if root is not None and root != self.self_name:
                        self._report("HY206", line, f"{where} depends on the static shape `{ast.unparse(node)}`: "
                                                    "None once the shape is relaxed (TypeError); use tf.shape()")
                        return

    # ----- expressions ---------------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("trainable_variables", "trainable_weights") and isinstance(node.ctx, ast.Load) \
                and dotted_name(node.value) is not None \
                and not self.guarded_function:
            recv = dotted_name(node.value) or ast.unparse(node.value)
            called = any(text in (recv, f"{recv}.__call__", f"{recv}.call") and line <= node.lineno
                         for line, text in self.called_texts)
            if not called:
                self._report("HY308", node.lineno, f"`{recv}.{node.attr}` is read before `{recv}` is called in this "
                                                   "function: a lazily built model has no variables at trace time")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        # Arguments first: nested calls happen before this one (matters for "called before" checks).
        for arg in node.args:
            self.visit(arg)
        for kw in node.keywords:
            self.visit(kw.value)
        if isinstance(node.func, ast.Attribute):
            self.visit(node.func.value)
        elif not isinstance(node.func, ast.Name):
            self.visit(node.func)
        text = dotted_name(node.func)
        if text is not None:
            self.called_texts.append((node.lineno, text))
        self._call(node)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        line = node.lineno
        facts = self.facts
        fq = self._resolve_func(func)
        short = ast.unparse(func)[:60]
        # Forwarding *args / **kwargs.
        forwards = any(isinstance(a, ast.Starred) and isinstance(a.value, ast.Name) and a.value.id in self.param_names
                       for a in node.args) or any(k.arg is None and isinstance(k.value, ast.Name)
                                                  and k.value.id in self.param_names for k in node.keywords)
        if isinstance(func, ast.Name):
            name = func.id
            if name in self.local_names and name not in self.info.local_defs:
                if self._layerish(name):
                    facts.assume(f"`{name}(...)` assumed a Keras layer / model / tf.Module (graph-compatible)")
                elif name in self.param_names:
                    self._report("HY501", line, f"call of parameter `{name}(...)`: the callee is chosen by the caller")
                    facts.assume(f"`{name}(...)` (a parameter) assumed free of Python side effects")
                elif self._aliased_call(name, node, forwards):
                    pass
                elif not any(how == "import" for how, _ in self.scope.bound.get(name, [])):
                    self._report("HY501", line, f"call of local variable `{name}(...)`: the callee is not known statically")
                    facts.assume(f"`{name}(...)` (a local callable) assumed free of Python side effects")
                return
            if name in self.info.local_defs:
                self._edge(self.info.local_defs[name], line, "call")
                return
            target_parent = self._enclosing_def(name)
            if target_parent is not None:
                self._edge(target_parent, line, "call")
                return
            if name in BUILTINS and name not in self.mod.imports and name not in self.mod.functions \
                    and name not in self.mod.classes and name not in self.mod.global_values:
                self._builtin(name, node)
                return
        if fq is None and isinstance(func, ast.Name) and func.id in self.mod.global_values:
            self._global_object_call(func.id, node)
            return
        if fq is None:
            self._dynamic_call(node, forwards)
            return
        # Project code?
        target = self.index.lookup(fq)
        if isinstance(target, FuncInfo):
            self._edge(target, line, "call")
            return
        if isinstance(target, ClassInfo):
            self._construct(target, node)
            return
        if fq.startswith(f"{self.mod.name}.") and fq[len(self.mod.name) + 1:] in self.mod.global_values:
            facts.assume(f"`{short}` is a module-level value, assumed a graph-compatible callable")
            return
        self._external(fq, node, forwards)

    def _aliased_call(self, name: str, node: ast.Call, forwards: bool) -> bool:
        """``f = tf.config.list_physical_devices`` (in every branch) then ``f(...)``: check each aliased function as
        if it were called by name. False (HY501 stays) when any binding is not a plain reference to a resolvable
        module-level function or library name (a call result, a parameter, a loop variable, a lambda...)."""
        bindings = self.scope.bound.get(name, [])
        targets: list[str] = []
        for how, value in bindings:
            text = dotted_name(value) if how == "assign" and isinstance(value, (ast.Name, ast.Attribute)) else None
            if text is None or text.partition(".")[0] == name:
                return False
            fq = self._resolve_func(value) if isinstance(value, ast.expr) else None
            if fq is None:
                return False
            target = self.index.lookup(fq)
            if isinstance(target, ClassInfo) or (target is None and fq.partition(".")[0] not in KNOWN_LIBS):
                return False  # a class alias builds objects; an unknown library is not assumed harmless here
            targets.append(fq)
        if not targets:
            return False
        for fq in dict.fromkeys(targets):
            target = self.index.lookup(fq)
            if isinstance(target, FuncInfo):
                self._edge(target, node.lineno, "call")
            else:
                self._external(fq, node, forwards)
        return True

    def _global_object_call(self, name: str, node: ast.Call) -> None:
        """``net(x)`` where ``net = Something(...)`` at module level."""
        value = self.mod.global_values[name]
        ctor = dotted_name(value.func) if isinstance(value, ast.Call) else None
        fq = self.mod.resolve_dotted(ctor) if ctor else None
        if fq is not None:
            if isinstance(self.index.lookup(fq), ClassInfo):
                self._typed_call(fq, node, name)
                return
            top = fq.partition(".")[0]
            if top in KNOWN_LIBS or LAYERISH.search(name):
                self.facts.assume(f"`{name}(...)` is a module-level `{fq}(...)` object, assumed graph-compatible")
                return
        self._report("HY501", node.lineno, f"call of module-level object `{name}(...)`: its code is not known statically")
        self.facts.assume(f"`{name}(...)` (a module-level object) assumed free of Python side effects")

    def _container(self, recv: ast.expr) -> bool:
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
            return any(isinstance(v, ast.expr) and _is_container_value(v) for v in values)
        if isinstance(recv, ast.Subscript):
            return True  # d[k].add(...): an element of a container, most likely a container itself
        return False

    def _array_param(self, node: ast.expr) -> bool:
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

    def _layerish(self, name: str) -> bool:
        """A parameter or local that is (by name or annotation) a layer or model."""
        if LAYERISH.search(name):
            return True
        for p in self.facts.params:
            if p.name == name and p.annotation and LAYERISH_ANNOTATION.search(p.annotation):
                return True
        return False

    def _enclosing_def(self, name: str) -> FuncInfo | None:
        parent = self.info.parent
        while parent is not None:
            if name in parent.local_defs:
                return parent.local_defs[name]
            parent = parent.parent
        return None

    def _edge(self, callee: FuncInfo, line: int, kind: str) -> None:
        guarded = bool(self.guard_depth or self.guarded_function or _once_decorated(callee))
        self.facts.edges.append(Edge(callee=callee, line=line, kind=kind, guarded=guarded))

    def _construct(self, cls: ClassInfo, node: ast.Call) -> None:
        bases = self.index.all_bases(cls)
        keras = any(b.startswith(KERAS_PREFIXES) or (b in KERAS_NAMES and b not in PLAIN_MODULES) for b in bases)
        module = any(b in KERAS_NAMES or MODEL_BASE.search(b) for b in bases)
        if keras or (module and creates_variables(self.index, cls)):
            self._creation(node, f"`{cls.qualname}(...)` creates a layer/module (a {bases[0]} subclass)", "HY307")
        init = self.index.find_method(cls, "__init__")
        if init is not None:
            self._edge(init, node.lineno, "ctor")
        call = self.index.find_method(cls, "__call__")
        del call  # constructing does not call it

    def _creation(self, node: ast.Call, what: str, code: str) -> None:
        if self.once_decorated and not self.guard_depth:
            # the guard wraps the function from outside: `apply` puts @tf.function under it, so the graph itself
            # creates the variable on every trace (measured on sonnet's `@once.once` `Linear._initialize`: ValueError
            # "tf.function only supports singleton tf.Variables created on the first call"). Callers stay fine.
            self._report(code, node.lineno, f"{what} in the body, which its `@once`-style decorator guards from "
                                            "outside: converting this function itself creates it on every trace "
                                            "(tf.function raises ValueError); convert its caller instead")
            return
        if self.guard_depth or self.guarded_function:
            self._report("HY309", node.lineno, f"{what} on the first call only (guarded): allowed once under "
                                               "tf.function; a retrace must not create it again")
        else:
            self._report(code, node.lineno, f"{what} in the body: a new one on every trace (tf.function raises "
                                            "ValueError); create it once and reuse it")

    def _builtin(self, name: str, node: ast.Call) -> None:
        line = node.lineno
        args = node.args
        if name == "print":
            self._report("HY101", line, "print runs only while tracing (and shows symbolic tensors): use tf.print")
        elif name in ("open", "input", "exec", "eval", "breakpoint"):
            self._report("HY106", line, f"`{name}(...)` (I/O / interpreter) runs only while tracing")
        elif name == "next":
            it = args[0] if args else None
            if it is not None and self._outside_root(it) is not None and not self._is_dataset_iterator(it):
                self._report("HY110", line, f"`next({ast.unparse(it)[:40]})`: a Python iterator gives the same element "
                                            "on every call of the graph (tf.data iterators are fine)")
        elif name in ("float", "int", "bool", "complex") and args and self.tensorish(args[0]):
            self._report("HY203", line, f"`{name}({ast.unparse(args[0])[:40]})` needs a concrete tensor value")
        elif name == "setattr" and args:
            root = self._outside_root(args[0])
            if root is not None:
                self._report("HY104", line, f"`setattr({ast.unparse(args[0])}, ...)` writes an attribute of an object "
                                            "not created here", closure_name=self._closure(root))
        elif name in ("getattr", "hasattr", "delattr") and len(args) >= 2 and not isinstance(args[1], ast.Constant):
            self._report("HY502", line, f"`{name}(..., {ast.unparse(args[1])[:30]})`: the attribute is chosen at run time")
            self.facts.assume(f"`{name}` with a dynamic name at line {line} assumed to reach graph-compatible code")
        elif name == "len" and args and isinstance(args[0], ast.Name) and args[0].id in self.strong_tensors:
            self._shape_use(ast.Subscript(value=ast.Attribute(value=args[0], attr="shape"), slice=ast.Constant(0)),
                            line, "`len()` of a tensor")

    def _is_dataset_iterator(self, it: ast.expr) -> bool:
        """``next(it)`` where ``it = iter(ds)`` of a tf.data pipeline (or named like one)."""
        if self._mentions_tf_data(it):
            return True
        if isinstance(it, ast.Call):  # next(iter(x))
            inner = it.args[0] if it.args else None
            return inner is not None and self._mentions_tf_data(inner)
        if isinstance(it, ast.Name):
            for _how, value in self.scope.bound.get(it.id, []):
                if value is not None and isinstance(value, ast.expr) and self._mentions_tf_data(value):
                    return True
        return False

    def _mentions_tf_data(self, node: ast.expr, depth: int = 0) -> bool:
        """Does the expression (or a local it is built from) come from a tf.data pipeline?"""
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Attribute, ast.Name)):
                text = dotted_name(sub) or ""
                low = text.lower()
                if self.mod.resolve_dotted(text).startswith("tensorflow.data") or "dataset" in low \
                        or low in ("ds", "data") or low.endswith("_ds"):
                    return True
            if isinstance(sub, ast.Name) and sub.id in self.scope.bound and depth < 3:
                for _, value in self.scope.bound[sub.id]:
                    if isinstance(value, ast.expr) and value is not node and self._mentions_tf_data(value, depth + 1):
                        return True
        return False

    def _dynamic_call(self, node: ast.Call, forwards: bool) -> None:
        """Callee is not a plain dotted name, or is rooted in a local/parameter: methods, sub-layers, closures."""
        func = node.func
        line = node.lineno
        facts = self.facts
        if not isinstance(func, ast.Attribute):
            if isinstance(func, ast.Call):
                inner = self._resolve_func(func.func) or ""
                if inner.partition(".")[0] in ("tensorflow", "keras", "tf_keras", "sonnet") or inner == "getattr":
                    return  # a library-made callable: `keras.layers.Dense(3)(x)`, `tf.function(g)(x)`
            self._report("HY501", line, f"call of `{ast.unparse(func)[:50]}`: the callee is computed at run time")
            facts.assume(f"`{ast.unparse(func)[:50]}(...)` at line {line} assumed free of Python side effects")
            return
        method = func.attr
        recv = func.value
        root = _root_name(recv)
        # Eager-only reads.
        if method == "numpy" and not node.args:
            self._report("HY201", line, f"`{ast.unparse(func)}()` reads a concrete value: symbolic tensors have none "
                                        "(AttributeError while tracing)")
            return
        if method in HOST_READS and self.tensorish(recv):
            self._report("HY201", line, f"`{ast.unparse(func)}()` reads a concrete tensor value")
            return
        # self.attr.method(...) on an attribute of a known project class: follow it.
        cls = self.info.cls
        if isinstance(recv, ast.Attribute) and isinstance(recv.value, ast.Name) and recv.value.id == self.self_name \
                and cls is not None and recv.attr in cls.attr_types:
            typed = self.index.lookup(cls.attr_types[recv.attr])
            if isinstance(typed, ClassInfo):
                found = self.index.find_method(typed, method)
                if found is not None:
                    self._edge(found, line, "call")
                    return
            if cls.attr_types[recv.attr].split(".")[-1] not in ("list", "dict", "set", "deque", "OrderedDict",
                                                                "defaultdict", "Counter"):
                method_is_mutator = False
            else:
                method_is_mutator = method in MUTATORS
        else:
            method_is_mutator = method in MUTATORS
        if method_is_mutator and method in AMBIGUOUS_MUTATORS and not self._container(recv):
            method_is_mutator = False  # `ema.update(x)`, `metric.add(...)`: a method of some object, not dict.update
        if isinstance(recv, ast.Name) and recv.id == self.self_name and cls is not None:
            target_m = self.index.find_method(cls, method)
            if target_m is not None:
                self._edge(target_m, line, "call")
                return
        # Mutation of an outside container.
        if method_is_mutator:
            owner = self._outside_root(recv)
            first_call = owner == self.self_name and (self.guarded_function or self.guard_depth)
            if owner is not None and not first_call and not (root is not None and root in self.tensors):
                self._report("HY105", line, f"`{ast.unparse(func)[:50]}(...)` mutates `{ast.unparse(recv)[:40]}`, "
                                            "which was not created here: happens once per trace",
                             closure_name=self._closure(owner))
            return
        if method in IO_PATH_METHODS and method not in ("write", "flush") and root not in self.tensors:
            self._report("HY106", line, f"`.{method}()` does file I/O, which runs only while tracing")
            return
        if method in LOG_METHODS and root is not None and "log" in ast.unparse(recv).lower():
            self._report("HY102", line, f"`{ast.unparse(func)[:50]}(...)` logs only while tracing")
            return
        if method in ("add_weight", "add_variable") and root == self.self_name:
            self._creation(node, f"`{ast.unparse(func)}(...)` creates a variable", "HY306")
            return
        if method in MUTATORS and not method_is_mutator:
            return
        # Methods on self: resolve through the project's classes.
        if root == self.self_name and cls is not None and isinstance(recv, ast.Name):
            target = self.index.find_method(cls, method)
            if target is not None:
                self._edge(target, line, "call")
                return
            if method in cls.attr_types:
                self._typed_call(cls.attr_types[method], node, f"self.{method}")
                return
            bases = self.index.all_bases(cls)
            external = [b for b in bases if self.index.lookup(b) is None]
            if self.index.has_attr(cls, method) and self._layerish(method):
                facts.assume(f"`self.{method}(...)` assumed a Keras layer / model / tf.Module (graph-compatible)")
            elif self.index.has_attr(cls, method):
                self._report("HY501", line, f"`self.{method}(...)` calls an attribute set at run time (a sub-layer or "
                                            "callback?): its code is not known statically")
                facts.assume(f"`self.{method}(...)` (an attribute) assumed a graph-compatible callable")
            elif external:
                facts.assume(f"`self.{method}(...)` assumed inherited from {external[0]} (library code)")
            else:
                self._report("HY501", line, f"`self.{method}(...)`: no method or typed attribute `{method}` found "
                                            "(set dynamically?)")
                facts.assume(f"`self.{method}(...)` assumed free of Python side effects")
            return
        # super().method(...)
        if isinstance(recv, ast.Call) and isinstance(recv.func, ast.Name) and recv.func.id == "super" and cls:
            for base in cls.bases:
                target_cls = self.index.lookup(base)
                if isinstance(target_cls, ClassInfo):
                    target = self.index.find_method(target_cls, method)
                    if target is not None:
                        self._edge(target, line, "call")
                        return
            return  # library base method
        # self.attr.method(...) / self.attr(...) handled by type, when known.
        if isinstance(recv, ast.Attribute) and isinstance(recv.value, ast.Name) and recv.value.id == self.self_name \
                and cls is not None and recv.attr in cls.attr_types:
            ctor = cls.attr_types[recv.attr]
            ctor_cls = self.index.lookup(ctor)
            if isinstance(ctor_cls, ClassInfo):
                found = self.index.find_method(ctor_cls, method)
                if found is not None:
                    self._edge(found, line, "call")
                    return
            if ctor.startswith("numpy.random.") or ctor.startswith("random."):
                self._report("HY108", line, f"`{ast.unparse(func)}(...)` draws Python/NumPy random numbers: frozen "
                                            "into the graph as constants (use tf.random)")
            return
        # A local created from a project class: obj = Foo(); obj.m()
        if isinstance(recv, ast.Name) and recv.id in self.local_names:
            for how, value in self.scope.bound.get(recv.id, []):
                if how == "assign" and isinstance(value, ast.Call):
                    ctor_fq = self._resolve_func(value.func)
                    local_cls = self.index.lookup(ctor_fq) if ctor_fq else None
                    if isinstance(local_cls, ClassInfo):
                        found = self.index.find_method(local_cls, method)
                        if found is not None:
                            self._edge(found, line, "call")
                            return
                    if ctor_fq and (ctor_fq.startswith("numpy.random.") or ctor_fq.startswith("random.")):
                        self._report("HY108", line, f"`{ast.unparse(func)}(...)` draws NumPy/Python random numbers: "
                                                    "frozen into the graph (use tf.random)")
                        return
        # Anything else: a method of a tensor, a layer, a library object: assumed graph-compatible.
        if forwards:
            self._report("HY503", line, f"`{ast.unparse(func)[:50]}(...)` receives forwarded *args/**kwargs")

    def _typed_call(self, ctor: str, node: ast.Call, what: str) -> None:
        target = self.index.lookup(ctor)
        if isinstance(target, ClassInfo):
            call = self.index.find_method(target, "__call__") or self.index.find_method(target, "call")
            if call is not None:
                self._edge(call, node.lineno, "call")
            else:
                self.facts.assume(f"`{what}(...)` is a {target.qualname}; its __call__ is inherited from library code")
        # External layer (keras.layers.Dense, snt.Linear...) -> graph-compatible by assumption of the library.

    def _external(self, fq: str, node: ast.Call, forwards: bool) -> None:
        line = node.lineno
        top = fq.partition(".")[0]
        if fq in TIME_NAMES:
            self._report("HY109", line, f"`{fq}()` reads the clock once while tracing; the graph keeps that constant")
        elif fq.startswith(RANDOM_PREFIXES) and not fq.endswith(RNG_CTORS):
            self._report("HY108", line, f"`{fq}()` is a Python/NumPy random number: frozen into the graph as a "
                                        "constant (use tf.random)")
        elif fq.startswith(("logging.", "absl.logging.")) or fq == "warnings.warn" or (
                fq.startswith("tensorflow.") and fq.endswith(tuple(f".logging.{m}" for m in LOG_METHODS))):
            self._report("HY102", line, f"`{fq}(...)` logs only while tracing")
        elif fq.startswith(NET_PREFIXES):
            self._report("HY107", line, f"`{fq}(...)` is network I/O: runs only while tracing")
        elif fq in IO_EXACT or (fq.startswith(IO_PREFIXES) and not fq.startswith(IO_SAFE)):
            self._report("HY106", line, f"`{fq}(...)` does file/process I/O: runs only while tracing")
        elif fq in HOST_READ_NAMES:
            self._report("HY201", line, f"`{fq}(...)` reads a concrete tensor value")
        elif fq in VARIABLE_CTORS:
            self._creation(node, f"`{fq}(...)` creates a variable", "HY306")
        elif (fq.startswith(KERAS_PREFIXES) and ".schedules." not in fq) or fq in KERAS_NAMES:
            self._creation(node, f"`{fq}(...)` creates a Keras layer/model/optimizer", "HY307")
        elif top == "numpy" and not fq.startswith("numpy.random."):
            values = [*node.args, *(k.value for k in node.keywords)]
            hit = next((a for a in values if self.tensorish(a) or self._array_param(a)), None)
            if hit is not None:
                self._report("HY202", line, f"`{fq}({ast.unparse(hit)[:40]})`: NumPy on a tensor fails in a graph "
                                            "(NotImplementedError); use the tf.* equivalent")
        elif top not in KNOWN_LIBS:
            self.facts.assume(f"`{top}` (external library, e.g. `{fq}`) assumed free of Python side effects")
        if forwards and top not in KNOWN_LIBS:
            self._report("HY503", line, f"`{fq}(...)` receives forwarded *args/**kwargs")


SETUP_METHODS = {"__init__", "__new__", "__post_init__", "__init_subclass__", "__setattr__", "__delattr__",
                 "__set_name__", "__del__"}
PLAIN_MODULES = {"tensorflow.Module", "sonnet.Module"}
VARIABLE_METHODS = {"add_weight", "add_variable", "add_slot", "Variable", "get_variable"}


def creates_variables(index: Index, cls: ClassInfo) -> bool:
    """Can an instance of this (tf.Module-style, non-Keras) project class ever create a variable? A module that
    holds none (sonnet's ``Reshape``, a stateless wrapper) may be built inside a tf.function on every trace; one that
    creates variables, at construction or lazily on its first call, may not. Scans every method of the class and its
    project bases, and the project functions and classes they call, for variable constructors, ``add_weight``-style
    methods, Keras layers and variable-like base classes. Conservative: a Keras base or a cycle counts as yes."""
    return _makes_vars(index, cls.fqname, cls, 0)


def _makes_vars(index: Index, key: str, target: ClassInfo | FuncInfo, depth: int) -> bool:
    memo = index.var_makers
    if key in memo:
        return memo[key]
    if depth > 12:
        return True
    memo[key] = True  # a cycle (or a re-entrant lookup) counts as creating variables
    nodes: list[tuple[ModuleInfo, AST]]
    if isinstance(target, ClassInfo):
        bases = index.all_bases(target)
        if any(b.startswith(KERAS_PREFIXES) or (b in KERAS_NAMES and b not in PLAIN_MODULES)
               or (b.endswith("Variable") and "." in b) for b in bases):
            return True
        classes = [target, *(c for c in (index.lookup(b) for b in bases) if isinstance(c, ClassInfo))]
        nodes = [(c.module, c.node) for c in classes]
    else:
        nodes = [(target.module, target.node)]
    memo[key] = any(_call_makes_vars(index, mod, call, target, depth)
                    for mod, tree in nodes for call in ast.walk(tree) if isinstance(call, ast.Call))
    return memo[key]


def _call_makes_vars(index: Index, mod: ModuleInfo, call: ast.Call, target: ClassInfo | FuncInfo, depth: int) -> bool:
    text = dotted_name(call.func)
    if text is None:
        return False
    if text.rpartition(".")[2] in VARIABLE_METHODS:
        return True
    fq = index.canonical(mod.resolve_dotted(text))
    if fq in VARIABLE_CTORS or fq.startswith(KERAS_PREFIXES) or fq in KERAS_NAMES - PLAIN_MODULES:
        return True
    found = index.lookup(fq)
    if isinstance(found, ClassInfo) and found is not target:
        return _makes_vars(index, found.fqname, found, depth + 1)
    if isinstance(found, FuncInfo):
        return _makes_vars(index, found.id, found, depth + 1)
    return False


def analyse_function(index: Index, info: FuncInfo) -> FuncFacts:
    """One function alone (tests); the engine runs ``prepare`` on all functions first."""
    rules = FunctionRules(index, info)
    rules.prepare()
    return rules.run()
