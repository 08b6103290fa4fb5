"""AST helpers shared by the rules: a fast visitor base, the roots of attribute chains, assignment targets."""

from __future__ import annotations

import ast
from ast import AST
from collections.abc import Callable
from typing import Any

from hybridize.static.index import FuncInfo, dotted_name
from hybridize.static.names import CONTAINER_CTORS


def once_decorated(info: FuncInfo) -> bool:
    """A run-once decorator (`@once`, `@once.once`, `@functools.cache`-like names ending in "once")."""
    node = info.node
    return not isinstance(node, ast.Lambda) and any(
        (dotted_name(d.func if isinstance(d, ast.Call) else d) or "").endswith("once") for d in node.decorator_list)


def root_name(node: ast.AST) -> str | None:
    """The Name at the bottom of an Attribute/Subscript/method-call chain (``self`` for ``self.a[0].b``)."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            break
    return node.id if isinstance(node, ast.Name) else None


def root_passes_calls(node: ast.AST) -> bool:
    """True when the chain to the root goes through a call (``f().x``): the object may be new."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Call):
            return True
        node = node.value
    return False


def is_container_value(v: ast.expr) -> bool:
    if isinstance(v, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return isinstance(v, ast.Call) and dotted_name(v.func) in CONTAINER_CTORS


def targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, (ast.Tuple, ast.List)):
        out: list[ast.expr] = []
        for elt in node.elts:
            out.extend(targets(elt))
        return out
    if isinstance(node, ast.Starred):
        return targets(node.value)
    return [node]  # type: ignore[list-item]


_FIELDS: dict[type, tuple[str, ...]] = {}


class FastVisitor(ast.NodeVisitor):
    """``ast.NodeVisitor`` with per-class cached dispatch, inlined into the child loop, and no descent into
    ``ctx`` nodes or constants: the analysis is mostly this walk, so the standard dispatch's cost matters."""

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
