"""Finding what an edit changes: the module's TensorFlow import aliases, its ``def``s by qualname, and a function's
existing ``tf.function`` (its decorators, or ``f = tf.function(f)`` call forms beside it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from hybridize.identity import REDEFINITION_SEP, FunctionId
from hybridize.rewriter.surgery import EditError, replace_node

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


@dataclass
class EditOutcome:
    module: cst.Module
    changed: bool
    note: str  # what was done, for the report ("added decorator", "already applied", ...)
    import_added: bool = False


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
                for block in blocks(stmt):
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


def blocks(stmt: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
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
                    walk(stmt.body.body, stmt.body, FunctionId.local_prefix(qualname), None)
            elif isinstance(stmt, cst.ClassDef):
                if isinstance(stmt.body, cst.IndentedBlock):
                    walk(stmt.body.body, stmt.body, prefix + stmt.name.value + ".", stmt)
            elif isinstance(stmt, cst.BaseCompoundStatement):
                for block in blocks(stmt):
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


def hybrid_decorators(site: FunctionSite, aliases: Aliases) -> list[int]:
    out = []
    for i, dec in enumerate(site.node.decorators):
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if aliases.is_tf_function(expr):
            out.append(i)
    return out


@dataclass
class CallSite:
    statement: cst.SimpleStatementLine
    owner: cst.CSTNode  # Module or IndentedBlock holding the statement
    assign: cst.Assign
    call: cst.Call


def call_form_sites(module: cst.Module, site: FunctionSite, aliases: Aliases) -> list[CallSite]:
    """``f = tf.function(f, ...)`` beside the def, or ``self.g = tf.function(self.f)`` in the class."""
    name = site.node.name.value
    found: list[CallSite] = []

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
                        found.append(CallSite(stmt, owner, small, small.value))
            elif deep and isinstance(stmt, cst.FunctionDef) and isinstance(stmt.body, cst.IndentedBlock):
                scan(stmt.body.body, stmt.body, attribute, deep=False)
            elif isinstance(stmt, cst.BaseCompoundStatement) and not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                for block in blocks(stmt):
                    if isinstance(block, cst.IndentedBlock):
                        scan(block.body, block, attribute, deep)

    owner_body = getattr(site.body_owner, "body", [])
    scan(owner_body, site.body_owner, attribute=False, deep=False)
    if site.class_node is not None:
        scan(owner_body, site.body_owner, attribute=True, deep=True)
    return found


def wrapped_arg(call: cst.Call) -> cst.Arg:
    return next(a for a in call.args if a.keyword is None or a.keyword.value == "func")


def rebinds(module: cst.Module, cs: CallSite) -> bool:
    """``f = tf.function(f)`` (or ``self.f = tf.function(self.f)``): the wrapper replaces the name itself."""
    targets = cs.assign.targets
    return len(targets) == 1 and module.code_for_node(targets[0].target) == module.code_for_node(wrapped_arg(cs.call).value)


def replace_call(module: cst.Module, cs: CallSite, new: cst.BaseExpression) -> cst.Module:
    """Swap the ``tf.function(...)`` call of a call site for ``new`` inside its (small) statement."""
    statement = cs.statement.deep_replace(cs.call, new)
    assert isinstance(statement, cst.SimpleStatementLine)
    return replace_node(module, cs.statement, statement)
