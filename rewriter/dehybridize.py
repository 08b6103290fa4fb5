"""De-hybridize: remove a function's ``tf.function`` decorator or unwrap its ``f = tf.function(f)``, and nothing else."""

from __future__ import annotations

import libcst as cst

from hybridize.rewriter.sites import (
    CallSite,
    EditError,
    EditOutcome,
    call_form_sites,
    collect_aliases,
    hybrid_decorators,
    locate,
    rebinds,
    replace_call,
    wrapped_arg,
)
from hybridize.rewriter.surgery import replace_node


def dehybridize(module: cst.Module, qualname: str, line: int | None) -> EditOutcome:
    """Remove the function's tf.function decorator, or unwrap its ``f = tf.function(f)``, and nothing else."""
    aliases = collect_aliases(module)
    site = locate(module, qualname, line)
    decorator_indexes = hybrid_decorators(site, aliases)
    result = module
    if decorator_indexes:
        node = site.node
        decorators = list(node.decorators)
        lines_after = list(node.lines_after_decorators)
        for i in reversed(decorator_indexes):
            removed = decorators.pop(i)
            keep = [ln for ln in removed.leading_lines]
            if i < len(decorators):
                decorators[i] = decorators[i].with_changes(leading_lines=[*keep, *decorators[i].leading_lines])
            else:
                lines_after = [*keep, *lines_after]
        new_node = node.with_changes(decorators=decorators, lines_after_decorators=lines_after)
        replaced = replace_node(result, node, new_node)
        return EditOutcome(replaced, True, "removed tf.function decorator")
    calls = call_form_sites(module, site, aliases)
    if not calls:
        return EditOutcome(module, False, "already applied (not a tf.function)")
    # One site at a time, re-found after each edit: removing a statement rebuilds its block.
    for _ in range(len(calls)):
        site = locate(result, qualname, line)
        pending = call_form_sites(result, site, aliases)
        if not pending:
            break
        cs = pending[0]
        if rebinds(result, cs):
            result = _remove_small_statement(result, cs)
        else:
            result = replace_call(result, cs, wrapped_arg(cs.call).value)
    return EditOutcome(result, True, "unwrapped tf.function(...) call")


def _remove_small_statement(module: cst.Module, cs: CallSite) -> cst.Module:
    """Drop the assignment; if it was alone on its line drop the line, keeping comments above it."""
    stmt = cs.statement
    if len(stmt.body) > 1:
        rest = [s for s in stmt.body if s is not cs.assign]
        rest[-1] = rest[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        replaced = replace_node(module, stmt, stmt.with_changes(body=rest))
        return replaced
    owner = cs.owner
    body = list(getattr(owner, "body", []))
    index = next(i for i, s in enumerate(body) if s is stmt)
    comments = [ln for ln in stmt.leading_lines if ln.comment is not None]
    body.pop(index)
    new_owner: cst.CSTNode
    if index < len(body):
        nxt = body[index]
        body[index] = nxt.with_changes(leading_lines=[*comments, *nxt.leading_lines])
        new_owner = owner.with_changes(body=body)
    elif isinstance(owner, cst.Module):
        new_owner = owner.with_changes(body=body, footer=[*comments, *owner.footer])
    elif isinstance(owner, cst.IndentedBlock):
        if not body:
            body = [cst.SimpleStatementLine(body=[cst.Pass()])]
        new_owner = owner.with_changes(body=body, footer=[*comments, *owner.footer])
    else:  # pragma: no cover - owners are always modules or indented blocks
        raise EditError("unsupported", "cannot remove the statement here")
    if owner is module:
        assert isinstance(new_owner, cst.Module)
        return new_owner
    replaced = replace_node(module, owner, new_owner)
    return replaced
