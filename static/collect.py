"""Building the project index: each file parsed once, its imports, classes and functions (each with its
``FunctionId``) collected into an ``Index`` (``index.py``)."""

from __future__ import annotations

import ast
import time
from pathlib import Path

from hybridize.identity import FunctionId, module_name_for
from hybridize.project import relpath
from hybridize.static.index import ClassInfo, FuncInfo, FuncNode, Index, ModuleInfo, dotted_name
from hybridize.static.model import ParseError
from hybridize.static.notebooks import virtual_source


def build_index(root: Path, files: list[Path]) -> Index:
    index = Index(root=root.resolve())
    for path in files:
        t0 = time.perf_counter()
        rel = relpath(path, index.root)
        try:
            source = virtual_source(path, rel, index.notebooks, index.errors)
        except OSError as exc:
            index.errors.append(ParseError(rel, 0, f"cannot read: {exc.strerror}"))
            continue
        if source is None:
            continue
        try:
            tree = ast.parse(source, filename=rel)
        except SyntaxError as exc:
            index.errors.append(ParseError(rel, exc.lineno or 0, exc.msg or "syntax error"))
            continue
        except (ValueError, RecursionError) as exc:  # null bytes, absurd nesting
            index.errors.append(ParseError(rel, 0, str(exc) or type(exc).__name__))
            continue
        name = module_name_for(rel) if not rel.startswith("..") else path.stem
        mod = ModuleInfo(name=name, file=rel, tree=tree, is_package=path.name == "__init__.py",
                         lines=source.count(b"\n") + 1)
        index.lines += mod.lines
        _collect_module(index, mod)
        index.modules[name] = mod
        index.file_times[rel] = time.perf_counter() - t0
    return index


def _resolve_relative(mod: ModuleInfo, level: int, module: str | None) -> str:
    parts = mod.name.split(".")
    if not mod.is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    base = ".".join(parts)
    if module:
        return f"{base}.{module}" if base else module
    return base


def _collect_imports(mod: ModuleInfo, body: list[ast.stmt], into: dict[str, str]) -> None:
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    into[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    into[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(mod, node.level, node.module) if node.level else (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    continue
                into[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, (ast.If, ast.Try)):  # `try: import x except ImportError: ...`, TYPE_CHECKING
            _collect_imports(mod, node.body, into)
            for handler in getattr(node, "handlers", []):
                _collect_imports(mod, handler.body, into)
            _collect_imports(mod, node.orelse, into)


def _collect_module(index: Index, mod: ModuleInfo) -> None:
    _collect_imports(mod, mod.tree.body, mod.imports)
    for node in mod.tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            mod.global_values[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            mod.global_values[node.target.id] = node.value
    _collect_body(index, mod, mod.tree.body, prefix="", cls=None, parent=None)
    # Module-level `f = tf.function(f)` / `fast = tf.function(slow)` and decorator factories.
    for name, value in list(mod.global_values.items()):
        if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Name):
            target = mod.functions.get(value.args[0].id)
            if target is not None:
                target.wrapped_by.append((value.lineno, value))
        if isinstance(value, ast.Call) and not value.args:
            mod.tf_factories[name] = value


def _collect_body(index: Index, mod: ModuleInfo, body: list[ast.stmt], prefix: str, cls: ClassInfo | None,
                  parent: FuncInfo | None) -> None:
    """Record every def / class / named lambda in ``body`` (recursing into nested scopes)."""
    for node in _flatten(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _add_function(index, mod, node, node.name, prefix, cls, parent)
        elif isinstance(node, ast.ClassDef):
            qual = f"{prefix}{node.name}"
            info = ClassInfo(module=mod, qualname=qual, node=node)
            for base in node.bases:
                text = dotted_name(base)
                if text:
                    info.bases.append(mod.resolve_dotted(text))
            if parent is None and not prefix:
                mod.classes[node.name] = info
            index.classes[info.fqname] = info
            _collect_body(index, mod, node.body, prefix=f"{qual}.", cls=info, parent=parent)
            # Class-body `call = tf.function(call)`.
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and stmt.value.args
                        and isinstance(stmt.value.args[0], ast.Name) and stmt.value.args[0].id in info.methods):
                    info.methods[stmt.value.args[0].id].wrapped_by.append((stmt.lineno, stmt.value))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(value, ast.Lambda) and len(targets) == 1 and isinstance(targets[0], ast.Name):
                _add_function(index, mod, value, targets[0].id, prefix, cls, parent)


_TRY_TYPES: tuple[type[ast.Try], ...] = (ast.Try, *((getattr(ast, "TryStar"),) if hasattr(ast, "TryStar") else ()))  # noqa: B009


def _flatten(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements of ``body`` including those nested in if/try/with/for (same scope)."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
            out.extend(_flatten(node.body))
            out.extend(_flatten(getattr(node, "orelse", [])))
        elif isinstance(node, _TRY_TYPES):
            out.extend(_flatten(node.body))
            for h in node.handlers:
                out.extend(_flatten(h.body))
            out.extend(_flatten(node.orelse))
            out.extend(_flatten(node.finalbody))
    return out


def _add_function(index: Index, mod: ModuleInfo, node: FuncNode, name: str, prefix: str, cls: ClassInfo | None,
                  parent: FuncInfo | None) -> None:
    qual = f"{prefix}{name}"
    ident = FunctionId(mod.name, qual, mod.file, node.lineno)
    if ident.name in index.functions:  # redefinition (e.g. property setter): keep the first, name the rest by line
        ident = FunctionId.redefinition(mod.name, qual, mod.file, node.lineno)
    info = FuncInfo(module=mod, ident=ident, node=node, name=name, cls=cls, parent=parent)
    index.functions[ident.name] = info
    if cls is not None:
        cls.methods.setdefault(name, info)
    elif parent is not None:
        parent.local_defs.setdefault(name, info)
    elif cls is None and parent is None and name not in mod.functions:
        mod.functions[name] = info
    if isinstance(node, ast.Lambda):
        return
    _collect_body(index, mod, node.body, prefix=FunctionId.local_prefix(info.qualname), cls=None, parent=info)
