"""Function identity shared by every stage: ``module:qualname`` plus file and first line.

The same key names a function in the profile, the static findings, the plan and the rewriter, so
stages can be joined on ``FunctionId.name`` without knowing each other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FunctionId:
    """Stable identity of a project function across runs and processes."""

    module: str
    qualname: str
    file: str  # relative to the project root, POSIX separators
    line: int  # first line of the ``def`` (decorators excluded)

    @property
    def name(self) -> str:
        return f"{self.module}:{self.qualname}"

    @classmethod
    def parse_name(cls, name: str) -> tuple[str, str]:
        """Split ``"pkg.mod:Class.method"`` into ``("pkg.mod", "Class.method")``."""
        module, sep, qualname = name.partition(":")
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
