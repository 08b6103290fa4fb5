"""The import hook: a meta-path finder that hands each target module's real loader to a loader that places the
wrappers while the module compiles (``placement``) or patches the module right after it executed."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

from hybridize.planner.hook_patch import patch_module
from hybridize.planner.hook_state import HookState


class Loader(importlib.abc.Loader):
    """Delegates to the real loader, then patches the freshly executed module."""

    def __init__(self, state: HookState, inner: Any) -> None:
        self._state = state
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: types.ModuleType) -> None:
        from hybridize.planner import placement

        if not placement.exec_module(self._state, self._inner, module):
            self._inner.exec_module(module)
        patch_module(self._state, module)

    def __getattr__(self, item: str) -> Any:  # get_source, get_code, is_package, ... for tools that ask
        return getattr(self._inner, item)


class Finder(importlib.abc.MetaPathFinder):
    def __init__(self, state: HookState) -> None:
        self._state = state

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None) -> Any:
        if fullname not in self._state.targets:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = Loader(self._state, spec.loader)
                return spec
        return None
