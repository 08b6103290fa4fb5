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
"""

from __future__ import annotations

import atexit
import json
import linecache
import os
import sys
from typing import Any

STEP_ENV = "HYBRIDIZE_EXTRACT_STEP"
TRACES_ENV = "HYBRIDIZE_EXTRACT_TRACES"


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
