"""The project index: which modules, classes and functions exist, and what names resolve to.

Built once with the standard ``ast`` module (fast: the analysis must handle 100+ KLOC in seconds) by
``collect.build_index`` from the files ``discover.discover`` found. Names resolve to dotted paths
("tensorflow.function", "pkg.mod.Class"); project names are then looked up here, following ``__init__`` re-exports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from hybridize.identity import FunctionId
from hybridize.notebook import NotebookSource
from hybridize.static.model import ParseError

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


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
