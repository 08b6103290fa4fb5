"""The name a new decorator uses for TensorFlow, and the ``import`` line added when the module binds none."""

from __future__ import annotations

import libcst as cst

from hybridize.plan import Settings
from hybridize.rewriter.sites import Aliases, EditError


def needs_module_alias(settings: Settings) -> bool:
    """Whether the arguments mention ``tf.`` (TensorSpec, dtypes), so a bare ``function`` import is not enough."""
    return settings.input_signature is not None


def alias_for(aliases: Aliases, settings: Settings) -> tuple[str, str, str | None]:
    """(module alias, decorator function text, import statement to add or None)."""
    module_alias = aliases.module_alias()
    if module_alias is not None:
        return module_alias, f"{module_alias}.function", None
    bare = aliases.function_alias()
    if bare is not None and not needs_module_alias(settings):
        return "tf", bare, None
    for local, stmt in (("tf", "import tensorflow as tf"), ("tensorflow", "import tensorflow")):
        if local not in aliases.other_bindings and local not in aliases.names:
            fn = bare if bare is not None and not needs_module_alias(settings) else f"{local}.function"
            return local, fn, stmt
    raise EditError("no-tf-name", "both `tf` and `tensorflow` are bound to something else in this module")


def add_import(module: cst.Module, statement: str) -> cst.Module:
    """Insert ``statement`` after the module's leading block of imports (after the docstring/__future__)."""
    body = list(module.body)
    insert_at = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and stmt.body:
            first = stmt.body[0]
            is_doc = i == 0 and isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString,
                                                                                          cst.ConcatenatedString))
            if is_doc or all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
                insert_at = i + 1
                continue
        break
    new_stmt = cst.parse_statement(statement + "\n")
    body.insert(insert_at, new_stmt)
    return module.with_changes(body=body)
