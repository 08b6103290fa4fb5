"""Function identity shared by every stage: ``module:qualname`` plus file and first line.

The same key names a function in the profile, the static findings, the plan and the rewriter, so
stages can be joined on ``FunctionId.name`` without knowing each other's internals.

Redefinitions: Python gives two ``def``s of one name in one scope (a property setter, a conditional fallback)
the same ``__qualname__``. The first keeps the plain name; each later one is named ``qualname@LINE`` (the line of
its ``def``), built with ``FunctionId.redefinition`` -- the only form of qualname with an ``@``.
"""

from __future__ import annotations

from dataclasses import dataclass

NAME_SEP = ":"  # between module and qualname in ``FunctionId.name``
REDEFINITION_SEP = "@"  # between a redefined qualname and the line of its ``def``
QUALNAME_SEP = "."  # between the scopes of a qualname
LOCALS = "<locals>"  # the scope Python puts between a function and a function defined in its body


@dataclass(frozen=True, order=True)
class FunctionId:
    """Stable identity of a project function across runs and processes."""

    module: str
    qualname: str
    file: str  # relative to the project root, POSIX separators
    line: int  # first line of the ``def`` (decorators excluded)

    @property
    def name(self) -> str:
        return self.format_name(self.module, self.qualname)

    @staticmethod
    def format_name(module: str, qualname: str) -> str:
        """``"pkg.mod:Class.method"``: the one place the joined form is written."""
        return f"{module}{NAME_SEP}{qualname}"

    @classmethod
    def redefinition(cls, module: str, qualname: str, file: str, line: int) -> FunctionId:
        """A later ``def`` of a ``qualname`` already taken in ``module``: named ``qualname@line``."""
        return cls(module, f"{qualname}{REDEFINITION_SEP}{line}", file, line)

    @property
    def is_redefinition(self) -> bool:
        return REDEFINITION_SEP in self.qualname

    @property
    def base_qualname(self) -> str:
        """The qualname Python gives the function (``__qualname__``): without the ``@line`` of a redefinition."""
        return self.qualname.partition(REDEFINITION_SEP)[0]

    @property
    def parts(self) -> list[str]:
        return self.qualname_parts(self.qualname)

    @property
    def is_nested(self) -> bool:
        """Defined inside another function's body: not reachable as an attribute of its module."""
        return self.is_nested_qualname(self.qualname)

    @staticmethod
    def qualname_parts(qualname: str) -> list[str]:
        """``"A.f.<locals>.g"`` -> ``["A", "f", "<locals>", "g"]``: the attribute path, scope by scope."""
        return qualname.split(QUALNAME_SEP)

    @staticmethod
    def short_name(qualname: str) -> str:
        """The ``def``'s own name (``co_name``): the last scope of ``qualname``."""
        return qualname.rpartition(QUALNAME_SEP)[2]

    @staticmethod
    def is_nested_qualname(qualname: str) -> bool:
        """The ``qualname`` of a function defined in another function's body."""
        return LOCALS in FunctionId.qualname_parts(qualname)

    @staticmethod
    def join_qualname(*parts: str) -> str:
        """The qualname of ``parts`` (``LOCALS`` between a function and what is defined in its body): the one
        place a qualname is written from its scopes."""
        return QUALNAME_SEP.join(parts)

    @staticmethod
    def local_prefix(qualname: str) -> str:
        """What Python puts before the name of a function defined in ``qualname``'s body."""
        return f"{qualname}{QUALNAME_SEP}{LOCALS}{QUALNAME_SEP}"

    @staticmethod
    def qualname_of(name: str) -> str:
        """The qualname of a ``module:qualname`` name (``split_name``'s second half)."""
        return FunctionId.split_name(name)[1]

    @staticmethod
    def module_of(name: str) -> str:
        """The module of a ``module:qualname`` name (``split_name``'s first half)."""
        return FunctionId.split_name(name)[0]

    @staticmethod
    def split_name(name: str) -> tuple[str, str]:
        """``parse_name`` for names this process made itself: never raises (the module is empty for a project-root
        ``__init__.py``; without a colon the whole name is the module)."""
        module, _, qualname = name.partition(NAME_SEP)
        return module, qualname

    @classmethod
    def parse_name(cls, name: str) -> tuple[str, str]:
        """Split ``"pkg.mod:Class.method"`` into ``("pkg.mod", "Class.method")``."""
        module, sep, qualname = name.partition(NAME_SEP)
        if not sep or not module or not qualname:
            raise ValueError(f"not a function name of the form module:qualname: {name!r}")
        return module, qualname


def module_name_for(relpath: str) -> str:
    """The import name of a project file given relative to the project root.

    ``src/`` layouts are common, so a leading ``src/`` is dropped; ``__init__.py`` names its package.
    Stages that know better (the tracer sees ``__name__``) use the real name instead. A notebook is named by
    its path (``nb/train.ipynb``): it is not importable, and the path is what its user knows it by.
    """
    if relpath.endswith(".ipynb"):
        return relpath.replace("\\", "/")
    parts = relpath.replace("\\", "/").split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    last = parts[-1]
    if last.endswith(".py"):
        last = last[:-3]
    parts[-1] = last
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p)
