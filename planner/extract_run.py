"""``python -m hybridize.planner.extract_run SOURCE MAIN -- ARGV...``: run a program with its main file's code
compiled from ``SOURCE`` (a loop extraction, made in memory by the planner) under ``MAIN``'s name.

The trial of an extraction must run the program as ``python`` would, except for the edited file: the runner of
:mod:`hybridize.tracer.runmain` does that, and its code hook hands it the extracted source compiled with the
original file name, and linecache holds the extracted text under that name (tracebacks, and AutoGraph, which
converts the step from its source, read the code that runs). ``SOURCE`` of ``-`` runs the
program unchanged through the same runner, so the eager baseline pays the same start-up.
"""

from __future__ import annotations

import linecache
import os
import sys
from typing import Any


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
    runmain.run_as_main(argv)


if __name__ == "__main__":
    main()
