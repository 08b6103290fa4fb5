"""The project index: which files, modules, classes and functions exist, and what names resolve to.

Built once with the standard ``ast`` module (fast: the analysis must handle 100+ KLOC in seconds).
Names resolve to dotted paths ("tensorflow.function", "pkg.mod.Class"); project names are then
looked up here, following ``__init__`` re-exports.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from hybridize.identity import FunctionId, module_name_for
from hybridize.notebook import NotebookSource
from hybridize.project import relpath
from hybridize.static.model import ParseError
from hybridize.static.notebooks import is_source_file, virtual_source

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda

SKIP_DIRS = {".git", ".hg", ".svn", ".hybridize", "__pycache__", "node_modules", "site-packages", ".tox", ".nox",
             "build", "dist", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".eggs"}


@dataclass(eq=False)
class ClassInfo:
    module: ModuleInfo
    qualname: str
    node: ast.ClassDef
    bases: list[str] = field(default_factory=list)  # resolved dotted names
    methods: dict[str, FuncInfo] = field(default_factory=dict)
    attr_types: dict[str, str] = field(default_factory=dict)  # self.X = Ctor(...) -> dotted name of Ctor
    attrs: set[str] = field(default_factory=set)  # every self.X assigned in the class's methods
    container_attrs: set[str] = field(default_factory=set)  # self.X = [] / {} / dict() ...

    @property
    def fqname(self) -> str:
        return f"{self.module.name}.{self.qualname}"


@dataclass(eq=False)
class FuncInfo:
    module: ModuleInfo
    ident: FunctionId  # the qualname carries ``@line`` for a redefinition (``FunctionId.redefinition``)
    node: FuncNode
    name: str
    cls: ClassInfo | None = None  # set for methods (defined directly in a class body)
    parent: FuncInfo | None = None  # enclosing function of a nested one
    local_defs: dict[str, FuncInfo] = field(default_factory=dict)
    wrapped_by: list[tuple[int, ast.Call]] = field(default_factory=list)  # `f = tf.function(f)` elsewhere

    @property
    def id(self) -> str:
        """``module:qualname``, the key of ``Index.functions`` and of every stage's JSON."""
        return self.ident.name

    @property
    def qualname(self) -> str:
        return self.ident.qualname

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def end_line(self) -> int:
        return self.node.end_lineno or self.node.lineno


@dataclass(eq=False)
class ModuleInfo:
    name: str
    file: str  # relative to the root
    tree: ast.Module
    is_package: bool
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted name
    functions: dict[str, FuncInfo] = field(default_factory=dict)  # top-level
    classes: dict[str, ClassInfo] = field(default_factory=dict)  # top-level
    global_values: dict[str, ast.expr] = field(default_factory=dict)  # top-level `NAME = expr`
    tf_factories: dict[str, ast.Call] = field(default_factory=dict)  # `jit = tf.function(jit_compile=True)`
    lines: int = 0

    def resolve_dotted(self, dotted: str) -> str:
        """Map the first component through this module's imports and top-level definitions."""
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            base = self.imports[head]
        elif head in self.functions or head in self.classes:
            base = f"{self.name}.{head}"
        elif head in self.global_values:
            value = self.global_values[head]
            text = dotted_name(value)
            base = self.resolve_dotted(text) if text and text.partition(".")[0] != head else f"{self.name}.{head}"
        elif head == "tf":  # star imports / notebooks: `tf` means TensorFlow everywhere
            base = "tensorflow"
        elif head == "np":
            base = "numpy"
        else:
            return dotted
        return f"{base}.{rest}" if rest else base


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@dataclass
class Index:
    root: Path
    modules: dict[str, ModuleInfo] = field(default_factory=dict)
    functions: dict[str, FuncInfo] = field(default_factory=dict)  # by id "mod:qual"
    classes: dict[str, ClassInfo] = field(default_factory=dict)  # by "mod.Qual"
    errors: list[ParseError] = field(default_factory=list)
    file_times: dict[str, float] = field(default_factory=dict)
    lines: int = 0
    var_makers: dict[str, bool] = field(default_factory=dict)  # memo of variables.creates_variables
    notebooks: dict[str, NotebookSource] = field(default_factory=dict)  # relpath -> virtual module of a .ipynb

    def lookup(self, dotted: str, depth: int = 0) -> FuncInfo | ClassInfo | ModuleInfo | None:
        """A project object by dotted name, following re-exports (``pkg/__init__.py`` imports)."""
        if depth > 8 or not dotted:
            return None
        if dotted in self.modules:
            return self.modules[dotted]
        if dotted in self.classes:
            return self.classes[dotted]
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            mod = self.modules.get(".".join(parts[:i]))
            if mod is None:
                continue
            rest = parts[i:]
            head = rest[0]
            if head in mod.functions and len(rest) == 1:
                return mod.functions[head]
            if head in mod.classes:
                cls: ClassInfo | None = mod.classes[head]
                for name in rest[1:-1]:
                    inner = self.classes.get(f"{cls.fqname}.{name}") if cls else None
                    cls = inner
                if cls is None:
                    return None
                if len(rest) == 1:
                    return cls
                inner_cls = self.classes.get(f"{cls.fqname}.{rest[-1]}")
                if inner_cls is not None:
                    return inner_cls
                return self.find_method(cls, rest[-1]) if len(rest) == 2 else None
            if head in mod.imports:
                target = mod.imports[head]
                if target != dotted and target.split(".")[0] != "":
                    return self.lookup(".".join([target, *rest[1:]]), depth + 1)
            return None
        return None

    def canonical(self, dotted: str) -> str:
        """Follow re-exports of project modules: ``pkg.keras.layers.Dense`` -> ``keras.layers.Dense`` when
        ``pkg/__init__.py`` does ``import keras``; project objects keep their project path."""
        for _ in range(6):
            parts = dotted.split(".")
            for i in range(len(parts) - 1, 0, -1):
                mod = self.modules.get(".".join(parts[:i]))
                if mod is None:
                    continue
                head = parts[i]
                if head in mod.imports and head not in mod.functions and head not in mod.classes:
                    target = mod.imports[head]
                    new = ".".join([target, *parts[i + 1:]])
                    if new != dotted:
                        dotted = new
                        break
                return dotted
            else:
                return dotted
        return dotted

    def find_method(self, cls: ClassInfo, name: str, _seen: set[str] | None = None) -> FuncInfo | None:
        """``name`` on ``cls`` or its project bases (depth-first, like a simple MRO)."""
        seen = _seen if _seen is not None else set()
        if cls.fqname in seen:
            return None
        seen.add(cls.fqname)
        if name in cls.methods:
            return cls.methods[name]
        for base in cls.bases:
            target = self.lookup(base)
            if isinstance(target, ClassInfo):
                found = self.find_method(target, name, seen)
                if found is not None:
                    return found
        return None

    def has_attr(self, cls: ClassInfo, name: str) -> bool:
        """Is ``self.<name>`` assigned in ``cls`` or a project base (an attribute, not a method)?"""
        if name in cls.attrs:
            return True
        return any(isinstance(t, ClassInfo) and name in t.attrs for t in (self.lookup(b) for b in self.all_bases(cls)))

    def all_bases(self, cls: ClassInfo, _seen: set[str] | None = None) -> list[str]:
        """Every base-class dotted name, project ones expanded (to see a keras Layer three levels up)."""
        seen = _seen if _seen is not None else set()
        out: list[str] = []
        for base in cls.bases:
            if base in seen:
                continue
            seen.add(base)
            out.append(base)
            target = self.lookup(base)
            if isinstance(target, ClassInfo):
                out.extend(self.all_bases(target, seen))
        return out


def discover(root: Path, paths: list[Path] | None, exclude: list[str] | tuple[str, ...]) -> list[Path]:
    """The .py files and notebooks to analyse: ``paths`` (files or folders) or the whole root, minus excludes."""
    root = root.resolve()
    starts = [p if p.is_absolute() else (root / p) for p in (paths or [root])]
    files: list[Path] = []
    seen: set[Path] = set()
    patterns = list(exclude)

    def excluded(path: Path) -> bool:
        rel = relpath(path, root)
        return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*") for pat in patterns)

    for start in starts:
        start = start.resolve()
        if start.is_file():
            if start not in seen and not excluded(start):
                seen.add(start)
                files.append(start)
            continue
        if not start.is_dir():
            from hybridize.errors import HybridizeError

            raise HybridizeError(f"no such file or folder: {start}")
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                                 and not d.startswith("venv") and not excluded(Path(dirpath) / d))
            for fn in sorted(filenames):
                if is_source_file(fn):
                    p = Path(dirpath) / fn
                    if p not in seen and not excluded(p):
                        seen.add(p)
                        files.append(p)
    return files


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
