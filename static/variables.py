"""Variable-creation analysis: can an instance of a project class ever create a ``tf.Variable``?

tf.function allows variables only on the first call, so building such an object inside a graph is an error on
every later trace (HY307); a stateless module may be built on every trace.
"""

from __future__ import annotations

import ast
from ast import AST

from hybridize.static.index import ClassInfo, FuncInfo, Index, ModuleInfo, dotted_name
from hybridize.static.names import VARIABLE_CTORS, VARIABLE_METHODS, is_keras_class


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
        if any(is_keras_class(b) or (b.endswith("Variable") and "." in b) for b in bases):
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
    if fq in VARIABLE_CTORS or is_keras_class(fq):
        return True
    found = index.lookup(fq)
    if isinstance(found, ClassInfo) and found is not target:
        return _makes_vars(index, found.fqname, found, depth + 1)
    if isinstance(found, FuncInfo):
        return _makes_vars(index, found.id, found, depth + 1)
    return False
