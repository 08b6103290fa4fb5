"""A process's shard (the JSON file each traced process writes at exit) and the def lines the store maps it with."""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridize.tracer.cells import module_text

if TYPE_CHECKING:
    from hybridize.tracer.state import Recorder

SHARD_FORMAT = 1


def shard_data(recorder: Recorder) -> dict[str, Any]:
    """This process's shard: its records, tests, internal errors, executed lines and samples."""
    cov: dict[str, list[int]] = {}
    if recorder.lines_provider is not None:
        try:
            cov = recorder.lines_provider()
        except Exception as exc:
            recorder.internal_error(exc)
    elif recorder.coverage is not None:
        try:
            recorder.coverage.stop()
            data = recorder.coverage.get_data()
            for path in data.measured_files():
                rel = recorder.project_relpath(path)
                if rel is not None:
                    cov[rel] = sorted(data.lines(path) or [])
        except Exception as exc:
            recorder.internal_error(exc)
    return {
        "format": SHARD_FORMAT, "pid": os.getpid(), "python": sys.version.split()[0], "argv": list(sys.argv),
        "root": recorder.root, "started": recorder.started, "ended": time.time(), "errors": recorder.errors,
        "error_samples": recorder.error_samples, "unmapped_autograph": recorder.unmapped_autograph,
        "tests": dict(recorder.test_outcomes), "coverage": cov,
        "coverage_enabled": recorder.coverage is not None or recorder.lines_provider is not None,
        "functions": [r.to_json() for r in list(recorder.records.values()) if r.calls or r.hybrid or r.graph_calls],
        "samples": recorder.sampler.to_json() if recorder.sampler is not None else None,
    }


def write_shard(recorder: Recorder, shard_dir: Path) -> None:
    """Write the shard into ``shard_dir`` (atomic rename, so a reader never sees half a file)."""
    data = shard_data(recorder)
    name = f"shard-{os.uname().nodename}-{os.getpid()}-{int(recorder.started * 1000) % 10**9}.json"
    path = shard_dir / name
    tmp = shard_dir / f".{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, default=repr)
    os.replace(tmp, path)


def def_lines(path: Path) -> dict[tuple[str, int], tuple[int, int, list[int]]]:
    """(name, co_firstlineno) -> (def line, end line, statement lines) for every function in a file."""
    try:
        tree = ast.parse(module_text(path))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return {}
    out: dict[tuple[str, int], tuple[int, int, list[int]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            stmts = sorted({n.lineno for b in node.body for n in ast.walk(b) if isinstance(n, ast.stmt)})
            # a docstring is not an executable line
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str) and body[0].lineno in stmts:
                stmts.remove(body[0].lineno)
            out[(node.name, first)] = (node.lineno, node.end_lineno or node.lineno, stmts)
    return out
