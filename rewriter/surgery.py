"""Replacing one statement-level node of a libcst tree, rebuilding only its ancestors; and the error every edit
raises when a recommendation cannot be applied."""

from __future__ import annotations

import dataclasses

import libcst as cst


class EditError(Exception):
    """This recommendation cannot be applied to this source; ``code`` is a stable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_FIELDS: dict[type, tuple[str, ...]] = {}


def node_fields(node: cst.CSTNode) -> tuple[str, ...]:
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_LEAFY: dict[type, bool] = {}


def holds_no_statements(node: cst.CSTNode) -> bool:
    """Expressions, whitespace and the like never contain a statement: no need to search them."""
    cls = type(node)
    leafy = _LEAFY.get(cls)
    if leafy is None:
        leafy = _LEAFY[cls] = isinstance(node, (
            cst.BaseExpression, cst.BaseSmallStatement, cst.BaseParenthesizableWhitespace, cst.EmptyLine,
            cst.TrailingWhitespace, cst.Comment, cst.Newline, cst.Decorator, cst.Parameters, cst.Param, cst.Arg))
    return leafy


def path_to(node: cst.CSTNode, target: cst.CSTNode) -> list[tuple[cst.CSTNode, str, int | None]] | None:
    """The (parent, field, index) steps from ``node`` down to the statement-level ``target``, or None."""
    if node is target:
        return []
    if holds_no_statements(node):
        return None
    for name in node_fields(node):
        value = getattr(node, name)
        if type(value) is tuple or type(value) is list:
            for i, item in enumerate(value):
                if isinstance(item, cst.CSTNode):
                    sub = path_to(item, target)
                    if sub is not None:
                        return [(node, name, i), *sub]
        elif isinstance(value, cst.CSTNode):
            sub = path_to(value, target)
            if sub is not None:
                return [(node, name, None), *sub]
    return None


def replace_node(module: cst.Module, old: cst.CSTNode, new: cst.CSTNode) -> cst.Module:
    """Replace the statement-level node ``old`` (by identity) with ``new``, rebuilding only its ancestors.

    ``Module.deep_replace`` visits and rebuilds the whole tree (over a second per edit on a 2,000-line
    file); walking the dataclass fields to the one node and copying its ancestors is linear and cheap.
    """
    path = path_to(module, old)
    if path is None:
        raise EditError("internal", "edit target vanished from the tree (a rewriter bug)")
    replacement: cst.CSTNode = new
    for parent, name, index in reversed(path):
        if index is None:
            replacement = parent.with_changes(**{name: replacement})
        else:
            items = list(getattr(parent, name))
            items[index] = replacement
            replacement = parent.with_changes(**{name: items})
    assert isinstance(replacement, cst.Module)
    return replacement
