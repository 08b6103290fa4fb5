"""Convert and tune: add ``@tf.function(...)`` to a function, or set the arguments of the one it has, keeping the
layout of every argument list it touches."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from hybridize.plan import Settings, render_decorator
from hybridize.planfile import settings_from_decorator
from hybridize.rewriter.imports import add_import, alias_for, needs_module_alias
from hybridize.rewriter.sites import (
    EditError,
    EditOutcome,
    call_form_sites,
    collect_aliases,
    dotted_parts,
    hybrid_decorators,
    locate,
    rebinds,
    replace_call,
)
from hybridize.rewriter.surgery import replace_node

# Decorators that must stay closer to the ``def`` than tf.function (tf.function wraps their result).
INNER_DECORATORS = frozenset({"custom_gradient", "recompute_grad"})
# Deprecated tf.function keywords and their replacements.
RENAMED_KWARGS = {"experimental_relax_shapes": "reduce_retracing", "experimental_compile": "jit_compile"}


def effective_settings(settings: Settings, decorator_text: str) -> Settings:
    """The settings to write: the plan's ``settings``, or for a plan that only carries decorator text
    (hand-written plans) the settings read from that text by ``planfile.settings_from_decorator``.

    The text itself never reaches the source: only values of the plan schema do, rendered by ``Settings``.
    """
    if settings.decorator_args() or not decorator_text.strip():
        return settings
    try:
        return Settings.from_json(settings_from_decorator(decorator_text))
    except ValueError as exc:
        raise EditError("bad-decorator", f"the plan's decorator text is not a plain tf.function decorator ({exc}): "
                        f"{decorator_text[:80]!r}") from None


def desired_args(settings: Settings, tf_alias: str) -> list[cst.Arg]:
    """Keyword arguments for the decorator, rendered with the module's TensorFlow alias from checked settings."""
    return [_parse_args(f"_({text})")[0] for text in settings.decorator_args(tf_alias)]


def _parse_args(text: str) -> list[cst.Arg]:
    expr = cst.parse_expression(text)
    if not isinstance(expr, cst.Call):
        raise ValueError(text)
    return [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in expr.args]


def merge_args(args: Sequence[cst.Arg], wanted: Sequence[cst.Arg], before_args: cst.BaseParenthesizableWhitespace
               ) -> list[cst.Arg]:
    """``args`` with each wanted keyword set (replaced in place or appended) and deprecated keywords renamed."""
    result = list(args)
    for i, arg in enumerate(result):
        if arg.keyword is not None and arg.keyword.value in RENAMED_KWARGS:
            new_kw = RENAMED_KWARGS[arg.keyword.value]
            if any(a.keyword is not None and a.keyword.value == new_kw for a in result):
                continue  # both spellings present: leave the user's code alone
            result[i] = arg.with_changes(keyword=cst.Name(new_kw))
    for want in wanted:
        assert want.keyword is not None
        index = next((i for i, a in enumerate(result) if a.keyword is not None and a.keyword.value == want.keyword.value),
                     None)
        if index is not None:
            if not result[index].value.deep_equals(want.value):
                result[index] = result[index].with_changes(value=want.value)
            continue
        result = _append_arg(result, want, before_args)
    return result


def _append_arg(args: list[cst.Arg], new: cst.Arg, before_args: cst.BaseParenthesizableWhitespace) -> list[cst.Arg]:
    if not args:
        return [new]
    last = args[-1]
    if not isinstance(last.comma, cst.Comma):
        return [*args[:-1], last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), new]
    # A trailing comma: usually one argument per line. The old last argument keeps its line (and any
    # comment on it); the new one goes on a line of its own, indented like the others, before the bracket.
    trailing = last.comma.whitespace_after
    if not isinstance(trailing, cst.ParenthesizedWhitespace):
        return [*args[:-1], last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                new.with_changes(comma=last.comma)]
    indent: cst.SimpleWhitespace = cst.SimpleWhitespace("")
    previous = args[-2].comma if len(args) >= 2 else None
    if isinstance(previous, cst.Comma) and isinstance(previous.whitespace_after, cst.ParenthesizedWhitespace):
        indent = previous.whitespace_after.last_line
    elif isinstance(before_args, cst.ParenthesizedWhitespace):
        indent = before_args.last_line
    separator = last.comma.with_changes(whitespace_after=trailing.with_changes(last_line=indent))
    closing = cst.Comma(whitespace_after=cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), empty_lines=[], indent=trailing.indent, last_line=trailing.last_line))
    return [*args[:-1], last.with_changes(comma=separator), new.with_changes(comma=closing)]


def _dec_func(dec: cst.Decorator) -> cst.BaseExpression:
    return dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator


def convert(module: cst.Module, qualname: str, line: int | None, settings: Settings, decorator_text: str = ""
            ) -> EditOutcome:
    """Add ``@tf.function(...)`` to the function (or tune it when it is already one)."""
    settings = effective_settings(settings, decorator_text)
    aliases = collect_aliases(module)
    site = locate(module, qualname, line)
    if site.node.asynchronous is not None:
        raise EditError("async", f"{qualname} is an async function: tf.function cannot wrap a coroutine")
    # Already a tf.function: convert means "make sure it has these settings". A call form that binds
    # another name (``fast = tf.function(f)``) leaves ``f`` itself eager, so it does not count.
    if hybrid_decorators(site, aliases) or any(rebinds(module, cs) for cs in call_form_sites(module, site, aliases)):
        return tune(module, qualname, line, settings)
    alias, fn_text, import_stmt = alias_for(aliases, settings)
    args = desired_args(settings, alias)
    base = render_decorator(Settings(), tf="", function_name=fn_text).removeprefix("@")
    expr: cst.BaseExpression = cst.parse_expression(base)
    if args:
        expr = cst.Call(func=expr, args=merge_args([], args, cst.SimpleWhitespace("")))
    node = site.node
    decorators = list(node.decorators)
    index = len(decorators)
    while index > 0 and (dotted_parts(_dec_func(decorators[index - 1])) or [""])[-1] in INNER_DECORATORS:
        index -= 1
    new_dec = cst.Decorator(decorator=expr)
    if index == len(decorators):
        # Directly above the def: comments that sat between the last decorator and the def stay above ours.
        new_dec = new_dec.with_changes(leading_lines=node.lines_after_decorators)
        node_new = node.with_changes(decorators=[*decorators, new_dec], lines_after_decorators=())
    else:
        moved = decorators[index]
        decorators[index] = moved.with_changes(leading_lines=())
        new_dec = new_dec.with_changes(leading_lines=moved.leading_lines)
        decorators.insert(index, new_dec)
        node_new = node.with_changes(decorators=decorators)
    result = replace_node(module, node, node_new)
    if import_stmt is not None:
        result = add_import(result, import_stmt)
    return EditOutcome(result, True, "added " + result.code_for_node(new_dec.decorator), import_added=import_stmt is not None)


def tune(module: cst.Module, qualname: str, line: int | None, settings: Settings, decorator_text: str = ""
         ) -> EditOutcome:
    """Set the wanted arguments on the function's existing tf.function (decorator or call form)."""
    settings = effective_settings(settings, decorator_text)
    aliases = collect_aliases(module)
    site = locate(module, qualname, line)
    decorator_indexes = hybrid_decorators(site, aliases)
    calls = call_form_sites(module, site, aliases)
    if not decorator_indexes and not calls:
        raise EditError("not-hybrid", f"{qualname} is not a tf.function: nothing to tune")
    alias = aliases.module_alias()
    import_stmt = None
    if alias is None and needs_module_alias(settings):
        alias, _, import_stmt = alias_for(aliases, settings)
    args = desired_args(settings, alias or "tf")
    result = module
    if decorator_indexes:
        node = site.node
        decorators = list(node.decorators)
        for i in decorator_indexes:
            dec = decorators[i]
            expr = dec.decorator
            if isinstance(expr, cst.Call):
                new_expr: cst.BaseExpression = expr.with_changes(args=merge_args(expr.args, args, expr.whitespace_before_args))
            elif args:
                new_expr = cst.Call(func=expr, args=merge_args([], args, cst.SimpleWhitespace("")))
            else:
                new_expr = expr
            decorators[i] = dec.with_changes(decorator=new_expr)
        new_node = node.with_changes(decorators=decorators)
        if not new_node.deep_equals(node):
            result = replace_node(result, node, new_node)
    else:
        for k in range(len(calls)):  # re-found after each edit: an edit rebuilds the statements around it
            cs = call_form_sites(result, locate(result, qualname, line), aliases)[k]
            new_call = cs.call.with_changes(args=merge_args(cs.call.args, args, cs.call.whitespace_before_args))
            if not new_call.deep_equals(cs.call):
                result = replace_call(result, cs, new_call)
    if result is module:
        return EditOutcome(module, False, "already applied")
    if import_stmt is not None:
        result = add_import(result, import_stmt)
    return EditOutcome(result, True, "tuned tf.function arguments", import_added=import_stmt is not None)
