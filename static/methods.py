"""Method calls and computed callees (``obj.m(...)``, ``self.layer(x)``, ``f()(x)``): eager-only reads (HY201),
mutation of outside containers (HY105), file I/O and logging through methods, and call-graph edges through the
project's classes (``self.m``, ``super().m``, typed ``self.attr.m``, ``obj = Foo(); obj.m()``).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from hybridize.static.astutil import root_name
from hybridize.static.index import ClassInfo
from hybridize.static.names import AMBIGUOUS_MUTATORS, HOST_READS, IO_PATH_METHODS, LOG_METHODS, MUTATORS

if TYPE_CHECKING:
    from hybridize.static.state import FunctionState

CONTAINER_TYPES = ("list", "dict", "set", "deque", "OrderedDict", "defaultdict", "Counter")


def dynamic_call(s: FunctionState, node: ast.Call, forwards: bool) -> None:
    """Callee is not a plain dotted name, or is rooted in a local/parameter: methods, sub-layers, closures."""
    func = node.func
    line = node.lineno
    if not isinstance(func, ast.Attribute):
        _computed_callee(s, node)
        return
    method = func.attr
    recv = func.value
    cls = s.info.cls
    if _eager_read(s, node, func):
        return
    typed_attr = _self_attr_type(s, recv)  # `self.attr.method(...)` where `self.attr = Ctor(...)`
    if typed_attr is not None and _follow(s, typed_attr, method, line):
        return
    mutator = method in MUTATORS and (typed_attr is None or typed_attr.split(".")[-1] in CONTAINER_TYPES)
    if mutator and method in AMBIGUOUS_MUTATORS and not s.container(recv):
        mutator = False  # `ema.update(x)`, `metric.add(...)`: a method of some object, not dict.update
    if isinstance(recv, ast.Name) and recv.id == s.self_name and cls is not None:
        target = s.index.find_method(cls, method)
        if target is not None:
            s.edge(target, line, "call")
            return
    if mutator:
        _mutation(s, func, line)
        return
    if _effect_method(s, node, func) or method in MUTATORS:
        return
    if isinstance(recv, ast.Name) and recv.id == s.self_name and cls is not None:
        _self_attribute_call(s, node, method, cls)
        return
    if isinstance(recv, ast.Call) and isinstance(recv.func, ast.Name) and recv.func.id == "super" and cls:
        _super_call(s, cls, method, line)
        return  # or a library base method
    if typed_attr is not None:
        if typed_attr.startswith("numpy.random.") or typed_attr.startswith("random."):
            s.report("HY108", line, f"`{ast.unparse(func)}(...)` draws Python/NumPy random numbers: frozen "
                                    "into the graph as constants (use tf.random)")
        return
    if _local_object_call(s, func, line):
        return
    # Anything else: a method of a tensor, a layer, a library object: assumed graph-compatible.
    if forwards:
        s.report("HY503", line, f"`{ast.unparse(func)[:50]}(...)` receives forwarded *args/**kwargs")


def _computed_callee(s: FunctionState, node: ast.Call) -> None:
    """``f()(x)`` / ``fns[i](x)``: unknown unless a library made the callable."""
    func = node.func
    line = node.lineno
    if isinstance(func, ast.Call):
        inner = s.resolve_func(func.func) or ""
        if inner.partition(".")[0] in ("tensorflow", "keras", "tf_keras", "sonnet") or inner == "getattr":
            return  # a library-made callable: `keras.layers.Dense(3)(x)`, `tf.function(g)(x)`
    s.report("HY501", line, f"call of `{ast.unparse(func)[:50]}`: the callee is computed at run time")
    s.facts.assume(f"`{ast.unparse(func)[:50]}(...)` at line {line} assumed free of Python side effects")


def _eager_read(s: FunctionState, node: ast.Call, func: ast.Attribute) -> bool:
    """``t.numpy()``, ``t.item()``: a concrete value, which a symbolic tensor does not have (HY201)."""
    line = node.lineno
    if func.attr == "numpy" and not node.args:
        s.report("HY201", line, f"`{ast.unparse(func)}()` reads a concrete value: symbolic tensors have none "
                                "(AttributeError while tracing)")
        return True
    if func.attr in HOST_READS and s.tensorish(func.value):
        s.report("HY201", line, f"`{ast.unparse(func)}()` reads a concrete tensor value")
        return True
    return False


def _self_attr_type(s: FunctionState, recv: ast.expr) -> str | None:
    """The constructor's dotted name when ``recv`` is ``self.attr`` and the class assigns ``self.attr = Ctor(...)``."""
    cls = s.info.cls
    if isinstance(recv, ast.Attribute) and isinstance(recv.value, ast.Name) and recv.value.id == s.self_name \
            and cls is not None and recv.attr in cls.attr_types:
        return cls.attr_types[recv.attr]
    return None


def _follow(s: FunctionState, ctor: str, method: str, line: int) -> bool:
    """An edge to ``method`` of the project class ``ctor`` (or a base), when there is one."""
    typed = s.index.lookup(ctor)
    if isinstance(typed, ClassInfo):
        found = s.index.find_method(typed, method)
        if found is not None:
            s.edge(found, line, "call")
            return True
    return False


def _mutation(s: FunctionState, func: ast.Attribute, line: int) -> None:
    """``recv.append(x)`` and friends on a container the function did not create (HY105)."""
    recv = func.value
    root = root_name(recv)
    owner = s.outside_root(recv)
    first_call = owner == s.self_name and (s.guarded_function or s.guard_depth)
    if owner is not None and not first_call and not (root is not None and root in s.tensors):
        s.report("HY105", line, f"`{ast.unparse(func)[:50]}(...)` mutates `{ast.unparse(recv)[:40]}`, "
                                "which was not created here: happens once per trace",
                 closure_name=s.closure(owner))


def _effect_method(s: FunctionState, node: ast.Call, func: ast.Attribute) -> bool:
    """File I/O (HY106) and logging (HY102) through methods, and ``self.add_weight`` (a variable is created)."""
    method = func.attr
    recv = func.value
    root = root_name(recv)
    line = node.lineno
    if method in IO_PATH_METHODS and method not in ("write", "flush") and root not in s.tensors:
        s.report("HY106", line, f"`.{method}()` does file I/O, which runs only while tracing")
        return True
    if method in LOG_METHODS and root is not None and "log" in ast.unparse(recv).lower():
        s.report("HY102", line, f"`{ast.unparse(func)[:50]}(...)` logs only while tracing")
        return True
    if method in ("add_weight", "add_variable") and root == s.self_name:
        s.creation(node, f"`{ast.unparse(func)}(...)` creates a variable", "HY306")
        return True
    return False


def _self_attribute_call(s: FunctionState, node: ast.Call, method: str, cls: ClassInfo) -> None:
    """``self.name(...)`` where ``name`` is no project method: a typed attribute, a sub-layer, or inherited."""
    line = node.lineno
    facts = s.facts
    if method in cls.attr_types:
        typed_call(s, cls.attr_types[method], node, f"self.{method}")
        return
    bases = s.index.all_bases(cls)
    external = [b for b in bases if s.index.lookup(b) is None]
    if s.index.has_attr(cls, method) and s.layerish(method):
        facts.assume(f"`self.{method}(...)` assumed a Keras layer / model / tf.Module (graph-compatible)")
    elif s.index.has_attr(cls, method):
        s.report("HY501", line, f"`self.{method}(...)` calls an attribute set at run time (a sub-layer or "
                                "callback?): its code is not known statically")
        facts.assume(f"`self.{method}(...)` (an attribute) assumed a graph-compatible callable")
    elif external:
        facts.assume(f"`self.{method}(...)` assumed inherited from {external[0]} (library code)")
    else:
        s.report("HY501", line, f"`self.{method}(...)`: no method or typed attribute `{method}` found "
                                "(set dynamically?)")
        facts.assume(f"`self.{method}(...)` assumed free of Python side effects")


def _super_call(s: FunctionState, cls: ClassInfo, method: str, line: int) -> None:
    """``super().method(...)``: an edge to the first project base that defines it."""
    for base in cls.bases:
        target_cls = s.index.lookup(base)
        if isinstance(target_cls, ClassInfo):
            target = s.index.find_method(target_cls, method)
            if target is not None:
                s.edge(target, line, "call")
                return


def _local_object_call(s: FunctionState, func: ast.Attribute, line: int) -> bool:
    """``obj = Foo(); obj.m()`` with a project class (an edge), or a NumPy / Python RNG (HY108)."""
    recv = func.value
    if not (isinstance(recv, ast.Name) and recv.id in s.local_names):
        return False
    for how, value in s.scope.bound.get(recv.id, []):
        if how == "assign" and isinstance(value, ast.Call):
            ctor_fq = s.resolve_func(value.func)
            local_cls = s.index.lookup(ctor_fq) if ctor_fq else None
            if isinstance(local_cls, ClassInfo):
                found = s.index.find_method(local_cls, func.attr)
                if found is not None:
                    s.edge(found, line, "call")
                    return True
            if ctor_fq and (ctor_fq.startswith("numpy.random.") or ctor_fq.startswith("random.")):
                s.report("HY108", line, f"`{ast.unparse(func)}(...)` draws NumPy/Python random numbers: "
                                        "frozen into the graph (use tf.random)")
                return True
    return False


def typed_call(s: FunctionState, ctor: str, node: ast.Call, what: str) -> None:
    """Calling an object whose class is known (``ctor``): an edge to its project ``__call__`` / ``call``."""
    target = s.index.lookup(ctor)
    if isinstance(target, ClassInfo):
        method = s.index.find_method(target, "__call__") or s.index.find_method(target, "call")
        if method is not None:
            s.edge(method, node.lineno, "call")
        else:
            s.facts.assume(f"`{what}(...)` is a {target.qualname}; its __call__ is inherited from library code")
    # External layer (keras.layers.Dense, snt.Linear...) -> graph-compatible by assumption of the library.
