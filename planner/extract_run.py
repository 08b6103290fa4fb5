"""``python -m hybridize.planner.extract_run SOURCE MAIN -- ARGV...``: run a program with its main file's code
compiled from ``SOURCE`` (a loop extraction, made in memory by the planner) under ``MAIN``'s name.

The trial of an extraction must run the program as ``python`` would, except for the edited file: the runner of
:mod:`hybridize.tracer.runmain` does that, and its code hook hands it the extracted source compiled with the
original file name, and linecache holds the extracted text under that name (tracebacks, and AutoGraph, which
converts the step from its source, read the code that runs). ``SOURCE`` of ``-`` runs the
program unchanged through the same runner, so the eager baseline pays the same start-up.

With ``HYBRIDIZE_EXTRACT_STEP`` (the step's name) and ``HYBRIDIZE_EXTRACT_TRACES`` (a file) set, the step's traces are
written at exit, one list per trace with one entry per positional parameter (``{"shape", "dtype"}`` for a tensor,
``null`` for anything else): how the planner sees that the step was called with more than one batch size.

With ``HYBRIDIZE_EXTRACT_SEED`` set (the planner sets it for both sides of a trial), Python's ``random`` is seeded at
start and NumPy's and TensorFlow's global seeds right after the program imports them, so that the final numbers of
an eager and an extracted run can be compared. Not before: importing TensorFlow here would run ahead of the program's
own settings (``TF_USE_LEGACY_KERAS``, log levels); a program that seeds itself overrides these seeds as it would.
"""

from __future__ import annotations

import atexit
import json
import linecache
import os
import random
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

STEP_ENV = "HYBRIDIZE_EXTRACT_STEP"
TRACES_ENV = "HYBRIDIZE_EXTRACT_TRACES"
SEED_ENV = "HYBRIDIZE_EXTRACT_SEED"


class AfterImport:
    """A ``sys.meta_path`` finder that runs a callback once a module's own code has run (a post-import hook); it
    finds nothing itself, it only wraps the loader the other finders return."""

    def __init__(self) -> None:
        self.pending: dict[str, Callable[[ModuleType], None]] = {}

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        then = self.pending.pop(fullname, None)
        if then is None:
            return None
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is not self and find is not None:
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        loader = getattr(spec, "loader", None)
        run_module = getattr(loader, "exec_module", None)
        if run_module is None:
            return spec

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            try:
                then(module)
            except Exception:  # pragma: no cover - a library refusing a seed never breaks the program
                pass

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


def seed(value: int, hooks: AfterImport | None = None) -> AfterImport:
    """Seed Python now, NumPy and TensorFlow when they are imported (or now, when they already are)."""
    random.seed(value)
    hooks = hooks or AfterImport()
    seeders: dict[str, Callable[[ModuleType], None]] = {
        "numpy": lambda np: np.random.seed(value),
        "tensorflow": lambda tf: tf.random.set_seed(value),
    }
    for name, seeder in seeders.items():
        if name in sys.modules:
            seeder(sys.modules[name])
        else:
            hooks.pending[name] = seeder
    if hooks.pending and hooks not in sys.meta_path:
        sys.meta_path.insert(0, hooks)
    return hooks


def step_traces(fn: Any) -> list[list[dict[str, Any] | None]]:
    """The positional inputs of each concrete function ``fn`` (a ``tf.function``) traced, as JSON-ready entries."""
    listing = getattr(fn, "_list_all_concrete_functions", None)  # private, present in TF 2.x: read defensively
    if listing is None:
        return []
    out: list[list[dict[str, Any] | None]] = []
    for concrete in listing():
        args = (getattr(concrete, "structured_input_signature", None) or ((), {}))[0]
        row: list[dict[str, Any] | None] = []
        for arg in args:
            shape, dtype = getattr(arg, "shape", None), getattr(arg, "dtype", None)
            if shape is None or dtype is None or not hasattr(dtype, "name"):
                row.append(None)
                continue
            dims = None if shape.rank is None else [d if d is None else int(d) for d in shape.as_list()]
            row.append({"shape": dims, "dtype": dtype.name})
        if row not in out:
            out.append(row)
    return out


def _dump_traces(step: str, target: str) -> None:
    """At exit: the traces of ``step`` in ``__main__`` into ``target`` (nothing when the step never ran)."""
    fn = getattr(sys.modules.get("__main__"), step, None)
    if fn is None:
        return
    try:
        traces = step_traces(fn)
    except Exception:  # pragma: no cover - TensorFlow internals moved: the setting is then not proposed
        return
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(traces, fh)


def _hook(source: bytes, main: str) -> Any:
    real = os.path.realpath(main)

    def hook(path: str, name: str) -> Any:
        if os.path.realpath(path) != real:
            return None
        # inspect.getsource (AutoGraph converts the step from its source) reads the file through linecache: it must
        # see the extracted text, not the file on disk. An entry without mtime is never invalidated by checkcache.
        # AutoGraph also calls linecache.updatecache (re-reading the disk) before each lookup: that is answered too.
        text = source.decode("utf-8", "surrogateescape")
        entry = (len(text), None, text.splitlines(keepends=True), path)
        linecache.cache[path] = entry
        disk_update = linecache.updatecache

        def updatecache(filename: str, module_globals: Any = None) -> list[str]:
            if filename == path:
                linecache.cache[path] = entry
                return list(entry[2])
            return disk_update(filename, module_globals)

        linecache.updatecache = updatecache
        return compile(source, path, "exec", dont_inherit=True)

    return hook


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 4 or args[2] != "--":
        print("usage: python -m hybridize.planner.extract_run (SOURCE | -) MAIN -- ARGV...", file=sys.stderr)
        raise SystemExit(2)
    from hybridize.tracer import runmain

    source_file, main_path, argv = args[0], args[1], args[3:]
    if os.environ.get(SEED_ENV, "").lstrip("-").isdigit():
        seed(int(os.environ[SEED_ENV]))
    if source_file != "-":
        with open(source_file, "rb") as fh:
            source = fh.read()
        runmain.add_code_hook(_hook(source, main_path))
        step, target = os.environ.get(STEP_ENV), os.environ.get(TRACES_ENV)
        if step and target:
            atexit.register(_dump_traces, step, target)
    runmain.run_as_main(argv)


if __name__ == "__main__":
    main()
