"""The three source edits (convert, tune, de-hybridize) as libcst tree surgery.

libcst keeps every byte we do not touch (comments, blank lines, line continuations, tabs, CRLF, the
encoding), so an edit is the replacement of one function's decorator list, one ``f = tf.function(f)``
statement, and at most one added ``import`` line. Each edit is idempotent: applied to its own output it
changes nothing, which is what makes ``hybridize apply`` safe to run twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from hybridize.identity import REDEFINITION_SEP
from hybridize.plan import Settings, render_decorator
from hybridize.planfile import settings_from_decorator

# Full dotted names that are TensorFlow's ``function`` (after resolving the module's import aliases).
TF_FUNCTION_NAMES = frozenset({
    "tensorflow.function",
    "tensorflow.compat.v2.function",
    "tensorflow.compat.v1.function",
    "tensorflow.python.eager.def_function.function",
    "tensorflow.python.eager.polymorphic_function.polymorphic_function.function",
})
# Module objects whose ``function``/``TensorSpec``/dtypes we can use for a new decorator.
TF_MODULES = ("tensorflow", "tensorflow.compat.v2")
# Decorators that must stay closer to the ``def`` than tf.function (tf.function wraps their result).
INNER_DECORATORS = frozenset({"custom_gradient", "recompute_grad"})
# Deprecated tf.function keywords and their replacements.
RENAMED_KWARGS = {"experimental_relax_shapes": "reduce_retracing", "experimental_compile": "jit_compile"}


class EditError(Exception):
    """This recommendation cannot be applied to this source; ``code`` is a stable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class FunctionSite:
    """One ``def`` found in the module, with where it lives."""

    qualname: str
    node: cst.FunctionDef
    line: int
    body_owner: cst.CSTNode  # the Module or IndentedBlock whose ``body`` holds the def (or its if/try)
    class_node: cst.ClassDef | None  # set when the def is directly in a class body


@dataclass
class Aliases:
    """What TensorFlow names the module binds at top level (imports anywhere outside defs/classes)."""

    modules: dict[str, str] = field(default_factory=dict)  # local name -> module ("tf" -> "tensorflow")
    names: dict[str, str] = field(default_factory=dict)  # local name -> object ("function" -> "tensorflow.function")
    other_bindings: set[str] = field(default_factory=set)  # top-level names bound to something else

    def resolve(self, expr: cst.BaseExpression) -> str | None:
        """The full dotted name of ``expr`` (``tf.function`` -> ``tensorflow.function``), or None."""
        parts = dotted_parts(expr)
        if not parts:
            return None
        root, rest = parts[0], parts[1:]
        if root in self.names:
            base = self.names[root]
        elif root in self.modules:
            base = self.modules[root]
        elif root in ("tf", "tensorflow") and root not in self.other_bindings:
            base = "tensorflow"  # an import we could not see (e.g. star import): the universal convention
        else:
            base = root
        return ".".join([base, *rest])

    def is_tf_function(self, expr: cst.BaseExpression) -> bool:
        return self.resolve(expr) in TF_FUNCTION_NAMES

    def module_alias(self) -> str | None:
        for preferred in TF_MODULES:
            for local, target in sorted(self.modules.items()):
                if target == preferred:
                    return local
        return None

    def function_alias(self) -> str | None:
        for local, target in sorted(self.names.items()):
            if target in TF_FUNCTION_NAMES:
                return local
        return None


def dotted_parts(expr: cst.BaseExpression) -> list[str]:
    if isinstance(expr, cst.Name):
        return [expr.value]
    if isinstance(expr, cst.Attribute):
        head = dotted_parts(expr.value)
        return [*head, expr.attr.value] if head else []
    return []


def _dotted_text(node: cst.BaseExpression | cst.Attribute | cst.Name) -> str:
    return ".".join(dotted_parts(node))


def collect_aliases(module: cst.Module) -> Aliases:
    aliases = Aliases()

    def visit_body(body: Sequence[cst.CSTNode]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    visit_small(small)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                aliases.other_bindings.add(stmt.name.value)
            elif isinstance(stmt, cst.If) and dotted_parts(stmt.test)[-1:] == ["TYPE_CHECKING"]:
                if stmt.orelse is not None:  # only the runtime branch binds names a decorator can use
                    visit_body(stmt.orelse.body.body if isinstance(stmt.orelse, cst.Else) else [stmt.orelse])
            elif isinstance(stmt, cst.BaseCompoundStatement):
                for block in _blocks(stmt):
                    visit_body(block.body)

    def visit_small(small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = _dotted_text(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    aliases.modules[alias.asname.name.value] = full
                else:
                    root = full.split(".")[0]
                    aliases.modules.setdefault(root, root)
        elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
            base = _dotted_text(small.module)
            if isinstance(small.names, cst.ImportStar):
                return
            for alias in small.names:
                name = _dotted_text(alias.name)
                local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
                full = f"{base}.{name}"
                if base.split(".")[0] == "tensorflow":
                    if full in TF_FUNCTION_NAMES:
                        aliases.names[local] = full
                    else:
                        aliases.modules[local] = full
                else:
                    aliases.other_bindings.add(local)
        elif isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            for target in targets:
                if isinstance(target, cst.Name):
                    aliases.other_bindings.add(target.value)

    visit_body(module.body)
    for local in list(aliases.modules) + list(aliases.names):
        aliases.other_bindings.discard(local)
    return aliases


def _blocks(stmt: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
    """The suites of an if/try/with/for/while statement (not of defs and classes)."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return
    if isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield case.body
        return
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body
    if isinstance(stmt, cst.If):
        orelse: cst.If | cst.Else | None = stmt.orelse
        while orelse is not None:
            yield orelse.body
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        for handler in stmt.handlers:
            yield handler.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is not None:
        yield stmt.orelse.body


def find_functions(module: cst.Module, with_lines: bool = True) -> list[FunctionSite]:
    """Every ``def`` with its ``__qualname__`` (``A.f``, ``f.<locals>.g``) and the line of ``def``.

    Line numbers need a pass over the whole module; without ``with_lines`` they are 0 (cheap lookups).
    """
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider) if with_lines else None
    sites: list[FunctionSite] = []

    def walk(body: Sequence[cst.CSTNode], owner: cst.CSTNode, prefix: str, cls: cst.ClassDef | None) -> None:
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                qualname = prefix + stmt.name.value
                sites.append(FunctionSite(qualname, stmt, positions[stmt].start.line if positions else 0, owner, cls))
                if isinstance(stmt.body, cst.IndentedBlock):
                    walk(stmt.body.body, stmt.body, qualname + ".<locals>.", None)
            elif isinstance(stmt, cst.ClassDef):
                if isinstance(stmt.body, cst.IndentedBlock):
                    walk(stmt.body.body, stmt.body, prefix + stmt.name.value + ".", stmt)
            elif isinstance(stmt, cst.BaseCompoundStatement):
                for block in _blocks(stmt):
                    if isinstance(block, cst.IndentedBlock):
                        walk(block.body, block, prefix, cls)

    walk(module.body, module, "", None)
    return sites


def locate(module: cst.Module, qualname: str, line: int | None) -> FunctionSite:
    """The ``def`` a plan names: ``qualname`` as ``FunctionId`` writes it (a redefinition is ``qualname@line``)."""
    qualname, _, suffix = qualname.partition(REDEFINITION_SEP)  # Python's own qualname, and the line of a redefinition
    if line is None and suffix.isdigit():
        line = int(suffix)
    matches = [s for s in find_functions(module, with_lines=False) if s.qualname == qualname]
    if len(matches) > 1:
        matches = [s for s in find_functions(module) if s.qualname == qualname]
    if not matches:
        if "<lambda>" in qualname:
            raise EditError("lambda", f"{qualname} is a lambda: there is no def to decorate")
        raise EditError("function-missing", f"function {qualname} is no longer in the file")
    if len(matches) == 1:
        return matches[0]
    if line is not None:
        # The staleness gate guarantees the file differs from the plan's only by our own edits, which
        # shift lines by a few: the nearest definition is the one the plan meant, unless two tie.
        ranked = sorted(matches, key=lambda s: abs(s.line - line))
        if abs(ranked[0].line - line) < abs(ranked[1].line - line):
            return ranked[0]
    raise EditError(
        "function-ambiguous",
        f"{len(matches)} definitions of {qualname} (lines {', '.join(str(s.line) for s in matches)}) and no line to choose by",
    )


# ---------------------------------------------------------------------------------------------
# The arguments a recommendation asks for


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


def needs_module_alias(settings: Settings) -> bool:
    """Whether the arguments mention ``tf.`` (TensorSpec, dtypes), so a bare ``function`` import is not enough."""
    return settings.input_signature is not None


# ---------------------------------------------------------------------------------------------
# Editing an argument list without disturbing its layout


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


# ---------------------------------------------------------------------------------------------
# The edits


@dataclass
class EditOutcome:
    module: cst.Module
    changed: bool
    note: str  # what was done, for the report ("added decorator", "already applied", ...)
    import_added: bool = False


def _hybrid_decorators(site: FunctionSite, aliases: Aliases) -> list[int]:
    out = []
    for i, dec in enumerate(site.node.decorators):
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if aliases.is_tf_function(expr):
            out.append(i)
    return out


@dataclass
class _CallSite:
    statement: cst.SimpleStatementLine
    owner: cst.CSTNode  # Module or IndentedBlock holding the statement
    assign: cst.Assign
    call: cst.Call


def _call_form_sites(module: cst.Module, site: FunctionSite, aliases: Aliases) -> list[_CallSite]:
    """``f = tf.function(f, ...)`` beside the def, or ``self.g = tf.function(self.f)`` in the class."""
    name = site.node.name.value
    found: list[_CallSite] = []

    def wraps_target(call: cst.Call, attribute: bool) -> bool:
        if not aliases.is_tf_function(call.func):
            return False
        first = next((a for a in call.args if a.keyword is None or a.keyword.value == "func"), None)
        if first is None:
            return False
        value = first.value
        if attribute:
            return isinstance(value, cst.Attribute) and value.attr.value == name and isinstance(value.value, cst.Name) and (
                value.value.value in ("self", "cls") or (site.class_node is not None and value.value.value ==
                                                         site.class_node.name.value))
        return isinstance(value, cst.Name) and value.value == name

    def scan(body: Sequence[cst.CSTNode], owner: cst.CSTNode, attribute: bool, deep: bool) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) and wraps_target(
                            small.value, attribute):
                        found.append(_CallSite(stmt, owner, small, small.value))
            elif deep and isinstance(stmt, cst.FunctionDef) and isinstance(stmt.body, cst.IndentedBlock):
                scan(stmt.body.body, stmt.body, attribute, deep=False)
            elif isinstance(stmt, cst.BaseCompoundStatement) and not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                for block in _blocks(stmt):
                    if isinstance(block, cst.IndentedBlock):
                        scan(block.body, block, attribute, deep)

    owner_body = getattr(site.body_owner, "body", [])
    scan(owner_body, site.body_owner, attribute=False, deep=False)
    if site.class_node is not None:
        scan(owner_body, site.body_owner, attribute=True, deep=True)
    return found


def _alias_for(aliases: Aliases, settings: Settings) -> tuple[str, str, str | None]:
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
    if _hybrid_decorators(site, aliases) or any(_rebinds(module, cs) for cs in _call_form_sites(module, site, aliases)):
        return tune(module, qualname, line, settings)
    alias, fn_text, import_stmt = _alias_for(aliases, settings)
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
    result = _replace(module, node, node_new)
    if import_stmt is not None:
        result = add_import(result, import_stmt)
    return EditOutcome(result, True, "added " + result.code_for_node(new_dec.decorator), import_added=import_stmt is not None)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _node_fields(node: cst.CSTNode) -> tuple[str, ...]:
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_LEAFY: dict[type, bool] = {}


def _holds_no_statements(node: cst.CSTNode) -> bool:
    """Expressions, whitespace and the like never contain a statement: no need to search them."""
    cls = type(node)
    leafy = _LEAFY.get(cls)
    if leafy is None:
        leafy = _LEAFY[cls] = isinstance(node, (
            cst.BaseExpression, cst.BaseSmallStatement, cst.BaseParenthesizableWhitespace, cst.EmptyLine,
            cst.TrailingWhitespace, cst.Comment, cst.Newline, cst.Decorator, cst.Parameters, cst.Param, cst.Arg))
    return leafy


def _path_to(node: cst.CSTNode, target: cst.CSTNode) -> list[tuple[cst.CSTNode, str, int | None]] | None:
    """The (parent, field, index) steps from ``node`` down to the statement-level ``target``, or None."""
    if node is target:
        return []
    if _holds_no_statements(node):
        return None
    for name in _node_fields(node):
        value = getattr(node, name)
        if type(value) is tuple or type(value) is list:
            for i, item in enumerate(value):
                if isinstance(item, cst.CSTNode):
                    sub = _path_to(item, target)
                    if sub is not None:
                        return [(node, name, i), *sub]
        elif isinstance(value, cst.CSTNode):
            sub = _path_to(value, target)
            if sub is not None:
                return [(node, name, None), *sub]
    return None


def _replace(module: cst.Module, old: cst.CSTNode, new: cst.CSTNode) -> cst.Module:
    """Replace the statement-level node ``old`` (by identity) with ``new``, rebuilding only its ancestors.

    ``Module.deep_replace`` visits and rebuilds the whole tree (over a second per edit on a 2,000-line
    file); walking the dataclass fields to the one node and copying its ancestors is linear and cheap.
    """
    path = _path_to(module, old)
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


def _dec_func(dec: cst.Decorator) -> cst.BaseExpression:
    return dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator


def tune(module: cst.Module, qualname: str, line: int | None, settings: Settings, decorator_text: str = ""
         ) -> EditOutcome:
    """Set the wanted arguments on the function's existing tf.function (decorator or call form)."""
    settings = effective_settings(settings, decorator_text)
    aliases = collect_aliases(module)
    site = locate(module, qualname, line)
    decorator_indexes = _hybrid_decorators(site, aliases)
    calls = _call_form_sites(module, site, aliases)
    if not decorator_indexes and not calls:
        raise EditError("not-hybrid", f"{qualname} is not a tf.function: nothing to tune")
    alias = aliases.module_alias()
    import_stmt = None
    if alias is None and needs_module_alias(settings):
        alias, _, import_stmt = _alias_for(aliases, settings)
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
            result = _replace(result, node, new_node)
    else:
        for k in range(len(calls)):  # re-found after each edit: an edit rebuilds the statements around it
            cs = _call_form_sites(result, locate(result, qualname, line), aliases)[k]
            new_call = cs.call.with_changes(args=merge_args(cs.call.args, args, cs.call.whitespace_before_args))
            if not new_call.deep_equals(cs.call):
                result = _replace_call(result, cs, new_call)
    if result is module:
        return EditOutcome(module, False, "already applied")
    if import_stmt is not None:
        result = add_import(result, import_stmt)
    return EditOutcome(result, True, "tuned tf.function arguments", import_added=import_stmt is not None)


def dehybridize(module: cst.Module, qualname: str, line: int | None) -> EditOutcome:
    """Remove the function's tf.function decorator, or unwrap its ``f = tf.function(f)``, and nothing else."""
    aliases = collect_aliases(module)
    site = locate(module, qualname, line)
    decorator_indexes = _hybrid_decorators(site, aliases)
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
        replaced = _replace(result, node, new_node)
        return EditOutcome(replaced, True, "removed tf.function decorator")
    calls = _call_form_sites(module, site, aliases)
    if not calls:
        return EditOutcome(module, False, "already applied (not a tf.function)")
    # One site at a time, re-found after each edit: removing a statement rebuilds its block.
    for _ in range(len(calls)):
        site = locate(result, qualname, line)
        pending = _call_form_sites(result, site, aliases)
        if not pending:
            break
        cs = pending[0]
        if _rebinds(result, cs):
            result = _remove_small_statement(result, cs)
        else:
            result = _replace_call(result, cs, _wrapped_arg(cs.call).value)
    return EditOutcome(result, True, "unwrapped tf.function(...) call")


def _replace_call(module: cst.Module, cs: _CallSite, new: cst.BaseExpression) -> cst.Module:
    """Swap the ``tf.function(...)`` call of a call site for ``new`` inside its (small) statement."""
    statement = cs.statement.deep_replace(cs.call, new)
    assert isinstance(statement, cst.SimpleStatementLine)
    return _replace(module, cs.statement, statement)


def _wrapped_arg(call: cst.Call) -> cst.Arg:
    return next(a for a in call.args if a.keyword is None or a.keyword.value == "func")


def _rebinds(module: cst.Module, cs: _CallSite) -> bool:
    """``f = tf.function(f)`` (or ``self.f = tf.function(self.f)``): the wrapper replaces the name itself."""
    targets = cs.assign.targets
    return len(targets) == 1 and module.code_for_node(targets[0].target) == module.code_for_node(_wrapped_arg(cs.call).value)


def _remove_small_statement(module: cst.Module, cs: _CallSite) -> cst.Module:
    """Drop the assignment; if it was alone on its line drop the line, keeping comments above it."""
    stmt = cs.statement
    if len(stmt.body) > 1:
        rest = [s for s in stmt.body if s is not cs.assign]
        rest[-1] = rest[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        replaced = _replace(module, stmt, stmt.with_changes(body=rest))
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
    replaced = _replace(module, owner, new_owner)
    return replaced
