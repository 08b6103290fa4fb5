"""Calls by name: which project function a call reaches (a call-graph edge), or which rule family judges it.

Method calls and computed callees are in ``methods``; library and builtin calls in ``effects``.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from hybridize.static.effects import builtin, external
from hybridize.static.index import ClassInfo, FuncInfo, dotted_name
from hybridize.static.methods import dynamic_call, typed_call
from hybridize.static.names import BUILTINS, KERAS_NAMES, KNOWN_LIBS, LAYERISH, MODEL_BASE, is_keras_class
from hybridize.static.variables import creates_variables

if TYPE_CHECKING:
    from hybridize.static.state import FunctionState


def call(s: FunctionState, node: ast.Call) -> None:
    """Dispatch one call by what the callee is: local, nested def, builtin, project function or class, library."""
    func = node.func
    line = node.lineno
    facts = s.facts
    fq = s.resolve_func(func)
    short = ast.unparse(func)[:60]
    # Forwarding *args / **kwargs.
    forwards = any(isinstance(a, ast.Starred) and isinstance(a.value, ast.Name) and a.value.id in s.param_names
                   for a in node.args) or any(k.arg is None and isinstance(k.value, ast.Name)
                                              and k.value.id in s.param_names for k in node.keywords)
    if isinstance(func, ast.Name):
        name = func.id
        if name in s.local_names and name not in s.info.local_defs:
            if s.layerish(name):
                facts.assume(f"`{name}(...)` assumed a Keras layer / model / tf.Module (graph-compatible)")
            elif name in s.param_names:
                s.report("HY501", line, f"call of parameter `{name}(...)`: the callee is chosen by the caller")
                facts.assume(f"`{name}(...)` (a parameter) assumed free of Python side effects")
            elif aliased_call(s, name, node, forwards):
                pass
            elif not any(how == "import" for how, _ in s.scope.bound.get(name, [])):
                s.report("HY501", line, f"call of local variable `{name}(...)`: the callee is not known statically")
                facts.assume(f"`{name}(...)` (a local callable) assumed free of Python side effects")
            return
        if name in s.info.local_defs:
            s.edge(s.info.local_defs[name], line, "call")
            return
        target_parent = s.enclosing_def(name)
        if target_parent is not None:
            s.edge(target_parent, line, "call")
            return
        if name in BUILTINS and name not in s.mod.imports and name not in s.mod.functions \
                and name not in s.mod.classes and name not in s.mod.global_values:
            builtin(s, name, node)
            return
    if fq is None and isinstance(func, ast.Name) and func.id in s.mod.global_values:
        global_object_call(s, func.id, node)
        return
    if fq is None:
        dynamic_call(s, node, forwards)
        return
    # Project code?
    target = s.index.lookup(fq)
    if isinstance(target, FuncInfo):
        s.edge(target, line, "call")
        return
    if isinstance(target, ClassInfo):
        construct(s, target, node)
        return
    if fq.startswith(f"{s.mod.name}.") and fq[len(s.mod.name) + 1:] in s.mod.global_values:
        facts.assume(f"`{short}` is a module-level value, assumed a graph-compatible callable")
        return
    external(s, fq, node, forwards)


def aliased_call(s: FunctionState, name: str, node: ast.Call, forwards: bool) -> bool:
    """``f = tf.config.list_physical_devices`` (in every branch) then ``f(...)``: check each aliased function as
    if it were called by name. False (HY501 stays) when any binding is not a plain reference to a resolvable
    module-level function or library name (a call result, a parameter, a loop variable, a lambda...)."""
    bindings = s.scope.bound.get(name, [])
    targets: list[str] = []
    for how, value in bindings:
        text = dotted_name(value) if how == "assign" and isinstance(value, (ast.Name, ast.Attribute)) else None
        if text is None or text.partition(".")[0] == name:
            return False
        fq = s.resolve_func(value) if isinstance(value, ast.expr) else None
        if fq is None:
            return False
        target = s.index.lookup(fq)
        if isinstance(target, ClassInfo) or (target is None and fq.partition(".")[0] not in KNOWN_LIBS):
            return False  # a class alias builds objects; an unknown library is not assumed harmless here
        targets.append(fq)
    if not targets:
        return False
    for fq in dict.fromkeys(targets):
        target = s.index.lookup(fq)
        if isinstance(target, FuncInfo):
            s.edge(target, node.lineno, "call")
        else:
            external(s, fq, node, forwards)
    return True


def global_object_call(s: FunctionState, name: str, node: ast.Call) -> None:
    """``net(x)`` where ``net = Something(...)`` at module level."""
    value = s.mod.global_values[name]
    ctor = dotted_name(value.func) if isinstance(value, ast.Call) else None
    fq = s.mod.resolve_dotted(ctor) if ctor else None
    if fq is not None:
        if isinstance(s.index.lookup(fq), ClassInfo):
            typed_call(s, fq, node, name)
            return
        top = fq.partition(".")[0]
        if top in KNOWN_LIBS or LAYERISH.search(name):
            s.facts.assume(f"`{name}(...)` is a module-level `{fq}(...)` object, assumed graph-compatible")
            return
    s.report("HY501", node.lineno, f"call of module-level object `{name}(...)`: its code is not known statically")
    s.facts.assume(f"`{name}(...)` (a module-level object) assumed free of Python side effects")


def construct(s: FunctionState, cls: ClassInfo, node: ast.Call) -> None:
    """``Foo(...)`` of a project class: an edge to its ``__init__``; a layer / module that holds variables is created."""
    bases = s.index.all_bases(cls)
    keras = any(is_keras_class(b) for b in bases)
    module = any(b in KERAS_NAMES or MODEL_BASE.search(b) for b in bases)
    if keras or (module and creates_variables(s.index, cls)):
        s.creation(node, f"`{cls.qualname}(...)` creates a layer/module (a {bases[0]} subclass)", "HY307")
    init = s.index.find_method(cls, "__init__")
    if init is not None:
        s.edge(init, node.lineno, "ctor")
